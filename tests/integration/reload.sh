#!/usr/bin/env bash
# SIGHUP under constant load (ab, without and with keep-alive): the workers are
# replaced one at a time, no request fails, every worker pid is new
# afterwards, and systemd hears RELOADING=1 and then READY=1.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# reload_under_load NAME REQUESTS [AB-ARGS...]: ab fetches an 11 KB page
reload_under_load() {
        local name=$1 n=$2 before after ab_pid ab_out=$TMP/ab-$1.log reloads mark logmark steps
        shift 2
        before=$(worker_pids)
        logmark=$(wc -l <"$LOG")
        reloads=$(grep -c 'reload finished' "$LOG" || true)
        mark=$(wc -l <"$NOTIFY_OUT")

        ab -r -s 10 "$@" -c 16 -n "$n" "http://127.0.0.1:$PORT/page.txt" >"$ab_out" 2>&1 &
        ab_pid=$!
        track "$ab_pid"
        # wait for the load to be going: ab reports each tenth done
        wait_for 30 grep -q '^Completed' "$ab_out" || die "$name: ab did not get going"
        kill -HUP "$CD_PID"
        # shellcheck disable=SC2317 # called through wait_for
        reload_done() { (($(grep -c 'reload finished' "$LOG" || true) > reloads)); }
        if wait_for 30 reload_done; then
                if alive "$ab_pid"; then
                        pass "$name: reload finished while ab was still running"
                else
                        fail "$name: ab ended before the reload finished (load too short to tell)"
                fi
        else
                fail "$name: no 'reload finished' in the log 30 s after SIGHUP"
        fi
        wait "$ab_pid" || fail "$name: ab exited with status $?"

        check_match "$name: ab completed all $n requests" "^Complete requests: +$n\$" "$(cat "$ab_out")"
        check_match "$name: Failed requests: 0" '^Failed requests: +0$' "$(cat "$ab_out")"
        check_no_match "$name: no non-2xx responses" '^Non-2xx responses' "$(cat "$ab_out")"

        after=$(worker_pids)
        check_eq "$name: still 2 workers after the reload" 2 "$(count_lines "$after")"
        check_eq "$name: every worker pid is new (before: $(xargs <<<"$before"); after: $(xargs <<<"$after"))" \
                "" "$(comm -12 <(echo "$before") <(echo "$after"))"

        # one at a time: start a new worker, see it ready, drain an old one, next
        steps=$(tail -n +"$((logmark + 1))" "$LOG" | sed -n '/reloading: replacing workers/,/reload finished/p' |
                grep -oE 'pid [0-9]+ started$|pid [0-9]+ ready on|replaced by pid' |
                sed -E 's/.*started$/start /; s/.*ready on/ready /; s/replaced by pid/drain-old /' | tr -d '\n')
        check_eq "$name: workers replaced one at a time" \
                "start ready drain-old start ready drain-old " "$steps"

        local notes
        notes=$(tail -n +"$((mark + 1))" "$NOTIFY_OUT" | cut -d' ' -f3- | grep -nE '^(RELOADING|READY)=1$' | xargs)
        check_match "$name: RELOADING=1 then READY=1 on the notify socket (got: $notes)" \
                '^[0-9]+:RELOADING=1 [0-9]+:READY=1$' "$notes"
        check_match "$name: STATUS said which worker was being replaced" \
                '^STATUS=2/2 workers, .*; reloading \(worker [12]\)$' \
                "$(tail -n +"$((mark + 1))" "$NOTIFY_OUT" | cut -d' ' -f3-)"
}

check_log_and_stop() {
        check_cmd "$1: log says the replaced workers drained and exited" \
                log_has 'pid [0-9]+ drained and exited'
        check_no_match "$1: log says no worker died unexpectedly" \
                'killed by signal|exited with status [1-9]' "$(cat "$LOG")"
        kill -TERM "$CD_PID"
        wait_exit "$CD_PID" 20 || die "$1: clusterd did not stop within 20s"
        check_eq "$1: SIGTERM: exit status 0" 0 "$EXIT_STATUS"
}

make_root
# a page of a realistic size
head -c 8192 /dev/urandom | base64 >"$ROOT/page.txt"
notify_start
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2
wait_for 10 notified '^READY=1$' || die "READY=1 never arrived"

reload_under_load "ab -c 16 (new connection per request)" 10000
reload_under_load "ab -k -c 16 (keep-alive)" 30000 -k
check_log_and_stop standalone

# the same with one socket shared by all workers, as systemd passes it
: >"$NOTIFY_OUT"
PORT=$(free_port)
clusterd_start_activated --workers 2
check_eq "socket-activated: first request 200" 200 "$(http_code "http://127.0.0.1:$PORT/" --max-time 20)"
wait_serving 2
wait_for 10 notified '^READY=1$' || die "socket-activated: READY=1 never arrived"
reload_under_load "socket-activated, ab -c 16" 10000
check_log_and_stop socket-activated
finish
