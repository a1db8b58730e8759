"""fast_bitrix24's export of every deal with every field (or the fields of --select), measuring
itself.

Usage: fb24_export.py WEBHOOK_URL IDS_OUT [--unlimited] [--select ID,TITLE,...]

Prints one JSON line (wall_s, cpu_s, peak_rss_kib, rows) and writes the ids to IDS_OUT.
The measured part is get_all() only (after imports and client construction).
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
    url, ids_out = sys.argv[1], sys.argv[2]
    select = ["*", "UF_*"]
    if "--select" in sys.argv:
        select = sys.argv[sys.argv.index("--select") + 1].split(",")
    # --unlimited changes nothing here: fast-bitrix24 1.8.14 with respect_velocity_policy=False
    # fails on its first answer (KeyError in add_throttler_records), so its default pacing
    # stays on. It does not slow the unlimited run: get_all of 100,000 deals sends 41
    # requests, within its pool of 50 unpaced requests.
    # The select-all-without-filter warning is expected here.
    warnings.simplefilter("ignore")
    b = Bitrix(url, verbose=False)
    t0, c0 = time.perf_counter(), cpu()
    deals = b.get_all("crm.deal.list", params={"select": select})
    ids = [int(d["ID"]) for d in deals]
    wall, used = time.perf_counter() - t0, cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with open(ids_out, "w") as f:
        f.write("\n".join(map(str, ids)))
        f.write("\n")
    name = "fast_bitrix24 get_all" if select == ["*", "UF_*"] else "fast_bitrix24 get_all, select"
    print(json.dumps({"client": name, "wall_s": wall, "cpu_s": used,
                      "peak_rss_kib": peak, "rows": len(ids)}))


if __name__ == "__main__":
    main()
