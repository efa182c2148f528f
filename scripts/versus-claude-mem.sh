#!/usr/bin/env bash
# Side by side with claude-mem, in one run on this machine.
#
#   scripts/versus-claude-mem.sh           # full run: 10k and 100k observations (~20-30 min)
#   scripts/versus-claude-mem.sh --quick   # smoke run: 10k only, fewer runs (a few minutes)
#
# Installs, into a temporary directory and nowhere else, the published
# claude-mem package and the Bun runtime from the npm registry (npm's and
# Bun's caches included), then runs `cargo bench -p mnemo --bench versus`
# against that plugin. Prints one table (claude-mem ÷ mnemo per row) and
# writes it to target/bench-results/versus.json ($MNEMO_BENCH_RESULTS), where
# scripts/bench.sh and `cargo bench -p mnemo --bench summary` pick it up.
#
# Needs: node >= 20.12 and npm (claude-mem's hooks run under node), git,
# cargo, and the npm registry. Nothing else is installed.
# Overrides: CLAUDE_MEM_VERSION (default 13.25.3), BUN_VERSION (1.4.5),
# KEEP_VERSUS_DIR=1 to keep the temporary directory (data dirs, worker log).
set -euo pipefail

CLAUDE_MEM_VERSION=${CLAUDE_MEM_VERSION:-13.25.3}
BUN_VERSION=${BUN_VERSION:-1.4.5}

for tool in node npm git cargo; do
    command -v "$tool" >/dev/null || { echo "versus-claude-mem: needs $tool on PATH" >&2; exit 1; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/versus-claude-mem.XXXXXX")
bench_pid=

# Stop whatever this script started: the bench (its whole process group,
# which holds `mnemo serve` and the hooks) and the claude-mem worker, a
# detached daemon found through the pid file in its data dir.
cleanup() {
    # The group outlives its leader when cargo exits first.
    if [ -n "$bench_pid" ] && kill -TERM -- "-$bench_pid" 2>/dev/null; then
        sleep 1
        kill -KILL -- "-$bench_pid" 2>/dev/null || true
    fi
    local pidfile="$work/run/claude-mem-home/.claude-mem/worker.pid" pid
    if [ -f "$pidfile" ]; then
        pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$pidfile" | head -n 1)
        # Only a worker running from this directory.
        if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$work/"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [ "${KEEP_VERSUS_DIR:-0}" = 1 ]; then
        echo "versus-claude-mem: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export npm_config_cache="$work/npm-cache" BUN_INSTALL_CACHE_DIR="$work/bun-cache"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

echo "== installing claude-mem@$CLAUDE_MEM_VERSION and bun@$BUN_VERSION into $work"
(cd "$work" && npm pack --silent "claude-mem@$CLAUDE_MEM_VERSION" >/dev/null && tar -xzf claude-mem-*.tgz)
mkdir -p "$work/bun"
(cd "$work/bun" && npm init -y >/dev/null && npm install --silent "bun@$BUN_VERSION")
export PATH="$work/bun/node_modules/.bin:$PATH"
plugin="$work/package/plugin"
# Its runtime dependencies, as the plugin's own installer does; the scripts
# only fetch tree-sitter-cli's binary, which just the code-navigation tools use.
(cd "$plugin" && bun install --ignore-scripts >/dev/null)

echo "claude-mem $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$plugin/package.json" | head -n 1)," \
    "bun $(bun --version), node $(node --version)," \
    "mnemo $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD || echo '+changes')"

cd "$repo"
# A process group of its own, so cleanup can stop all of it.
setsid cargo bench -p mnemo --bench versus -- \
    --claude-mem "$plugin" --work-dir "$work/run" "$@" &
bench_pid=$!
wait "$bench_pid"
