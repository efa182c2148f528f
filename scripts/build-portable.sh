#!/usr/bin/env bash
# Build a Linux x86_64 release binary that runs on old distributions, and
# check the newest glibc symbol version it needs.
#
#   scripts/build-portable.sh            # glibc 2.17 (CentOS 7, Debian 8 and every later Linux)
#   scripts/build-portable.sh 2.28       # another floor
#
# Links against the chosen glibc through zig (cargo-zigbuild), whatever the
# build machine's glibc is. Needs cargo-zigbuild (`cargo install
# cargo-zigbuild --locked`) and zig (`pip install ziglang`: cargo-zigbuild
# finds `python3 -m ziglang` by itself). Set CARGO_TARGET_DIR to keep the
# build apart from the debug one. Prints the binary's path and the glibc
# version it needs; fails when that is newer than the floor asked for.
set -euo pipefail
cd "$(dirname "$0")/.."

floor="${1:-2.17}"
target=x86_64-unknown-linux-gnu
if ! command -v cargo-zigbuild >/dev/null 2>&1; then
    echo "build-portable: cargo-zigbuild not found (cargo install cargo-zigbuild --locked; pip install ziglang)" >&2
    exit 1
fi

cargo zigbuild --locked --release -p mnemo --target "$target.$floor"
binary="${CARGO_TARGET_DIR:-target}/$target/release/mnemo"

needed=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
needed="${needed#GLIBC_}"
echo "$binary needs glibc $needed (floor asked: $floor)"
if [ "$(printf '%s\n%s\n' "$floor" "$needed" | sort -V | tail -1)" != "$floor" ]; then
    echo "build-portable: the binary needs glibc $needed, newer than $floor" >&2
    exit 1
fi
"$binary" --version
