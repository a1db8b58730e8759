"""fast_bitrix24's bulk create: call('crm.deal.add', items), measuring itself.

Usage: fb24_create.py WEBHOOK_URL COUNT

Prints one JSON line (wall_s, cpu_s, peak_rss_kib, rows = ids returned). The measured part
builds the items and runs call() (after imports and client construction). The fields are the
ones the Rust client sends: title, amount, currency and the demo portal's required
enumeration UF_CRM_1721244590123 (item 3476).
"""
import json
import resource
import sys
import time
import warnings

from fast_bitrix24 import Bitrix


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    warnings.simplefilter("ignore")
    b = Bitrix(url, verbose=False)
    t0, c0 = time.perf_counter(), cpu()
    items = [{"fields": {"TITLE": f"Bench deal #{i}", "OPPORTUNITY": 1000 + i,
                         "CURRENCY_ID": "RUB", "UF_CRM_1721244590123": 3476}}
             for i in range(count)]
    error = None
    try:
        ids = b.call("crm.deal.add", items)
        created = len({int(i) for i in ids if str(i).isdigit()})
    except Exception as e:  # reported in the table: the portal's count shows what was created
        error, created = f"{type(e).__name__}: {e}", 0
    wall, used = time.perf_counter() - t0, cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"client": "fast_bitrix24 call", "wall_s": wall, "cpu_s": used,
              "peak_rss_kib": peak, "rows": created}
    if error:
        report["error"] = error
    print(json.dumps(report))


if __name__ == "__main__":
    main()
