#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# The properties and ListWorkers reflect the real processes and traffic.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
start_clusterd 2

workers=$(mgr_get Workers)
procs=$(child_count)
check "Workers ($workers) equals the worker processes (pgrep -P: $procs)" test "$workers" = "$procs"
check "WorkersWanted is 2" test "$(mgr_get WorkersWanted)" = 2
check "State is running" test "$(mgr_get State)" = running

listen=$(bctl get-property io.clusterd1 /io/clusterd1 io.clusterd1.Manager Listen)
check "Listen is the address served ($listen)" test "$listen" = "as 1 \"127.0.0.1:$PORT\""

version=$("$CLUSTERD" --version | awk '{ print $2 }')
check "Version is the binary's ($version)" test "$(mgr_get Version)" = "$version"

started=$(mgr_get StartedAtUSec)
now=$(date +%s%6N)
check "StartedAtUSec is within the last minute" \
    test "$started" -le "$now" -a "$started" -gt $((now - 60000000))

listed=$(listed_pids)
real=$(child_pids)
check "ListWorkers pids ($listed) equal the real child pids ($real)" test "$listed" = "$real"

pid1=$(bctl get-property io.clusterd1 /io/clusterd1/worker/1 io.clusterd1.Worker Pid)
check "worker 1's object shows its pid ($pid1)" test "${pid1#u }" = "$(worker_pids 1)"

workers_bytes() { # the sum of the workers' BytesSent
    local id r total=0
    for id in 1 2; do
        r=$(bctl get-property io.clusterd1 /io/clusterd1/worker/$id io.clusterd1.Worker BytesSent)
        total=$((total + ${r#t }))
    done
    echo "$total"
}
bytes_before=$(workers_bytes)
before=$(mgr_get RequestsTotal)
ab -q -n 500 -c 10 "http://127.0.0.1:$PORT/" >"$TMP/ab.txt" 2>&1
sent=$(awk '/^Complete requests:/ { print $3 }' "$TMP/ab.txt")
failed=$(awk '/^Failed requests:/ { print $3 }' "$TMP/ab.txt")
check "ab sent 500 requests, none failed (sent ${sent:-?}, failed ${failed:-?})" \
    test "${sent:-0}" = 500 -a "${failed:-1}" = 0

# the counters are the workers' last heartbeats: up to one interval (1 s) old
sleep 1.5
grown_by() {
    [ $(($(mgr_get RequestsTotal) - before)) -eq "$1" ]
}
wait_for 5 grown_by 500
after=$(mgr_get RequestsTotal)
check "RequestsTotal grew by 500 ($before -> $after)" test $((after - before)) -eq 500

sum=0
for id in 1 2; do
    r=$(bctl get-property io.clusterd1 /io/clusterd1/worker/$id io.clusterd1.Worker Requests)
    sum=$((sum + ${r#t }))
done
check "the workers' Requests add up to RequestsTotal ($sum)" test "$sum" -eq "$after"

bytes=$(($(workers_bytes) - bytes_before))
index_size=$(stat -c %s "$WWW/index.html")
# index.html is answered from each worker's in-memory cache after the first time
check "the workers' BytesSent grew by index.html's $index_size bytes 500 times ($bytes)" \
    test "$bytes" -eq $((500 * index_size))

rss=$(bctl get-property io.clusterd1 /io/clusterd1/worker/1 io.clusterd1.Worker MemoryRSSBytes)
check "worker 1 reports its memory (${rss#t } bytes)" test "${rss#t }" -gt 0

check "ConnectionsActive and WorkerRestarts read as 0 when idle" \
    test "$(mgr_get ConnectionsActive)/$(mgr_get WorkerRestarts)" = 0/0

finish
