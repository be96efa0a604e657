#!/usr/bin/env bash
# SIGINT to the whole process group, as Ctrl-C in a terminal sends it: the
# manager drains (an in-flight download still completes) and exits 0.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
head -c $((6 * 1024 * 1024)) /dev/urandom >"$ROOT/huge.bin"
notify_start
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2

slow_get "$PORT" /huge.bin "$TMP/huge.out" $((2 * 1024 * 1024)) 2>"$TMP/slow_get.log" &
slow_pid=$!
track "$slow_pid"
wait_for 20 test -s "$TMP/huge.out" || die "the download did not start"

check_eq "clusterd leads its own process group" "$CD_PID" "$(ps -o pgid= -p "$CD_PID" | xargs)"
t0=$(now_ms)
kill -INT -- "-$CD_PID"
check_cmd "STOPPING=1 sent on SIGINT" wait_for 5 notified '^STOPPING=1$'
check_cmd "a worker still had the download's connection open when it began to drain" \
        wait_for 5 log_has 'worker [0-9]+: draining, [1-9][0-9]* connection\(s\) open'

status=0
wait "$slow_pid" || status=$?
why=$(tail -n1 "$TMP/slow_get.log")
check_eq "the in-flight download finished (exit status${why:+; $why})" 0 "$status"
check_cmd "the download is intact" cmp -s "$ROOT/huge.bin" "$TMP/huge.out"
if wait_exit "$CD_PID" 10; then
        elapsed=$(($(now_ms) - t0))
        check_eq "manager exits 0" 0 "$EXIT_STATUS"
        check_ge "manager waited for the download (exited $elapsed ms after SIGINT)" 1000 "$elapsed"
else
        fail "manager still running 10 s after SIGINT and the download"
fi
check_cmd "log says it stopped on SIGINT" log_has 'SIGINT: stopping, draining'
check_no_match "no worker was killed or crashed" 'killed by signal|exited with status [1-9]' "$(cat "$LOG")"
check_eq "no clusterd process left" "" "$(our_processes)"
finish
