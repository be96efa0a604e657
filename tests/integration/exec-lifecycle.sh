#!/usr/bin/env bash
# Application workers are supervised like the built-in one, by their own
# signals: a kill -9 is replaced; a program that pinged the watchdog and then
# stops (SIGSTOP) is killed as hung within its heartbeat-timeout; one that
# never pinged is left to its exit; SIGTERM to clusterd lets a slow request
# in flight finish; a program that ignores SIGTERM is killed at its
# drain-timeout.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

APP=$(realpath "$(dirname "$0")/../../examples/python/app.py")
PY=/usr/bin/python3
make_root
notify_start
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 2 --heartbeat-interval 200ms --heartbeat-timeout 2s --exec "$PY $APP"
wait_serving 2

# kill -9: replaced, and ready again
victim=$(worker_pids | head -n 1)
kill -KILL "$victim"
# shellcheck disable=SC2317 # called through wait_for
replaced() {
        local pids p
        pids=$(worker_pids)
        [[ $(count_lines "$pids") == 2 ]] && ! grep -qx "$1" <<<"$pids" || return 1
        for p in $pids; do
                log_has "pid $p ready on" || return 1
        done
}
check_cmd "kill -9 of a program: replaced and ready within 5 s" wait_for 5 replaced "$victim"
check_cmd "the log says it was serving" log_has "pid $victim killed by signal KILL after serving"
check_eq "the site answers" 200 "$(http_code "$URL/")"

# SIGSTOP after WATCHDOG=1: hung within heartbeat-timeout (2 s)
victim=$(worker_pids | head -n 1)
sleep 1.2 # its first WATCHDOG=1 comes after half of WATCHDOG_USEC
t0=$(now_ms)
kill -STOP "$victim"
if wait_for 10 dead "$victim"; then
        elapsed=$(($(now_ms) - t0))
        check_le "SIGSTOPped program killed within 3500 ms (took $elapsed ms)" 3500 "$elapsed"
        # its last WATCHDOG=1 came at most 1 s before the SIGSTOP
        check_ge "... and not before its 2 s timeout" 950 "$elapsed"
else
        fail "SIGSTOPped program still there 10 s later"
fi
check_cmd "logged as hung, by its WATCHDOG=1" log_has "pid $victim: no WATCHDOG=1 for [0-9.]+s, killing it as hung"
check_cmd "and replaced" wait_for 5 replaced "$victim"

# SIGTERM with a slow request in flight: it finishes
curl -s --max-time 20 -o "$TMP/slow.out" -w '%{http_code}' "$URL/slow=3" >"$TMP/slow.code" &
curl_pid=$!
track "$curl_pid"
sleep 0.8
kill -TERM "$CD_PID"
status=0
wait "$curl_pid" || status=$?
check_eq "the slow request in flight at SIGTERM finished (curl exit)" 0 "$status"
check_eq "... with 200" 200 "$(cat "$TMP/slow.code")"
check_match "... and its body" '^hello from worker [12], pid [0-9]+$' "$(cat "$TMP/slow.out")"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
check_cmd "the programs said STOPPING=1" log_has 'worker [12] pid [0-9]+: stopping'
check_cmd "and drained" log_has 'worker [12] pid [0-9]+ drained and exited'

# a program that never pings is supervised by its exit alone
clusterd_start --workers 1 --heartbeat-interval 100ms --heartbeat-timeout 1s --exec-ready started \
        --drain-timeout 1s --exec "sleep 3600"
wait_serving 1
quiet=$(worker_pids)
sleep 2.5
check_eq "a program that never pinged the watchdog is not taken for hung" "$quiet" "$(worker_pids)"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
# SIGTERM ignored: killed at the drain timeout
clusterd_start --workers 1 --exec-ready started --drain-timeout 1s \
        --exec "$PY -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)'"
wait_serving 1
# shellcheck disable=SC2317 # called through wait_for
ignores_term() { (($(printf '%d' "0x$(awk '/^SigIgn/ { print $2 }' "/proc/$1/status")") & (1 << 14))); }
check_cmd "the program ignores SIGTERM" wait_for 5 ignores_term "$(worker_pids)"
t0=$(now_ms)
kill -TERM "$CD_PID"
if wait_exit "$CD_PID" 10; then
        elapsed=$(($(now_ms) - t0))
        check_le "a program that ignores SIGTERM is killed at its 1 s drain-timeout (took $elapsed ms)" 2500 "$elapsed"
        check_ge "... not before" 900 "$elapsed"
else
        fail "clusterd still waits 10 s after SIGTERM for a program that ignores it"
fi
check_cmd "the log says why" log_has 'still running after its drain timeout, killing it'
check_eq "no process left" "" "$(pgrep -f 'signal.SIG_IGN' || true)"
finish
