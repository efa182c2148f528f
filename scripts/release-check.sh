#!/usr/bin/env bash
# Check the release setup offline: dist can plan a release from
# dist-workspace.toml, and .github/workflows/release.yml is exactly what
# `dist generate` makes from it (edit the config, never the generated file).
#
#   scripts/release-check.sh
#
# Needs dist 0.34 on PATH (`cargo install cargo-dist --version 0.34.0
# --locked`; it compiles for a long time, so CI does not run this: the
# `release` module of the integration tests checks what it can without dist).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dist >/dev/null 2>&1; then
    echo "release-check: dist not found (cargo install cargo-dist --version 0.34.0 --locked)" >&2
    exit 1
fi
echo "== dist plan"
dist plan
echo "== dist generate --check"
dist generate --check
echo "release-check: the plan is complete and release.yml matches dist-workspace.toml"
