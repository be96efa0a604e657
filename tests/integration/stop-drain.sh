#!/usr/bin/env bash
# SIGTERM while slow downloads are in flight: they complete intact, the
# manager sends STOPPING=1, exits 0 and leaves no process behind.
#
# Two clients: curl --limit-rate, as an operator would try it, and slow_get,
# whose small receive window keeps the worker itself busy sending a file
# larger than the kernel's socket buffers, so the drain really has to wait.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
head -c $((2 * 1024 * 1024)) /dev/urandom >"$ROOT/big.bin"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$ROOT/huge.bin"
notify_start
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2

curl -s --limit-rate 200k --max-time 60 -o "$TMP/big.out" "http://127.0.0.1:$PORT/big.bin" \
        2>"$TMP/curl.log" &
curl_pid=$!
track "$curl_pid"
slow_get "$PORT" /huge.bin "$TMP/huge.out" $((1024 * 1024)) 2>"$TMP/slow_get.log" &
slow_pid=$!
track "$slow_pid"
# shellcheck disable=SC2317 # called through wait_for
got_some() {
        [[ -s $TMP/big.out && -s $TMP/huge.out ]] && (($(stat -c %s "$TMP/huge.out") >= 200000))
}
wait_for 20 got_some || die "the downloads did not start"

size_at_term=$(stat -c %s "$TMP/huge.out")
t0=$(now_ms)
kill -TERM "$CD_PID"
check_cmd "STOPPING=1 sent on SIGTERM" wait_for 5 notified '^STOPPING=1$'
check_cmd "EXTEND_TIMEOUT_USEC sent while draining" notified '^EXTEND_TIMEOUT_USEC=[0-9]+$'
check_cmd "STATUS says it is stopping" notified '^STATUS=.*stopping'
check_cmd "a worker still had the download's connection open when it began to drain" \
        wait_for 5 log_has 'worker [0-9]+: draining, [1-9][0-9]* connection\(s\) open'
check_cmd "manager still runs while the downloads are in flight" alive "$CD_PID"

status=0
wait "$curl_pid" || status=$?
check_eq "curl --limit-rate 200k: finished without error (exit status)" 0 "$status"
check_eq "curl --limit-rate 200k: 2 MiB intact (sha256)" "$(sha256sum <"$ROOT/big.bin")" \
        "$(sha256sum <"$TMP/big.out")"
status=0
wait "$slow_pid" || status=$?
why=$(tail -n1 "$TMP/slow_get.log")
check_eq "slow reader: finished without error (exit status${why:+; $why})" 0 "$status"
check_ge "slow reader: was under way at SIGTERM ($size_at_term of 6291456 bytes)" 1 \
        $((6291456 - size_at_term))
check_eq "slow reader: 6 MiB intact (sha256)" "$(sha256sum <"$ROOT/huge.bin")" \
        "$(sha256sum <"$TMP/huge.out")"

if wait_exit "$CD_PID" 10; then
        elapsed=$(($(now_ms) - t0))
        check_eq "manager exits 0 after the drain" 0 "$EXIT_STATUS"
        # an idle connection is closed 1 s into a drain: a longer wait means
        # the worker was still sending
        check_ge "manager waited for the downloads (exited $elapsed ms after SIGTERM)" 2000 "$elapsed"
else
        fail "manager still running 10 s after the downloads finished"
fi
check_cmd "log says it drained on SIGTERM" log_has 'SIGTERM: stopping, draining'
check_cmd "log says the workers drained and exited" log_has 'drained and exited'
check_no_match "no worker was killed at the drain timeout" 'drain timeout' "$(cat "$LOG")"
check_eq "no clusterd process left" "" "$(our_processes)"

# A download longer than the drain timeout is ended at the timeout, and the
# log says so rather than "drained"; the stop itself still succeeds.
PORT=$(free_port)
clusterd_start --workers 1 --drain-timeout 1s
wait_serving 1
slow_get "$PORT" /huge.bin "$TMP/cut.out" $((512 * 1024)) 2>"$TMP/slow_cut.log" &
track "$!"
# shellcheck disable=SC2317 # called through wait_for
cut_started() { [[ -s $TMP/cut.out ]] && (($(stat -c %s "$TMP/cut.out") >= 100000)); }
wait_for 20 cut_started || die "the download to be cut did not start"
kill -TERM "$CD_PID"
if wait_exit "$CD_PID" 15; then
        check_eq "drain timeout: the manager still exits 0" 0 "$EXIT_STATUS"
else
        fail "drain timeout: manager still running 15 s after SIGTERM"
fi
check_cmd "drain timeout: the log says the worker ended requests at the timeout" \
        log_has 'worker 1 pid [0-9]+ exited at the drain timeout, ending the requests still open'
check_no_match "drain timeout: the log does not call it drained" 'drained and exited' \
        "$(cat "$LOG")"
check_le "drain timeout: the download was cut short" 6291455 "$(stat -c %s "$TMP/cut.out")"
finish
