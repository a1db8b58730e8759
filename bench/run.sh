#!/usr/bin/env bash
# One command for the export and bulk-create benchmarks against fast_bitrix24.
#
# Creates a Python virtual environment under the cargo target dir, installs the pinned
# fast-bitrix24 into it, builds bitrix-bench in release and runs the chosen parts, printing
# markdown tables on stdout (progress on stderr). See bench/RESULTS.md for measured tables.
set -euo pipefail

FB24_VERSION="1.8.14"

usage() {
    cat <<USAGE
usage: bash bench/run.sh [--parts LIST] [--deals N] [--unlimited-deals N] [--create-deals N]
                         [--budget-deals N] [--time-scale F]
                         [--partitions K] [--concurrency C] [--unlimited]

  --parts LIST          comma-separated parts to run: export, unlimited, create, budget,
                        projection (default: export,unlimited,create; budget is the long one)
  --unlimited           the same as --parts unlimited (pure client throughput only)
  --deals N             deals seeded for the limited export (default 20000)
  --unlimited-deals N   deals seeded for the unlimited export and the projection part
                        (default 100000)
  --create-deals N      deals created by the bulk-create part (default 10000)
  --budget-deals N      deals of the operating-budget export (default 1000000)
  --time-scale F        time scale of the budget part's portal (default 0.1: limits and costs
                        10x faster; ~2,000 s of server time against 480 s per 10 minutes then
                        takes ~4 minutes per client)
  --partitions K        parts of the id range for the stream_parallel row (default 8)
  --concurrency C       batches in flight for our bulk create (default 8)
  --clients LIST        clients to run: ours,parallel,fast_bitrix24 (default: all)

Projection (issue 12): the unlimited export of --unlimited-deals deals as the whole Deal
(stream()), as a 5-field projection (ID, TITLE, STAGE_ID, OPPORTUNITY, CURRENCY_ID) and by
fast_bitrix24 with all fields and with the same 5-field select: bytes on the wire, client CPU
per row, peak memory; then the criterion bench of decoding one page (full Deal vs projection).

Limited export: regular bucket (50, 2/s), operating limit 480 s / 10 min, the documented
cost model at real time. Bulk create: the same, but with the cost model's write extra set to
0 (see RESULTS.md). Needs python3 with venv, cargo, and PyPI + crates.io access for the first
run. The venv lives in \$CARGO_TARGET_DIR/bench-venv (or target/bench-venv).

Typical run time on 2 cores: limited export ~3 min, unlimited ~2 min, create ~4 min.
USAGE
}

parts="export,unlimited,create"
deals=20000
unlimited_deals=100000
create_deals=10000
budget_deals=1000000
time_scale=0.1
partitions=8
concurrency=8
clients="ours,parallel,fast_bitrix24"
while [ $# -gt 0 ]; do
    case "$1" in
        --parts) parts="$2"; shift 2 ;;
        --unlimited) parts="unlimited"; shift ;;
        --deals) deals="$2"; shift 2 ;;
        --unlimited-deals) unlimited_deals="$2"; shift 2 ;;
        --create-deals) create_deals="$2"; shift 2 ;;
        --budget-deals) budget_deals="$2"; shift 2 ;;
        --time-scale) time_scale="$2"; shift 2 ;;
        --partitions) partitions="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --clients) clients="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/bench-venv"

if [ ! -x "$venv/bin/python" ]; then
    echo "[run.sh] creating the virtual environment $venv" >&2
    python3 -m venv "$venv"
fi
installed() {
    "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('fast-bitrix24'))" 2>/dev/null || true
}
if [ "$(installed)" != "$FB24_VERSION" ]; then
    echo "[run.sh] installing fast-bitrix24==$FB24_VERSION" >&2
    "$venv/bin/pip" install --quiet "fast-bitrix24==$FB24_VERSION"
fi

echo "[run.sh] building bitrix-bench (release)" >&2
CARGO_TARGET_DIR="$target" cargo build --quiet --release -p bitrix-bench --manifest-path "$root/Cargo.toml"
bench="$target/release/bitrix-bench"
py="$venv/bin/python"

echo "## Machine"
echo
echo "- $(nproc) cores, $(uname -sr)"
echo "- $(rustc -V)"
echo "- $("$py" -V), fast-bitrix24 $(installed)"
echo "- $(date -u '+%Y-%m-%d %H:%M UTC')"
echo

IFS=',' read -r -a wanted <<<"$parts"
for part in "${wanted[@]}"; do
    case "$part" in
        export)
            "$bench" export --deals "$deals" --partitions "$partitions" --python "$py" --clients "$clients" ;;
        unlimited)
            "$bench" export --unlimited --deals "$unlimited_deals" --partitions "$partitions" --python "$py" --clients "$clients" ;;
        create)
            "$bench" create --deals "$create_deals" --concurrency "$concurrency" --python "$py" --clients "$clients" ;;
        projection)
            "$bench" export --unlimited --deals "$unlimited_deals" --python "$py" \
                --clients ours,projection,fast_bitrix24,fast_bitrix24_select
            echo
            echo "### Decoding one page (criterion: cargo bench -p bitrix-bench --bench projection)"
            echo
            # criterion's report goes to stderr, the summary table (lines starting with |) to stdout.
            CARGO_TARGET_DIR="$target" cargo bench --quiet -p bitrix-bench --bench projection \
                --manifest-path "$root/Cargo.toml" -- --warm-up-time 1 --measurement-time 3 \
                | tee /dev/stderr | grep '^|' ;;
        budget)
            # fast_bitrix24 cannot be told a scaled portal's limits: ours only.
            "$bench" export --deals "$budget_deals" --time-scale "$time_scale" --partitions "$partitions" --python "$py" --clients ours,parallel ;;
        *) echo "run.sh: unknown part '$part' (use export, unlimited, create, budget, projection)" >&2; exit 2 ;;
    esac
done
