#!/usr/bin/env bash
# A reload whose new config makes workers fail to start (here: a document root
# the worker cannot open, though the manager can stat it) ends as failed once
# the first rolled slot has crashed crash-loop-limit times: READY=1 again, a
# STATUS that says so, the old workers keep serving, the roll does not go on
# to worker 2, and the next reload works. A failed reload to more workers
# goes back to the previous config and worker count, and every socket is
# served again.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# worker_pid_of ID: the pid the log last says worker ID started with
worker_pid_of() {
        grep -oE "worker $1 pid [0-9]+ started" "$LOG" | tail -n 1 | awk '{ print $4 }'
}

count_log() {
        grep -cE -- "$1" "$LOG" || true
}

notes_since() {
        tail -n +"$(($1 + 1))" "$NOTIFY_OUT" | cut -d' ' -f3-
}

start_for_failing_reloads
w1=$(worker_pid_of 1)
w2=$(worker_pid_of 2)

# ---- the failing reload ----
mark=$(wc -l <"$NOTIFY_OUT")
write_reload_conf "$UNREADABLE"
t0=$(now_ms)
kill -HUP "$CD_PID"
# shellcheck disable=SC2317 # called through wait_for
ready_again() { notes_since "$mark" | grep -qx 'READY=1'; }
if wait_for 8 ready_again; then
        pass "READY=1 after the failed reload (took $(($(now_ms) - t0)) ms)"
else
        fail "no READY=1 within 8 s of a reload whose workers cannot start"
fi
check_cmd "log says a worker failed to start with the new root" \
        log_has "cannot start HTTP .* with root $UNREADABLE"
check_cmd "log says why the reload failed" \
        log_has 'reload failed: worker 1 did not start with the new configuration \(3 failures'
notes=$(notes_since "$mark")
check_match "RELOADING=1, then READY=1" \
        '^RELOADING=1 READY=1$' "$(grep -E '^(RELOADING|READY)=1$' <<<"$notes" | xargs)"
check_match "STATUS says the reload failed" \
        '^STATUS=2/2 workers, .*; reload 1 failed: worker 1 did not start$' "$notes"
sleep 1 # would a respawn with the broken config or a next roll step come?
check_eq "the failure is logged once" 1 "$(count_log 'reload failed')"
check_eq "worker 1 got no more tries after the failure" 3 \
        "$(tail -n +"$(grep -n 'reloading: replacing' "$LOG" | tail -n 1 | cut -d: -f1)" "$LOG" |
                grep -cE 'worker 1 pid [0-9]+ started' || true)"
check_eq "the roll did not go on to worker 2" "$w2" "$(worker_pid_of 2)"
check_eq "both old workers still run ($w1 $w2)" "$(printf '%s\n' "$w1" "$w2" | sort -n | xargs)" \
        "$(worker_pids | xargs)"
check_eq "site answers after the failed reload" 200 "$(http_code "http://127.0.0.1:$PORT/")"

# ---- the next reload, with the config fixed, works ----
mark=$(wc -l <"$NOTIFY_OUT")
write_reload_conf "$ROOT"
kill -HUP "$CD_PID"
wait_for 8 ready_again || fail "no READY=1 within 8 s of the reload after the failed one"
check_cmd "the next reload finished" log_has 'reload finished: 2/2 workers serving'
check_match "STATUS says the next reload is done" '^STATUS=2/2 workers, .*; reload 2 done$' \
        "$(notes_since "$mark")"
after=$(worker_pids | xargs)
check_eq "two workers after the next reload ($after)" 2 "$(wc -w <<<"$after")"
check_eq "both workers were replaced ($w1 $w2 -> $after)" "" \
        "$(comm -12 <(printf '%s\n' "$w1" "$w2" | sort) <(tr ' ' '\n' <<<"$after" | sort))"
check_eq "site answers after the next reload" 200 "$(http_code "http://127.0.0.1:$PORT/")"

# ---- a failed reload to more workers goes back to the previous config ----
# Four workers mean four SO_REUSEPORT sockets. Kept after the failure, two of
# them would be served by nobody, and the connections the kernel hashed there
# would hang.
mark=$(wc -l <"$NOTIFY_OUT")
printf 'root = %s\nworkers = 4\ncrash-loop-limit = 3\nrestart-backoff-max = 200ms\n' \
        "$UNREADABLE" >"$CONF"
kill -HUP "$CD_PID"
wait_for 8 ready_again || fail "no READY=1 within 8 s of a failed reload to 4 workers"
check_match "STATUS says the reload to 4 workers failed" \
        '^STATUS=.*; reload 3 failed: worker [0-9] did not start$' "$(notes_since "$mark")"
check_cmd "log says it went back to the previous configuration" \
        log_has 'back to the previous configuration, 2 worker\(s\)'
# shellcheck disable=SC2317 # called through wait_for
two_workers() { [[ $(worker_pids | wc -l) == 2 ]]; }
wait_for 10 two_workers || true
check_eq "two workers again after the failed reload ($(worker_pids | xargs))" 2 \
        "$(worker_pids | wc -l)"
codes=""
for _ in $(seq 40); do
        codes+=$(http_code "http://127.0.0.1:$PORT/" --max-time 2)
done
check_eq "40 new connections after the failed reload: all answered" \
        "$(printf '200%.0s' $(seq 40))" "$codes"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
