#!/usr/bin/env bash
# Run every cargo-fuzz (libFuzzer) target of fuzz/ for SECONDS each
# (default 30), starting from its committed seed corpus.
#
#   scripts/fuzz.sh               # 30 s per target
#   scripts/fuzz.sh 600           # a longer local session
#   scripts/fuzz.sh --dev 20      # unoptimized build: builds fast, runs slower (CI)
#   FUZZ_TARGETS="redaction" scripts/fuzz.sh 120   # some targets only
#
# Works on the stable toolchain: cargo-fuzz needs nightly-only compiler flags
# (-Cpasses=sancov-module, -Zsanitizer), which stable rustc accepts with
# RUSTC_BOOTSTRAP=1. The targets are built without a sanitizer (-s none):
# they exercise safe Rust, and it halves build and run time. Debug
# assertions and overflow checks stay on.
#
# New inputs found during a run go to a scratch corpus, so the committed one
# stays as it is (add an input there by hand when it is worth keeping). On a
# crash the script stops with a non-zero status and prints the artifact
# (under fuzz/artifacts/<target>/, git-ignored) and how to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."

build=()
if [ "${1:-}" = "--dev" ]; then
    build=(--dev)
    shift
fi
seconds="${1:-30}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [--dev] [SECONDS]" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz..." >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
flags=(-s none "${build[@]}" --target-dir "$target_dir")
targets="${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list)}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

(cd fuzz && cargo fuzz build "${flags[@]}")

for t in $targets; do
    echo "== fuzz $t for ${seconds}s"
    mkdir -p "$scratch/$t" "fuzz/artifacts/$t"
    if ! (cd fuzz && cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 | tee "$scratch/$t.log" | tail -n 25); then
        artifact="$(grep -ao 'fuzz/artifacts/[^ ]*' "$scratch/$t.log" | tail -n 1 || true)"
        echo "fuzz target $t failed; artifact: ${artifact:-see the log above}" >&2
        echo "replay: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} $t ${artifact#fuzz/})" >&2
        exit 1
    fi
done
echo "fuzzing: no crash in $(echo "$targets" | wc -w) targets, ${seconds}s each"
