#!/usr/bin/env bash
# Runs the official SDKs, unmodified, against the emulator over HTTPS (`--tls`): b24pysdk and
# fast_bitrix24 from PyPI and @bitrix24/b24jssdk from npm, each pointed at the emulator only through its documented
# inputs (webhook URL, OAuth parameters) and the CA bundle variable of its runtime. Not in CI
# (it installs from the registries); needs python3 with venv, node and npm.
#
#   bash emulator/scripts/third_party/sdk_tls.sh
#
# b24pysdk refreshes OAuth tokens at its hard-coded https://oauth.bitrix24.tech. Its OAuth check
# runs when B24_EDIT_HOSTS=1 and the script runs as root: it then adds
# `127.0.0.1 oauth.bitrix24.tech` to /etc/hosts (once) and serves the emulator on port 443.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d)"
emu_pid=""
cleanup() {
    if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

PYSDK_VERSION="${PYSDK_VERSION:-1.3.2}"
JSSDK_VERSION="${JSSDK_VERSION:-2.2.0}"
echo "== installing b24pysdk==$PYSDK_VERSION and @bitrix24/b24jssdk@$JSSDK_VERSION"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "b24pysdk==$PYSDK_VERSION" "fast_bitrix24==${FAST_BITRIX24_VERSION:-1.8.14}"
mkdir -p "$work/js"
cp "$here/b24jssdk_tls_check.mjs" "$work/js/"
(cd "$work/js" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "@bitrix24/b24jssdk@$JSSDK_VERSION")

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target-emu}"
cargo build --quiet --release -p bitrix-emulator --bin bitrix-emulator --manifest-path "$root/Cargo.toml"
emulator="$CARGO_TARGET_DIR/release/bitrix-emulator"

# Starts the emulator (extra arguments appended); sets $url and $oauth (with the token ttl).
start() {
    : >"$work/out"
    "$emulator" --tls --seed-portal --deals 300 --companies 20 --contacts 130 --leads 120 --items 1220=70 --print-oauth --access-token-ttl-s 2 \
        --ca-out "$work/ca.pem" "$@" >"$work/out" 2>"$work/log" &
    emu_pid=$!
    for _ in $(seq 1 120); do
        if [ "$(wc -l <"$work/out")" -ge 2 ]; then break; fi
        sleep 0.25
    done
    url="$(sed -n 1p "$work/out")"
    oauth="$(sed -n 2p "$work/out" | "$work/venv/bin/python" -c 'import json,sys; d=json.load(sys.stdin); d["ttl"]=2; print(json.dumps(d))')"
}
stop() {
    kill "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
    emu_pid=""
}

status=0
start --port 0
echo "== b24jssdk against $url"
(cd "$work/js" && NODE_EXTRA_CA_CERTS="$work/ca.pem" node b24jssdk_tls_check.mjs "$url" "$oauth") || status=1
echo "== b24pysdk (webhook) against $url"
REQUESTS_CA_BUNDLE="$work/ca.pem" "$work/venv/bin/python" "$here/b24pysdk_tls_check.py" "$url" || status=1
echo "== fast_bitrix24 against $url"
SSL_CERT_FILE="$work/ca.pem" "$work/venv/bin/python" "$here/fast_bitrix24_tls_check.py" "$url" || status=1
stop

if [ "${B24_EDIT_HOSTS:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
    grep -q "oauth.bitrix24.tech" /etc/hosts || echo "127.0.0.1 oauth.bitrix24.tech" >>/etc/hosts
    start --port 443 --host localhost --host oauth.bitrix24.tech
    echo "== b24pysdk (webhook and OAuth, refresh at oauth.bitrix24.tech) against $url"
    REQUESTS_CA_BUNDLE="$work/ca.pem" "$work/venv/bin/python" "$here/b24pysdk_tls_check.py" "$url" "$oauth" || status=1
    stop
else
    echo "== b24pysdk OAuth skipped (set B24_EDIT_HOSTS=1 and run as root to map oauth.bitrix24.tech)"
fi
exit "$status"
