#!/usr/bin/env bash
# Rebuilds the static embedding table compiled into mnemo
# (crates/embed/assets/minilm-l6-static.mnemoemb) from all-MiniLM-L6-v2.
# Deterministic: the same model and settings give the same bytes (the
# sha256 printed at the end). Takes about a minute after the build.
#
# Extra arguments go to the distiller, e.g. `--dims 64,128 --out '/tmp/t-{dims}.bin'`
# to try other sizes (see crates/embed/examples/distill.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

model=$(scripts/fetch-minilm.sh)
out=crates/embed/assets/minilm-l6-static.mnemoemb
cargo run --release --locked -p mnemo-embed --features candle --example distill -- \
  --model "$model" --out "$out" --dims 192 --pooling token --weighting sif --sif 1e-4 "$@"
if [ $# -eq 0 ]; then
  sha256sum "$out"
fi
