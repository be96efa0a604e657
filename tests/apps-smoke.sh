#!/usr/bin/env bash
# Smoke test of bench/apps: the Node app under its cluster module, PM2 and
# clusterd, and the WSGI app under gunicorn and clusterd, each start, answer,
# take a second of load and a reload. Speed is never judged here (see bench/).
# PM2 comes from the npm registry into bench/node_modules; a server whose
# tool cannot be had is skipped with a line that says so.
# Usage: tests/apps-smoke.sh SOURCE_DIR CLUSTERD
set -euo pipefail
src=$1 clusterd=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if "$src/bench/apps" --quick --install npm --clusterd "$clusterd" --out "$out" >"$out/log" 2>&1; then
    cat "$out/log"
    echo "1 passed, 0 failed"
else
    rc=$?
    tail -n 40 "$out/log"
    echo "bench/apps --quick failed with status $rc"
    exit 1
fi
