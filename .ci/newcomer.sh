#!/usr/bin/env bash
# A newcomer's first crate: the two files of the README's "In your own crate", in a fresh crate
# outside the workspace, built against the packaged crates (what `cargo publish` would upload,
# from `cargo package`) and run against the emulator. Fails when the README's code does not
# compile as written or does not run.
#
# Usage: bash .ci/newcomer.sh   (after `cargo package -p bitrix-macros -p bitrix-codegen
#        -p bitrix-runtime -p bitrix-emulator`, which leaves the unpacked crates in target/package)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
packages="$target/package"
for c in bitrix-macros bitrix-codegen bitrix-runtime bitrix-emulator; do
  [ -d "$packages/$c-0.1.0" ] || { echo "newcomer: $packages/$c-0.1.0 is missing: run cargo package first" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'kill "${emu_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/crm-sync/src" "$work/crm-sync/schemas"

# The README's blocks marked `<!-- newcomer: PATH -->`, written to PATH.
python3 - "$root/README.md" "$work/crm-sync" <<'PY'
import re, sys, pathlib
readme, out = pathlib.Path(sys.argv[1]).read_text(), pathlib.Path(sys.argv[2])
blocks = re.findall(r"<!-- newcomer: (\S+) -->\n```[a-z]*\n(.*?)```\n", readme, re.S)
if {p for p, _ in blocks} != {"Cargo.toml", "src/main.rs"}:
    sys.exit(f"newcomer: the README's marked blocks are {[p for p, _ in blocks]}, expected Cargo.toml and src/main.rs")
for path, body in blocks:
    (out / path).write_text(body)
PY
cp "$root/schemas/seed/deal.json" "$work/crm-sync/schemas/deal.json"

# The packaged crates stand in for crates.io; the workspace's lock file keeps dependency versions
# (and so the shared target directory's builds) the same as the workspace's.
cat >> "$work/crm-sync/Cargo.toml" <<TOML

[workspace]

[patch.crates-io]
bitrix-macros = { path = "$packages/bitrix-macros-0.1.0" }
bitrix-codegen = { path = "$packages/bitrix-codegen-0.1.0" }
bitrix-runtime = { path = "$packages/bitrix-runtime-0.1.0" }
TOML
cp "$root/Cargo.lock" "$work/crm-sync/Cargo.lock"

echo "== newcomer: build"
(cd "$work/crm-sync" && CARGO_TARGET_DIR="$target" cargo build --quiet --bin crm-sync)

echo "== newcomer: run against the emulator"
(cd "$root" && cargo build --quiet --locked -p bitrix-emulator --bin bitrix-emulator)
"$target/debug/bitrix-emulator" --seed-portal --port 0 >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/emu.out" ] && break; sleep 0.1; done
webhook="$(head -1 "$work/emu.out")"
[ -n "$webhook" ] || { cat "$work/emu.err" >&2; echo "newcomer: the emulator printed no webhook" >&2; exit 1; }
out="$(BITRIX_WEBHOOK="$webhook" "$target/debug/crm-sync")"
echo "$out"
grep -Eq '^created [0-9]+: Some\("First deal"\) for Some\(1500(\.0+)?\)$' <<<"$out"
grep -q '^1 deals above 1000$' <<<"$out"
echo "newcomer: ok"
