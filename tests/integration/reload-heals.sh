#!/usr/bin/env bash
# A reload that arrives while a worker slot is crash-looping (waiting out its
# backoff) gives that slot the new config and finishes once it serves: the
# slot's failures from before the reload do not fail the reload.
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

# Kill worker 2 as soon as each replacement starts, until its respawn waits
# 1.6 s: five crashes in a row, past crash-loop-limit.
for n in 1 2 3 4 5 6; do
        pid=$(worker_pid_of 2)
        kill -KILL "$pid" 2>/dev/null || true
        wait_log "restarting it in 1.6s" 1 && break
        # shellcheck disable=SC2317 # called through wait_for
        restarted() { [[ $(worker_pid_of 2) != "$pid" ]]; }
        wait_for 5 restarted || die "worker 2 was not restarted after kill $n"
done
check_cmd "worker 2 is crash-looping, its respawn 1.6 s away" log_has 'restarting it in 1.6s'

mark=$(wc -l <"$NOTIFY_OUT")
kill -HUP "$CD_PID"
# shellcheck disable=SC2317 # called through wait_for
ready_again() { tail -n +"$((mark + 1))" "$NOTIFY_OUT" | cut -d' ' -f3- | grep -qx 'READY=1'; }
wait_for 10 ready_again || fail "no READY=1 within 10 s of the reload"
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
