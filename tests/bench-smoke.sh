#!/usr/bin/env bash
# Smoke test of bench/run: clusterd, nginx and the Node cluster all start and
# answer every scenario once. Speed is never judged here (see bench/).
# Usage: tests/bench-smoke.sh SOURCE_DIR CLUSTERD
set -euo pipefail
src=$1 clusterd=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if "$src/bench/run" --quick --no-install --clusterd "$clusterd" --out "$out" >"$out/log" 2>&1; then
    tail -n 25 "$out/log"
    echo "1 passed, 0 failed"
else
    rc=$?
    tail -n 40 "$out/log"
    echo "bench/run --quick failed with status $rc"
    exit 1
fi
