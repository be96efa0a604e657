#!/usr/bin/env bash
# When every worker slot keeps crashing (here: the document root is gone, so
# no new worker can start), the manager gives up and exits non-zero, so that
# systemd's Restart= can take over.
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
        check_ge "manager exits non-zero (got $EXIT_STATUS)" 1 "$EXIT_STATUS"
        check_le "manager gave up within 5000 ms (took $elapsed ms)" 5000 "$elapsed"
else
        fail "manager still running 15 s after its root went away and its workers were killed"
fi
check_cmd "log says workers failed to start" log_has 'cannot start HTTP .* with root'
check_cmd "log says backing off" log_has 'crashed [0-9]+ times in a row, restarting it in'
check_cmd "log says every worker is crash-looping" log_has 'all 2 workers are crash-looping'
check_cmd "STATUS said degraded while backing off" notified '^STATUS=.*degraded: worker [0-9]+ crash-looping'
check_cmd "STOPPING=1 sent before exiting" notified '^STOPPING=1$'
check_eq "site no longer answers" 000 "$(http_code "http://127.0.0.1:$PORT/" --max-time 2)"
check_eq "no clusterd process left" "" "$(our_processes)"
finish
