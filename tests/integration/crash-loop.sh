#!/usr/bin/env bash
# When every worker slot keeps failing to start (here: the document root is
# gone, so no new worker can open it), the manager gives up once every slot
# has failed crash-loop-limit starts in a row, and exits non-zero, so
# that systemd's Restart= can take over. Workers that served and were then
# killed do not count as failed starts.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
notify_start
PORT=$(free_port)
clusterd_start --workers 2 --crash-loop-limit 3 --restart-backoff-max 200ms
wait_serving 2
check_eq "site answers before the root is removed" 200 "$(http_code "http://127.0.0.1:$PORT/")"

rm -rf "$ROOT"
t0=$(now_ms)
mapfile -t pids < <(worker_pids)
kill -KILL "${pids[@]}"
if wait_exit "$CD_PID" 15; then
        elapsed=$(($(now_ms) - t0))
        check_eq "manager exits 1" 1 "$EXIT_STATUS"
        check_le "manager gave up within 5000 ms (took $elapsed ms)" 5000 "$elapsed"
else
        fail "manager still running 15 s after its root went away and its workers were killed"
fi
# A worker that has failed 3 times goes on being retried while another has
# not: the manager gives up when the last one reaches 3, not before, so each
# worker fails at least 3 times and the one with the fewest exactly 3.
fewest=
for id in 1 2; do
        check_cmd "worker $id: the kill of the serving worker is logged as such" \
                log_has "worker $id pid [0-9]+ killed by signal KILL after serving"
        starts=$(grep -cE "worker $id pid [0-9]+ exited with status 1 before it was ready" "$LOG" || true)
        check_ge "worker $id: at least 3 failed starts before giving up (had $starts)" 3 "$starts"
        check_cmd "worker $id: the third is counted as the third in a row" \
                log_has "worker $id pid [0-9]+ exited with status 1 before it was ready: 3 failed starts? in a row"
        if [[ -z $fewest ]] || ((starts < fewest)); then
                fewest=$starts
        fi
done
check_eq "the worker with the fewest: exactly 3 failed starts" 3 "$fewest"
check_cmd "log says workers failed to start" log_has 'cannot start HTTP .* with root'
check_cmd "log says it backs off" log_has 'failed starts? in a row, retrying in 0\.[12]s'
check_cmd "log says why it gives up" log_has 'giving up: every worker failed to start 3 times in a row'
check_cmd "STATUS said which case it was" \
        notified '^STATUS=.*degraded: worker [0-9]+ failed to start, [0-9]+ times? in a row'
check_cmd "STOPPING=1 sent before exiting" notified '^STOPPING=1$'
check_eq "site no longer answers" 000 "$(http_code "http://127.0.0.1:$PORT/" --max-time 2)"
check_eq "no clusterd process left" "" "$(our_processes)"
finish
