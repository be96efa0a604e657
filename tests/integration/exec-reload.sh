#!/usr/bin/env bash
# shellcheck disable=SC2016 # checks are run through eval
# Rolling reloads of application workers: under ab load every program is
# replaced, one at a time, each new one ready (READY=1) before the old one
# gets SIGTERM, with no failed request; a reload to a program that exits at
# once, or that never says READY=1, fails and leaves the old ones serving;
# a reload to a program that does not exist is refused.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

APP=$(realpath "$(dirname "$0")/../../examples/python/app.py")
ODD=$(realpath "$(dirname "$0")/../apps/odd.py")
PY=/usr/bin/python3

# conf EXEC: 2 application workers running EXEC
conf() {
        printf 'workers = 2\ncrash-loop-limit = 3\nrestart-backoff-max = 200ms\nexec-ready-timeout = 3s\nexec = %s\n' \
                "$1" >"$CONF"
}

# shellcheck disable=SC2317 # called through wait_for
ab_connected() { [[ -n $(ss -Htn state established "( dport = :$PORT )") ]]; }

# more_than REGEX N: the log has more than N lines matching REGEX
# shellcheck disable=SC2317 # called through wait_for
more_than() { (($(grep -cE -- "$1" "$LOG" || true) > $2)); }

# reload_note: how the last reload ended, from the last STATUS line
reload_note() {
        cut -d' ' -f3- "$NOTIFY_OUT" | grep '^STATUS=' | tail -n 1 | sed -n 's/.*; \(reload .*\)$/\1/p'
}

make_root
notify_start
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
conf "$PY $APP"
LOG=$TMP/clusterd.log
: >"$LOG"
spawn "$LOG" env "NOTIFY_SOCKET=$NOTIFY_PATH" "$CLUSTERD" --config "$CONF" --listen "127.0.0.1:$PORT"
CD_PID=$SPAWNED
wait_serving 2

before=$(worker_pids)
ab -l -r -s 10 -c 8 -t 100 -n 2000000 "$URL/" >"$TMP/ab.out" 2>&1 &
ab_pid=$!
track "$ab_pid"
wait_for 30 ab_connected || die "ab did not get going"
sleep 0.5
kill -HUP "$CD_PID"
check_cmd "the reload finished" wait_log 'reload finished' 30
sleep 0.5
kill -INT "$ab_pid" 2>/dev/null || true
wait "$ab_pid" || true
check_match "ab completed requests" '^Complete requests: +[1-9][0-9]*$' "$(cat "$TMP/ab.out")"
check_match "Failed requests: 0 ($(grep -m1 '^Complete requests' "$TMP/ab.out" || true))" \
        '^Failed requests: +0$' "$(cat "$TMP/ab.out")"
check_no_match "no non-2xx responses" '^Non-2xx responses' "$(cat "$TMP/ab.out")"
# shellcheck disable=SC2317 # called through wait_for
two_left() { [[ $(count_lines "$(worker_pids)") == 2 ]]; }
check_cmd "the old programs finish and exit: 2 left" wait_for 10 two_left
after=$(worker_pids)
check_eq "every program's pid is new" "" "$(comm -12 <(sort <<<"$before") <(sort <<<"$after"))"
steps=$(sed -n '/reloading: replacing workers/,/reload finished/p' "$LOG" |
        grep -oE 'pid [0-9]+ started$|pid [0-9]+ ready on|replaced by pid' |
        sed -E 's/.*started$/start /; s/.*ready on/ready /; s/replaced by pid/term-old /' |
        tr -d '\n')
check_match "one at a time: a new one ready before the old one gets SIGTERM ($steps)" \
        '^start ready term-old start ready term-old $' "$steps"
check_eq "STATUS: reload 1 done" "reload 1 done" "$(reload_note)"

# a program that exits at once: the reload fails, the old programs serve on
serving=$(worker_pids)
conf "$PY $ODD exit"
kill -HUP "$CD_PID"
check_cmd "a reload to a program that exits at once fails" wait_log 'reload failed' 15
check_cmd "... and goes back to the previous configuration" wait_log 'back to the previous configuration' 5
check_cmd "STATUS says the reload failed" wait_for 5 eval '[[ "$(reload_note)" == "reload 2 failed: worker 1 did not start" ]]'
check_eq "the old programs still serve, untouched" "$serving" "$(worker_pids)"
check_match "the site answers from them" '^hello from worker' "$(curl -s --max-time 5 "$URL/")"

# a program that never says READY=1: fails within its exec-ready-timeout
conf "$PY $ODD silent"
t0=$(now_ms)
failed=$(grep -c 'reload failed' "$LOG" || true)
kill -HUP "$CD_PID"
if wait_for 15 more_than 'reload failed' "$failed"; then
        check_le "a reload to a program that stays silent fails at its first 3 s timeout, not after 3 of them (took $(($(now_ms) - t0)) ms)" \
                6000 $(($(now_ms) - t0))
else
        fail "a reload to a silent program did not fail within 15 s"
fi
check_cmd "... killing it as not ready" log_has 'not ready [0-9.]+s after it started, killing it'
check_cmd "the old programs still serve, and only they" wait_for 10 eval '[[ "$(worker_pids)" == "$serving" ]]'


# a program that is not there: refused, nothing changes
conf "/no/such/program"
kill -HUP "$CD_PID"
check_cmd "a reload to a missing program is refused, naming it" \
        wait_log "reload refused, keeping the running configuration: exec '/no/such/program': No such file or directory" 5
sleep 0.5
check_eq "the programs are the same" "$serving" "$(worker_pids)"
check_eq "the site answers" 200 "$(http_code "$URL/")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
