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


def entities():
    seen = []
    for entity, fields, code in [
        ("lead", {"TITLE": "b24pysdk lead", "PHONE": [{"VALUE": "+79990001122", "VALUE_TYPE": "WORK"}]}, "TITLE"),
        ("contact", {"NAME": "Py", "SECOND_NAME": "S", "LAST_NAME": "Dk", "EMAIL": [{"VALUE": "py@example.com", "VALUE_TYPE": "WORK"}]}, "NAME"),
        ("company", {"TITLE": "b24pysdk company"}, "TITLE"),
    ]:
        new_id = webhook.call_method(f"crm.{entity}.add", {"fields": fields})["result"]
        got = webhook.call_method(f"crm.{entity}.get", {"id": new_id})["result"]
        assert got[code] == fields[code], got
        if "PHONE" in fields:
            assert got["PHONE"][0]["VALUE"] == "+79990001122" and got["HAS_PHONE"] == "Y", got
        assert webhook.call_method(f"crm.{entity}.delete", {"id": new_id})["result"] is True
        seen.append(f"{entity} {new_id}")
    return "add/get/delete of " + ", ".join(seen)


def entity_lists():
    out = []
    for entity in ("lead", "contact", "company"):
        rows = webhook.call_list_fast(f"crm.{entity}.list", {"select": ["ID", "PHONE"]})
        rows = rows["result"] if isinstance(rows, dict) else rows.result
        ids = [int(r["ID"]) for r in rows]
        assert len(ids) == len(set(ids)), f"{entity}: ids repeated"
        out.append(f"{len(ids)} {entity}s")
    return ", ".join(out)


def items():
    added = webhook.call_method("crm.item.add", {"entityTypeId": 1220, "fields": {"title": "b24pysdk item"}})["result"]["item"]
    got = webhook.call_method("crm.item.get", {"entityTypeId": 1220, "id": added["id"]})["result"]["item"]
    assert got["title"] == "b24pysdk item" and got["stageId"].startswith("DT1220_"), got
    deal = webhook.call_method("crm.item.get", {"entityTypeId": 2, "id": 1})["result"]["item"]
    assert deal["id"] == 1, deal
    page = webhook.call_method("crm.item.list", {"entityTypeId": 1220, "select": ["id", "title"]})
    assert isinstance(page["result"]["items"], list) and page["total"] >= 1, page
    return f"crm.item.add/get on 1220 (item {added['id']}), deal 1 as an item, list total {page['total']}"


def item_batch():
    r = webhook.call_batch({
        "a": ("crm.item.add", {"entityTypeId": 1220, "fields": {"title": "batch item"}}),
        "g": ("crm.item.get", {"entityTypeId": 1220, "id": "$result[a][item][id]"}),
    }, halt=True)["result"]["result"]
    assert r["g"]["item"]["title"] == "batch item", r
    return "crm.item.add + get through $result[a][item][id]"


check("call_list_fast (webhook)", fast_export)
check("legacy lead/contact/company CRUD with multifields (webhook)", entities)
check("call_list_fast on leads/contacts/companies (webhook)", entity_lists)
check("crm.item.* (webhook)", items)
check("call_batch over crm.item.* (webhook)", item_batch)
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
