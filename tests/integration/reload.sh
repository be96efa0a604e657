#!/usr/bin/env bash
# SIGHUP under constant load (ab, without and with keep-alive): the workers are
# replaced one at a time, no request fails, every worker pid is new
# afterwards, and systemd hears RELOADING=1 and then READY=1.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# ab_connected: ab has a connection open to the server
# shellcheck disable=SC2317 # called through wait_for
ab_connected() {
        [[ -n $(ss -Htn state established "( dport = :$PORT )") ]]
}

# reload_under_load NAME [AB-ARGS...]: ab fetches an 11 KB page, 16 at a
# time, from before the SIGHUP until the reload has finished, however fast
# the machine: it has no request count to reach, and is stopped with SIGINT
# (on which ab prints its report) once the log says the reload finished.
reload_under_load() {
        local name=$1 before after ab_pid ab_out=$TMP/ab-$1.log reloads mark logmark steps
        shift
        before=$(worker_pids)
        logmark=$(wc -l <"$LOG")
        reloads=$(grep -c 'reload finished' "$LOG" || true)
        mark=$(wc -l <"$NOTIFY_OUT")

        # -t before -n: -t alone would cap the run at 50,000 requests
        ab -r -s 10 "$@" -c 16 -t 100 -n 2000000 "http://127.0.0.1:$PORT/page.txt" >"$ab_out" 2>&1 &
        ab_pid=$!
        track "$ab_pid"
        wait_for 30 ab_connected || die "$name: ab did not get going"
        kill -HUP "$CD_PID"
        # shellcheck disable=SC2317 # called through wait_for
        reload_done() { (($(grep -c 'reload finished' "$LOG" || true) > reloads)); }
        if wait_for 30 reload_done; then
                if alive "$ab_pid"; then
                        pass "$name: reload finished while ab was still running"
                else
                        fail "$name: ab ended before the reload finished"
                fi
        else
                fail "$name: no 'reload finished' in the log 30 s after SIGHUP"
        fi
        kill -INT "$ab_pid" 2>/dev/null || true
        wait "$ab_pid" || true # 1 after SIGINT; the report tells what happened

        check_match "$name: ab completed requests and reported them" \
                '^Complete requests: +[1-9][0-9]*$' "$(cat "$ab_out")"
        check_match "$name: Failed requests: 0 ($(grep -m1 '^Complete requests' "$ab_out" || true))" \
                '^Failed requests: +0$' "$(cat "$ab_out")"
        check_no_match "$name: no non-2xx responses" '^Non-2xx responses' "$(cat "$ab_out")"

        after=$(worker_pids)
        check_eq "$name: still 2 workers after the reload" 2 "$(count_lines "$after")"
        check_eq "$name: every worker pid is new (before: $(xargs <<<"$before"); after: $(xargs <<<"$after"))" \
                "" "$(comm -12 <(sort <<<"$before") <(sort <<<"$after"))"

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

reload_under_load "ab -c 16 (new connection per request)"
reload_under_load "ab -k -c 16 (keep-alive)" -k
check_log_and_stop standalone

# the same with one socket shared by all workers, as systemd passes it
: >"$NOTIFY_OUT"
PORT=$(free_port)
clusterd_start_activated --workers 2
check_eq "socket-activated: first request 200" 200 "$(http_code "http://127.0.0.1:$PORT/" --max-time 20)"
wait_serving 2
wait_for 10 notified '^READY=1$' || die "socket-activated: READY=1 never arrived"
reload_under_load "socket-activated, ab -c 16"
check_log_and_stop socket-activated
finish
