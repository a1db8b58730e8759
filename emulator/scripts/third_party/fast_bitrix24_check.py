"""Drive the emulator with fast_bitrix24 (a third-party Python SDK): export, create, update."""
import sys, time, logging
from fast_bitrix24 import Bitrix

url = sys.argv[1]
b = Bitrix(url, verbose=False)
t = time.time()
deals = b.get_all("crm.deal.list", {"select": ["ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "UF_CRM_1721244590123"]})
ids = [int(d["ID"]) for d in deals]
print(f"get_all: {len(deals)} deals, {len(set(ids))} distinct, {time.time()-t:.1f} s")
assert len(set(ids)) == len(ids) == int(sys.argv[2]), (len(ids), len(set(ids)))

t = time.time()
new = b.call("crm.deal.add", [{"fields": {"TITLE": f"fb24 #{i}", "OPPORTUNITY": 1000 + i, "UF_CRM_1721244590123": 3478}} for i in range(120)])
print(f"call(crm.deal.add) x120 -> {len(new)} ids, e.g. {new[:3]}, {time.time()-t:.1f} s")
upd = b.call("crm.deal.update", [{"ID": i, "fields": {"STAGE_ID": "PREPARATION", "COMMENTS": "updated by fast_bitrix24"}} for i in new])
print(f"call(crm.deal.update) x{len(upd)} -> all true: {all(upd)}")
got = b.get_by_ID("crm.deal.get", new[:60])
sample = got[str(new[0])] if isinstance(got, dict) and str(new[0]) in got else (got[new[0]] if isinstance(got, dict) else got[0])
print("get_by_ID:", len(got), "deals; first:", {k: sample[k] for k in ("ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "COMMENTS")})
assert sample["STAGE_ID"] == "PREPARATION" and sample["COMMENTS"] == "updated by fast_bitrix24"
filtered = b.get_all("crm.deal.list", {"filter": {"%TITLE": "fb24", ">OPPORTUNITY": 1100}, "select": ["ID"]})
print("filtered get_all:", len(filtered), "deals (expected 19)")
assert len(filtered) == 19
print("fast_bitrix24: OK")
