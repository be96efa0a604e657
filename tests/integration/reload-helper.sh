#!/usr/bin/env bash
# service/clusterd-reload, the ExecReload= helper, on its SIGHUP path (no
# D-Bus API): it exits 0 for a reload that finished, non-zero for one that was
# refused or failed, and gives up after CLUSTERD_RELOAD_TIMEOUT real seconds
# even when each poll is slow. systemctl is a stand-in that shows the last
# STATUS= clusterd sent; busctl one that finds no bus. RELOAD_HELPER may name
# another copy of the script to test.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

HELPER=$(realpath "${RELOAD_HELPER:-$(dirname "$0")/../../service/clusterd-reload}")
FAKEBIN=$TMP/bin
mkdir -p "$FAKEBIN"
cat >"$FAKEBIN/busctl" <<'EOF'
#!/bin/sh
exit 1
EOF
cat >"$FAKEBIN/systemctl" <<'EOF'
#!/bin/sh
[ -n "${FAKE_SLEEP:-}" ] && sleep "$FAKE_SLEEP"
if [ -n "${FAKE_STATUS:-}" ]; then
        echo "$FAKE_STATUS"
        exit 0
fi
sed -n 's/^[0-9]* [0-9]* STATUS=//p' "$FAKE_NOTIFY_OUT" | tail -n 1
EOF
chmod +x "$FAKEBIN/busctl" "$FAKEBIN/systemctl"

# run_helper SECONDS [VAR=VALUE...]: runs the helper for clusterd, killed
# after SECONDS; sets RC, ELAPSED (ms) and ERR (its stderr)
run_helper() {
        local limit=$1 t0
        shift
        t0=$(now_ms)
        RC=0
        env PATH="$FAKEBIN:$PATH" MAINPID="$CD_PID" FAKE_NOTIFY_OUT="$NOTIFY_OUT" "$@" \
                timeout -s KILL "$limit" "$HELPER" >"$TMP/helper.out" 2>"$TMP/helper.err" || RC=$?
        ELAPSED=$(($(now_ms) - t0))
        ERR=$(tr '\n' '|' <"$TMP/helper.err")
}

start_for_failing_reloads

run_helper 15
check_eq "a good reload: exit 0 (stderr: $ERR)" 0 "$RC"
check_cmd "a good reload: it had finished when the helper returned" \
        log_has 'reload finished: 2/2 workers serving'

printf 'workers = none\n' >"$CONF"
run_helper 15
check_ge "a refused reload (bad config): non-zero exit" 1 "$RC"
check_match "a refused reload: the helper says so" 'reload [0-9]+ refused' "$ERR"
check_le "a refused reload: answered within 6000 ms (took $ELAPSED ms)" 6000 "$ELAPSED"

write_reload_conf "$UNREADABLE"
run_helper 15
check_ge "a failed reload (workers cannot start): non-zero exit" 1 "$RC"
check_match "a failed reload: the helper says so" 'reload [0-9]+ failed: worker 1 did not start' "$ERR"

write_reload_conf "$ROOT"
run_helper 15
check_eq "a good reload after the failed one: exit 0 (stderr: $ERR)" 0 "$RC"

# every poll takes 0.5 s and the reload never seems to end: the helper must
# still give up after about CLUSTERD_RELOAD_TIMEOUT=2 seconds
run_helper 8 CLUSTERD_RELOAD_TIMEOUT=2 FAKE_SLEEP=0.5 \
        FAKE_STATUS="2/2 workers, 0 requests, 0 restarts; reloading (worker 1)"
check_ge "a reload that never ends: non-zero exit" 1 "$RC"
# whole seconds and one more poll make it about 2.5 s; the old helper, which
# counted 0.1 s ticks, took over 8
check_le "a reload that never ends: the helper gave up within 6000 ms (took $ELAPSED ms)" \
        6000 "$ELAPSED"
check_match "a reload that never ends: the helper says it took too long" \
        'still running after 2s' "$ERR"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
