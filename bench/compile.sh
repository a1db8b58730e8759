#!/usr/bin/env bash
# One command for the compile-cost benchmark: macro expansion and `cargo build` time of a crate
# using #[bitrix_entity] on schemas of 50, 500 and 2,000 fields, against a hand-written serde
# struct with the same fields, measured in the same run.
#
# Writes a scratch Cargo workspace under $CARGO_TARGET_DIR/compile-cost (or
# target/compile-cost), builds its dependencies once (the first run fetches crates from
# crates.io unless they are cached), then prints markdown tables on stdout (progress on
# stderr). Options: bash bench/compile.sh --help. Takes about 10-15 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec python3 "$root/bench/compile/compile_cost.py" "$@"
