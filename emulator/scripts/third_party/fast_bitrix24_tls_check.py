"""fast_bitrix24 against the emulator over HTTPS, unmodified (the CA through SSL_CERT_FILE).

  python fast_bitrix24_tls_check.py WEBHOOK_URL
"""
import sys

from fast_bitrix24 import Bitrix

b = Bitrix(sys.argv[1], verbose=False)
ids = [int(d["ID"]) for d in b.get_all("crm.deal.list", {"select": ["ID"]})]
assert len(ids) == len(set(ids)), "ids repeated"
got = b.get_by_ID("crm.deal.get", ids[:3])
assert len(got) == 3, got
print(f"ok   get_all: {len(ids)} deals, each once; get_by_ID: 3 deals")
print("fast_bitrix24: 1 passed, 0 failed")
