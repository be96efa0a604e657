#!/usr/bin/env bash
# A reload that arrives while a worker slot fails to start (waiting out its
# backoff) gives that slot the new config at once and finishes once it
# serves: the slot's failures from before the reload do not fail the reload,
# nor does the reload wait for the backoff. Here the document root is moved
# away, so that worker 2's replacements cannot open it while worker 1 keeps
# serving from the root it holds open; an operator puts it back and reloads.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
notify_start
PORT=$(free_port)
# a long backoff cap, so that the slot is still waiting when the reload comes
printf 'root = %s\nworkers = 2\ncrash-loop-limit = 3\nrestart-backoff-max = 3s\n' "$ROOT" >"$CONF"
LOG=$TMP/clusterd.log
: >"$LOG"
spawn "$LOG" env "NOTIFY_SOCKET=$NOTIFY_PATH" "$CLUSTERD" --config "$CONF" \
        --listen "127.0.0.1:$PORT"
CD_PID=$SPAWNED
wait_serving 2

# worker_pid_of ID: the pid the log last says worker ID started with
worker_pid_of() {
        grep -oE "worker $1 pid [0-9]+ started" "$LOG" | tail -n 1 | awk '{ print $4 }'
}

mv "$ROOT" "$ROOT.away"
kill -KILL "$(worker_pid_of 2)"
check_cmd "worker 2 fails to start, its next try 1.6 s away" \
        wait_log 'worker 2 pid [0-9]+ .* before it was ready: 6 failed starts in a row, retrying in 1\.6s' 10
check_cmd "the manager did not give up while worker 1 serves" alive "$CD_PID"
# a connection hashed to worker 2's socket waits in its backlog until a
# worker 2 serves again: try fresh ones until worker 1's socket takes one
answered=000
for _ in $(seq 20); do
        answered=$(http_code "http://127.0.0.1:$PORT/hello.txt" --max-time 1 -H 'Connection: close')
        [[ $answered == 200 ]] && break
done
check_eq "worker 1 still answers" 200 "$answered"

mv "$ROOT.away" "$ROOT"
mark=$(wc -l <"$NOTIFY_OUT")
t0=$(now_ms)
kill -HUP "$CD_PID"
# shellcheck disable=SC2317 # called through wait_for
ready_again() { tail -n +"$((mark + 1))" "$NOTIFY_OUT" | cut -d' ' -f3- | grep -qx 'READY=1'; }
if wait_for 10 ready_again; then
        elapsed=$(($(now_ms) - t0))
        check_le "the reload did not wait out the 1.6 s backoff (took $elapsed ms)" 1400 "$elapsed"
else
        fail "no READY=1 within 10 s of the reload"
fi
check_match "STATUS: the reload is done" '^STATUS=2/2 workers, .*; reload 1 done$' \
        "$(tail -n +"$((mark + 1))" "$NOTIFY_OUT" | cut -d' ' -f3- | grep '^STATUS=' | tail -n 1)"
check_cmd "the log says the reload finished" log_has 'reload finished: 2/2 workers serving'
check_eq "the reload did not fail" 0 "$(grep -c 'reload failed' "$LOG" || true)"
check_eq "two workers serve" 2 "$(worker_pids | wc -l)"
check_eq "the site answers" 200 "$(http_code "http://127.0.0.1:$PORT/")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
