#!/usr/bin/env bash
# A storm of outside kills (20 SIGKILLs in 4 s, as an OOM killer or a
# careless script might deal them) against a standalone clusterd under load:
# every serving worker that dies is replaced at once, the manager never gives
# up, the service serves again within a second of the last kill, and what the
# killed workers served is not lost from STATUS's request total.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
notify_start
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# the defaults but for the heartbeat, whose 1 s interval would have hidden
# counters lost between heartbeats less well
clusterd_start --workers 2 --crash-loop-limit 3
wait_serving 2

wrk -t1 -c8 -d7s "$URL/hello.txt" >"$TMP/wrk.out" 2>&1 &
wrk_pid=$!
track "$wrk_pid"
sleep 1
for _ in $(seq 20); do
        mapfile -t pids < <(worker_pids)
        if ((${#pids[@]})); then
                kill -KILL "${pids[RANDOM % ${#pids[@]}]}" 2>/dev/null || true
        fi
        sleep 0.2
done
t_last=$(now_ms)

# shellcheck disable=SC2317 # called through wait_for
serving_again() {
        local pids p
        pids=$(worker_pids)
        [[ $(count_lines "$pids") == 2 ]] || return 1
        for p in $pids; do
                log_has "pid $p ready on" || return 1
        done
}
if wait_for 5 serving_again; then
        elapsed=$(($(now_ms) - t_last))
        check_le "both workers serve again within 1000 ms of the last kill (took $elapsed ms)" \
                1000 "$elapsed"
else
        fail "not 2 ready workers 5 s after the last kill ($(worker_pids | xargs))"
fi
check_cmd "the manager still runs" alive "$CD_PID"
kills=$(grep -cE 'killed by signal KILL after serving' "$LOG" || true)
check_eq "every kill was of a serving worker and logged as such" 20 "$kills"
check_no_match "no kill counted as a failed start" 'before it was ready' "$(cat "$LOG")"
check_no_match "the manager did not give up" 'giving up' "$(cat "$LOG")"
check_eq "the site answers" 200 "$(http_code "$URL/")"

wait "$wrk_pid" || true
served=$(sed -n 's/^ *\([0-9]\+\) requests in .*/\1/p' "$TMP/wrk.out")
[[ -n $served ]] || die "wrk printed no request count: $(tr '\n' '|' <"$TMP/wrk.out")"
# the check timer publishes STATUS four times a second
sleep 1
status_total=$(cut -d' ' -f3- "$NOTIFY_OUT" | sed -n 's/^STATUS=[0-9]*\/[0-9]* workers, \([0-9]*\) requests.*/\1/p' | tail -n 1)
# a worker counts an answer once it is sent: a kill between the two loses
# that one, and one killed while answering counted it but its client never
# saw it (at most one per connection per kill)
check_ge "STATUS counts what wrk saw answered ($served), less at most one per kill" \
        $((served - 20)) "$status_total"
check_le "STATUS counts no more than wrk saw, give or take the kills ($served)" \
        $((served + 20 * 8 + 1)) "$status_total"
check_match "STATUS counts 20 restarts" '^STATUS=2/2 workers, [0-9]+ requests, 20 restarts' \
        "$(cut -d' ' -f3- "$NOTIFY_OUT" | grep '^STATUS=' | tail -n 1)"
echo "# wrk answered $served requests, STATUS counted $status_total"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
