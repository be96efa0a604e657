#!/usr/bin/env bash
# A reload that changes `workers`: the workers that were there are replaced
# exactly once each, new slots start once, and READY=1 (the end of the
# reload for systemd) comes only after every worker of the new count serves.
# Both reloads run under ab, and no request may fail.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# reload_to N KEPT: set workers = N in the config file, SIGHUP, and check the
# result; KEPT lists the worker ids that exist both before and after
reload_to() {
        local n=$1 kept=$2 logmark mark ready_at last_ready window replaced
        logmark=$(wc -l <"$LOG")
        mark=$(wc -l <"$NOTIFY_OUT")
        printf 'workers = %s\n' "$n" >"$CONF"
        kill -HUP "$CD_PID"
        # shellcheck disable=SC2317 # called through wait_for
        got_ready() { tail -n +"$((mark + 1))" "$NOTIFY_OUT" | cut -d' ' -f3- | grep -qx 'READY=1'; }
        wait_for 30 got_ready || die "workers $n: no READY=1 within 30 s of SIGHUP"
        window=$(tail -n +"$((logmark + 1))" "$LOG")

        check_match "workers $n: the log says the reload finished with $n/$n serving" \
                "reload finished: $n/$n workers serving" "$window"
        # READY=1's LOG-BYTES field: how much log existed when it arrived
        ready_at=$(tail -n +"$((mark + 1))" "$NOTIFY_OUT" | awk '$3 == "READY=1" { print $2; exit }')
        last_ready=$(grep -boE 'worker [0-9]+ pid [0-9]+ ready on' "$LOG" | tail -n 1 | cut -d: -f1)
        check_ge "workers $n: READY=1 came after the last worker reported ready" \
                "$((last_ready + 1))" "$ready_at"
        check_eq "workers $n: $n worker processes" "$n" "$(count_lines "$(worker_pids)")"
        replaced=$(grep -oE 'worker [0-9]+ pid [0-9]+ replaced by' <<<"$window" |
                awk '{ print $2 }' | sort | uniq -c | awk '{ print $1 }' | sort -u | xargs)
        check_eq "workers $n: no kept worker was replaced twice" 1 "$replaced"
        check_eq "workers $n: every kept worker was replaced" "$kept" \
                "$(grep -oE 'worker [0-9]+ pid [0-9]+ replaced by' <<<"$window" |
                        awk '{ print $2 }' | sort -nu | xargs)"
}

make_root
notify_start
PORT=$(free_port)
printf 'workers = 2\n' >"$CONF"
clusterd_start --log-level info
wait_serving 2
wait_for 10 notified '^READY=1$' || die "READY=1 never arrived"

# both reloads run under load; scaling must not cost a single request
AB_OUT=$TMP/ab.log
ab -r -s 10 -c 16 -t 12 -n 10000000 "http://127.0.0.1:$PORT/hello.txt" >"$AB_OUT" 2>&1 &
AB_PID=$!
track "$AB_PID"
sleep 0.5

reload_to 3 "1 2"
check_eq "workers 3: the new worker 3 was started once, not replaced" 1 \
        "$(grep -cE 'worker 3 pid [0-9]+ started' "$LOG")"
check_eq "workers 3: 'scaling from 2 to 3' is logged before worker 3 starts" \
        "scaling from 2 to 3 workers|worker 3 started" \
        "$(grep -oE 'scaling from 2 to 3 workers|worker 3 pid [0-9]+ started' "$LOG" |
                sed -E 's/ pid [0-9]+//' | paste -sd'|')"
reload_to 1 "1"
if alive "$AB_PID"; then
        pass "both reloads finished while ab was still running"
else
        fail "ab ended before the reloads finished (load too short to tell)"
fi
status=0
wait "$AB_PID" || status=$?
check_eq "ab exit status" 0 "$status"
completed=$(awk '/^Complete requests:/ { print $3 }' "$AB_OUT")
check_ge "ab completed requests under the reloads ($completed)" 1 "${completed:-0}"
check_match "scaling 2 -> 3 -> 1 under load: Failed requests: 0" '^Failed requests: +0$' \
        "$(cat "$AB_OUT")"
check_no_match "scaling 2 -> 3 -> 1 under load: no non-2xx responses" '^Non-2xx responses' \
        "$(cat "$AB_OUT")"
check_eq "site answers after scaling down by reload" 200 "$(http_code "http://127.0.0.1:$PORT/")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
