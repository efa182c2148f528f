#!/usr/bin/env bash
# Run every benchmark of the project, then print one table of their figures.
#
#   scripts/bench.sh           # full: stores of 10k, 100k and 1M observations (about 15 min on 2 cores)
#   scripts/bench.sh --quick   # smaller stores and fewer runs (a few minutes)
#
# Each benchmark prints its own detail and saves its headline figures to
# $MNEMO_BENCH_RESULTS (default target/bench-results); `--bench summary`
# prints them as Markdown tables, the form BENCHMARKS.md quotes. The
# side-by-side comparison with claude-mem needs the npm registry and runs
# separately (scripts/versus-claude-mem.sh); its table joins this one when
# its results are present.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
case "${1:-}" in
    --quick) quick=(--quick) ;;
    "") ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

export MNEMO_BENCH_RESULTS="${MNEMO_BENCH_RESULTS:-$PWD/target/bench-results}"
mkdir -p "$MNEMO_BENCH_RESULTS"
# Results of an earlier run would mix with this one's; the claude-mem
# comparison is kept because this script does not rerun it.
find "$MNEMO_BENCH_RESULTS" -name '*.json' ! -name versus.json -delete

bench() {
    echo
    echo "== cargo bench -p mnemo --bench $*"
    cargo bench --quiet -p mnemo --bench "$@"
}

# The viewer's first-paint figure needs Chromium and playwright-core.
if [[ -x /usr/bin/chromium && ! -d crates/mnemo/tests/browser/node_modules/playwright-core ]]; then
    (cd crates/mnemo/tests/browser && npm ci --no-audit --no-fund --silent) || true
fi

# Hook cost inside the real Claude Code needs its npm package (no account:
# the model is a mock on loopback).
if command -v npm >/dev/null 2>&1 && [[ ! -d crates/mnemo/tests/claude-code/node_modules/@anthropic-ai ]]; then
    (cd crates/mnemo/tests/claude-code && npm ci --no-audit --no-fund --silent) || true
fi

bench capture -- "${quick[@]}"
bench hook_cost -- "${quick[@]}"
bench compress -- "${quick[@]}"
bench transfer -- "${quick[@]}"
bench redaction -- "${quick[@]}"
bench retrieve -- --quick
if [[ ${#quick[@]} -eq 0 ]]; then
    bench retrieve
    bench retrieve -- --million
fi
bench serve -- "${quick[@]}"
# Every user-facing operation against its budget (exits 1 when one is over;
# the rest of the report still prints).
bench scale -- "${quick[@]}" || echo "scale: an operation was over its budget (see above)"
bench locomo
bench locomo_cli
bench coding_dev
# Team sync against a throwaway PostgreSQL (skipped, with a line, without one).
cargo bench --quiet -p mnemo-team --bench team_sync -- "${quick[@]}"
# The same through the binary and two local stores, and the propagation
# between two running syncs.
bench team -- "${quick[@]}"

echo
echo "## mnemo benchmarks, $(date -u +%Y-%m-%d)"
echo
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- build: $(rustc --version), mnemo $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "- mode: ${quick[*]:-full}"
cargo bench --quiet -p mnemo --bench summary
