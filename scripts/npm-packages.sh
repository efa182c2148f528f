#!/usr/bin/env bash
# Build mnemo's npm packages, ready to publish, from prebuilt binaries.
#
#   scripts/npm-packages.sh [--out DIR] VERSION PLATFORM=BINARY [PLATFORM=BINARY ...]
#
# VERSION   the version every package gets (e.g. 0.1.0; no leading v).
# PLATFORM  one of linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64
#           (Node's process.platform-process.arch), each given at most once.
# BINARY    the mnemo binary built for it (mnemo.exe for win32-x64).
# --out DIR where the package folders go (default target/npm); mnemo folders
#           already there are replaced.
#
# Writes DIR/mnemo-PLATFORM/ for each platform (@mnemo-memory/mnemo-PLATFORM:
# the binary in bin/, with npm's os/cpu/libc fields, so npm installs only the
# one that fits) and DIR/mnemo/ (@mnemo-memory/mnemo: optionalDependencies on
# exactly the platforms given, bin/mnemo.js that runs the binary, and
# checksums.json with each binary's SHA-256, which the Claude Code plugin
# checks before it runs one). Once every package is built, prints the
# folders in publish order, platform packages before the main one, one per
# line (nothing, and a non-zero status, when it fails):
#
#   for dir in $(scripts/npm-packages.sh 0.1.0 linux-x64=target/release/mnemo); do
#     npm publish "$dir"
#   done
#
# The templates are in npm/. Needs node.
set -euo pipefail

die() {
  echo "npm-packages.sh: $*" >&2
  exit 2
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/target/npm"
if [[ "${1:-}" == "--out" ]]; then
  [[ $# -ge 2 ]] || die "--out needs a directory"
  out="$2"
  shift 2
fi
[[ $# -ge 2 ]] || die "usage: scripts/npm-packages.sh [--out DIR] VERSION PLATFORM=BINARY..."
version="$1"
shift
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || die "not a version: $version"
command -v node >/dev/null || die "node is needed (to write package.json and checksums)"

# Each platform's npm fields: os cpu libc (the Linux builds link glibc).
platform_fields() {
  case "$1" in
    linux-x64) echo "linux x64 glibc" ;;
    linux-arm64) echo "linux arm64 glibc" ;;
    darwin-x64) echo "darwin x64 -" ;;
    darwin-arm64) echo "darwin arm64 -" ;;
    win32-x64) echo "win32 x64 -" ;;
    *) return 1 ;;
  esac
}

mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/mnemo" "$out"/mnemo-*
platforms=()
for pair in "$@"; do
  [[ "$pair" == *=* ]] || die "not PLATFORM=BINARY: $pair"
  platform="${pair%%=*}"
  binary="${pair#*=}"
  fields="$(platform_fields "$platform")" ||
    die "unknown platform $platform (linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64)"
  [[ -f "$binary" ]] || die "$platform: no binary at $binary"
  [[ -e "$out/mnemo-$platform" ]] && die "$platform given twice"
  read -r os cpu libc <<<"$fields"
  exe=mnemo
  [[ "$os" == win32 ]] && exe=mnemo.exe
  dir="$out/mnemo-$platform"
  mkdir -p "$dir/bin"
  cp "$binary" "$dir/bin/$exe"
  chmod 755 "$dir/bin/$exe"
  sed "s/PLATFORM/$platform/g" "$repo/npm/platform/README.md" >"$dir/README.md"
  node - "$repo/npm/platform/package.json" "$dir/package.json" "$platform" "$version" "$os" "$cpu" "$libc" <<'JS'
const fs = require('fs')
const [template, target, platform, version, os, cpu, libc] = process.argv.slice(2)
const manifest = JSON.parse(fs.readFileSync(template, 'utf8'))
manifest.name = manifest.name.replace('PLATFORM', platform)
manifest.description = manifest.description.replace('PLATFORM', platform)
manifest.version = version
manifest.os = [os]
manifest.cpu = [cpu]
if (libc !== '-') manifest.libc = [libc]
fs.writeFileSync(target, JSON.stringify(manifest, null, 2) + '\n')
JS
  platforms+=("$platform")
done

main="$out/mnemo"
mkdir -p "$main/bin"
cp "$repo/npm/mnemo/bin/mnemo.js" "$main/bin/mnemo.js"
chmod 755 "$main/bin/mnemo.js"
cp "$repo/npm/mnemo/README.md" "$main/README.md"
node - "$repo/npm/mnemo/package.json" "$main" "$version" "$out" "${platforms[@]}" <<'JS'
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const [template, main, version, out, ...platforms] = process.argv.slice(2)
const manifest = JSON.parse(fs.readFileSync(template, 'utf8'))
manifest.version = version
manifest.optionalDependencies = {}
const sha256 = {}
for (const platform of platforms) {
  manifest.optionalDependencies[`@mnemo-memory/mnemo-${platform}`] = version
  const exe = platform.startsWith('win32-') ? 'mnemo.exe' : 'mnemo'
  const binary = fs.readFileSync(path.join(out, `mnemo-${platform}`, 'bin', exe))
  sha256[platform] = crypto.createHash('sha256').update(binary).digest('hex')
}
fs.writeFileSync(path.join(main, 'package.json'), JSON.stringify(manifest, null, 2) + '\n')
fs.writeFileSync(
  path.join(main, 'checksums.json'),
  JSON.stringify({ version, sha256 }, null, 2) + '\n'
)
JS
# Printed only once every package is built, so a caller never publishes a
# partial set.
for platform in "${platforms[@]}"; do
  echo "$out/mnemo-$platform"
done
echo "$main"
