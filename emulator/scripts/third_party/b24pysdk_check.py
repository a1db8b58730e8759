"""Drive the emulator with b24pysdk (the official Python SDK): fast export, list, add, update, batch."""
import sys, time
from urllib.parse import urlparse
from b24pysdk import BitrixWebhook
import importlib
cm_mod = importlib.import_module("b24pysdk.api.callers.call_method")

# The SDK hard-codes https://; the emulator is plain HTTP on loopback.
for name in dir(cm_mod):
    cls = getattr(cm_mod, name)
    if isinstance(cls, type) and "_base_url" in cls.__dict__:
        cls._base_url = property(lambda self: f"http://{self._domain}/rest")

url = urlparse(sys.argv[1])
n = int(sys.argv[2])
token = BitrixWebhook(domain=url.netloc, webhook_token=url.path.removeprefix("/rest/"))

t = time.time()
fast = token.call_list_fast("crm.deal.list", {"select": ["ID", "TITLE", "UF_CRM_1721244590123"]})
rows = list(fast["result"]) if isinstance(fast, dict) else list(fast.result)
ids = [int(r["ID"]) for r in rows]
print(f"call_list_fast: {len(rows)} deals, {len(set(ids))} distinct, ascending={ids == sorted(ids)}, {time.time()-t:.1f} s")
assert len(set(ids)) == len(ids) == n

t = time.time()
listed = token.call_list("crm.deal.list", {"filter": {">OPPORTUNITY": 4_000_000}, "select": ["ID", "OPPORTUNITY"]})
lrows = list(listed["result"]) if isinstance(listed, dict) else list(listed.result)
assert all(float(r["OPPORTUNITY"]) > 4_000_000 for r in lrows)
print(f"call_list (counted pages, filtered): {len(lrows)} deals, {time.time()-t:.1f} s")

added = token.call_method("crm.deal.add", {"fields": {"TITLE": "b24pysdk", "OPPORTUNITY": 42.5, "UF_CRM_1721244590123": 3480}})
new_id = added["result"]
print("call_method(crm.deal.add) ->", new_id)
upd = token.call_method("crm.deal.update", {"id": new_id, "fields": {"TITLE": "b24pysdk (updated)", "STAGE_ID": "EXECUTING"}})
got = token.call_method("crm.deal.get", {"id": new_id})["result"]
print("update ->", upd["result"], "; get ->", {k: got[k] for k in ("ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "UF_CRM_1721244590123")})
assert got["TITLE"] == "b24pysdk (updated)" and got["STAGE_ID"] == "EXECUTING" and got["OPPORTUNITY"] == "42.50"

batch = token.call_batch({
    "a": ("crm.deal.add", {"fields": {"TITLE": "batch add", "UF_CRM_1721244590123": 3476}}),
    "g": ("crm.deal.get", {"id": "$result[a]"}),
}, halt=True)
r = batch["result"]["result"]; print("call_batch ->", {k: (v if not isinstance(v, dict) else v.get("TITLE")) for k, v in r.items()}); assert r["g"]["TITLE"] == "batch add"
print("b24pysdk: OK")
