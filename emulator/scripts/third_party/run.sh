#!/usr/bin/env bash
# Drives the emulator with two Bitrix24 clients nobody here wrote (the official Python SDK
# b24pysdk and fast_bitrix24): export every deal, list with filters, add, update, batch.
# Installs both from PyPI into a throw-away virtualenv; needs python3 with venv.
#
#   bash emulator/scripts/third_party/run.sh [DEALS]     (default 100000)
set -euo pipefail
deals="${1:-100000}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d)"
emu_pid=""
cleanup() {
    if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet fast_bitrix24 b24pysdk

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target-emu}"
cargo build --quiet --release -p bitrix-emulator --bin bitrix-emulator --manifest-path "$root/Cargo.toml"
emulator="$CARGO_TARGET_DIR/release/bitrix-emulator"

for check in b24pysdk_check.py fast_bitrix24_check.py; do
    "$emulator" --port 0 --deals "$deals" --limits regular >"$work/url" 2>"$work/log" &
    emu_pid=$!
    for _ in $(seq 1 120); do
        if [ -s "$work/url" ]; then break; fi
        sleep 0.25
    done
    echo "== $check against $(head -1 "$work/url") with $deals deals"
    "$work/venv/bin/python" "$here/$check" "$(head -1 "$work/url")" "$deals"
    kill "$emu_pid"
    wait "$emu_pid" 2>/dev/null || true
    emu_pid=""
    : >"$work/url"
done
