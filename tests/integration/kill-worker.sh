#!/usr/bin/env bash
# A worker killed with SIGKILL is replaced within a second: a new pid, the same
# number of workers, and the site keeps answering.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# shellcheck disable=SC2317 # called through wait_for
# repaired N OLD-PID: N workers run, OLD-PID is not one of them, and every
# one has been reported ready
repaired() {
        local pids p
        pids=$(worker_pids)
        [[ $(count_lines "$pids") == "$1" ]] || return 1
        ! grep -qx "$2" <<<"$pids" || return 1
        for p in $pids; do
                log_has "pid $p ready on" || return 1
        done
}

make_root
notify_start
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 2
wait_serving 2

# each round kills one of the first workers, so both slots lose one
first=$(worker_pids)
for round in 1 2; do
        before=$(worker_pids)
        victim=$(sed -n "${round}p" <<<"$first")
        t0=$(now_ms)
        kill -KILL "$victim"
        if wait_for 5 repaired 2 "$victim"; then
                elapsed=$(($(now_ms) - t0))
                check_le "kill -9 worker pid $victim: replaced and ready within 1000 ms (took $elapsed ms)" \
                        1000 "$elapsed"
        else
                fail "kill -9 worker pid $victim: not replaced within 5 s (workers now: $(worker_pids | xargs))"
        fi
        after=$(worker_pids)
        new=$(comm -13 <(sort <<<"$before") <(sort <<<"$after") | xargs)
        check_match "kill -9 worker pid $victim: a new worker pid ($new)" '^[0-9]+$' "$new"
        check_eq "kill -9 worker pid $victim: still 2 workers" 2 "$(count_lines "$after")"
        check_cmd "kill -9 worker pid $victim: the manager logged the death" \
                log_has "pid $victim killed by signal KILL"
        check_eq "kill -9 worker pid $victim: site answers" 200 "$(http_code "$URL/")"
done
check_cmd "STATUS says 2/2 workers and 2 restarts" \
        wait_for 5 notified '^STATUS=2/2 workers, [0-9]+ requests, 2 restarts$'
check_cmd "manager still runs" alive "$CD_PID"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
