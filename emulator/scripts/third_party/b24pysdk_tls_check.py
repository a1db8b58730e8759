"""b24pysdk against the emulator over HTTPS, unmodified: the SDK is pointed at the emulator only
through its documented inputs (domain, webhook token, OAuth tokens) and REQUESTS_CA_BUNDLE.

  python b24pysdk_tls_check.py WEBHOOK_URL [OAUTH_JSON]

OAUTH_JSON (the emulator's --print-oauth line) runs the OAuth part too; b24pysdk refreshes at
its hard-coded https://oauth.bitrix24.tech, so that part needs the emulator on port 443 with
--host oauth.bitrix24.tech and `127.0.0.1 oauth.bitrix24.tech` in /etc/hosts.
"""
import json
import sys
import time
from urllib.parse import urlparse

from b24pysdk import BitrixApp, BitrixToken, BitrixWebhook, Client

url = urlparse(sys.argv[1])
webhook = BitrixWebhook(domain=url.netloc, webhook_token=url.path.removeprefix("/rest/").strip("/"))
passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        detail = fn()
        passed += 1
        print(f"ok   {name}: {detail}")
    except Exception as e:  # a failed check is reported, the others still run
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def fast_export():
    fast = webhook.call_list_fast("crm.deal.list", {"select": ["ID", "TITLE"]})
    ids = [int(r["ID"]) for r in (fast["result"] if isinstance(fast, dict) else fast.result)]
    assert len(ids) == len(set(ids)) and ids == sorted(ids), "ids repeated or out of order"
    return f"{len(ids)} deals, each once"


def crud():
    new_id = webhook.call_method("crm.deal.add", {"fields": {"TITLE": "b24pysdk over TLS"}})["result"]
    webhook.call_method("crm.deal.update", {"id": new_id, "fields": {"TITLE": "renamed"}})
    got = webhook.call_method("crm.deal.get", {"id": new_id})["result"]
    assert got["TITLE"] == "renamed", got
    assert webhook.call_method("crm.deal.delete", {"id": new_id})["result"] is True
    return f"add/update/get/delete of deal {new_id}"


def client_scopes():
    client = Client(webhook)
    deal = client.crm.deal.get(bitrix_id=1).response.result
    fields = client.crm.deal.fields().response.result
    return f"client.crm.deal.get -> ID {deal['ID']}, {len(fields)} fields"


def batch():
    r = webhook.call_batch({
        "a": ("crm.deal.add", {"fields": {"TITLE": "batch add"}}),
        "g": ("crm.deal.get", {"id": "$result[a]"}),
    }, halt=True)["result"]["result"]
    assert r["g"]["TITLE"] == "batch add", r
    return "add + get through $result[a]"


check("call_list_fast (webhook)", fast_export)
check("call_method CRUD (webhook)", crud)
check("Client scopes (webhook)", client_scopes)
check("call_batch (webhook)", batch)

if len(sys.argv) > 2:
    app_data = json.loads(sys.argv[2])
    app = BitrixApp(client_id=app_data["client_id"], client_secret=app_data["client_secret"])
    token = BitrixToken(
        domain=app_data["domain"],
        auth_token=app_data["access_token"],
        refresh_token=app_data["refresh_token"],
        bitrix_app=app,
    )

    def oauth_refresh():
        first = token.call_method("crm.deal.get", {"id": 1})["result"]["ID"]
        old = token.auth_token
        time.sleep(float(app_data.get("ttl", 2)) + 1)  # the access token expires
        second = token.call_method("crm.deal.get", {"id": 1})["result"]["ID"]
        assert token.auth_token != old, "the token was not refreshed"
        return f"deal {first}, then expired_token -> refresh -> deal {second}"

    check("OAuth call, expiry and refresh", oauth_refresh)

print(f"b24pysdk: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
