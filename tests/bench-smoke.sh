#!/usr/bin/env bash
# Smoke test of bench/run: clusterd, its peers (nginx with sendfile on and
# off, lighttpd, h2o) and the Node cluster all start and answer every
# scenario once, and the report names the best peer. Speed is never judged
# here (see bench/).
# Usage: tests/bench-smoke.sh SOURCE_DIR CLUSTERD
set -euo pipefail
src=$1 clusterd=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rc=0
"$src/bench/run" --quick --no-install --clusterd "$clusterd" --out "$out" >"$out/log" 2>&1 || rc=$?
if ((rc != 0)); then
    tail -n 40 "$out/log"
    echo "bench/run --quick failed with status $rc"
    exit 1
fi
tail -n 25 "$out/log"
for server in clusterd nginx nginx-nosendfile lighttpd h2o node; do
    # every server has a row with a req/s figure in scenario a's CSV line
    grep -q "^keepalive,$server,1,0,[0-9]" "$out/latest.csv" || {
        echo "no keep-alive figure for $server in latest.csv"
        exit 1
    }
done
grep -q '^  a keep-alive tiny | ' "$out/log" || { echo "no best-peer line in the report"; exit 1; }
echo "1 passed, 0 failed"
