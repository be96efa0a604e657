#!/usr/bin/env bash
# A worker whose event loop stops (SIGSTOP) misses its heartbeats and is
# killed and replaced once the heartbeat timeout has passed, not before.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 2 --heartbeat-interval 200ms --heartbeat-timeout 2s
wait_serving 2

before=$(worker_pids)
victim=$(head -n1 <<<"$before")
t0=$(now_ms)
kill -STOP "$victim"
if wait_for 10 dead "$victim"; then
        elapsed=$(($(now_ms) - t0))
        check_le "SIGSTOPped worker pid $victim: killed within 3500 ms (took $elapsed ms)" 3500 "$elapsed"
        check_ge "SIGSTOPped worker pid $victim: not killed long before the 2 s timeout" \
                1200 "$elapsed"
else
        fail "SIGSTOPped worker pid $victim: still there 10 s later"
fi
check_cmd "the manager logged it as hung" log_has "pid $victim: no heartbeat for [0-9.]+s, killing it as hung"

# shellcheck disable=SC2317 # called through wait_for
ready_again() {
        local pids
        pids=$(worker_pids)
        [[ $(count_lines "$pids") == 2 ]] && ! grep -qx "$victim" <<<"$pids" &&
                log_has "pid $(comm -13 <(sort <<<"$before") <(sort <<<"$pids") | head -n1) ready on"
}
check_cmd "a new worker replaced it and is ready" wait_for 5 ready_again
after=$(worker_pids)
check_match "the replacement has a new pid" '^[0-9]+$' "$(comm -13 <(sort <<<"$before") <(sort <<<"$after") | xargs)"
codes=$(for _ in $(seq 20); do http_code "$URL/" -H 'Connection: close'; echo; done | sort | uniq -c | xargs)
check_eq "20 fresh connections afterwards all get 200" "20 200" "$codes"
check_cmd "the other worker was left alone" alive "$(tail -n1 <<<"$before")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
