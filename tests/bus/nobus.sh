#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# Without a bus clusterd serves and says once that the control API is off;
# when the bus goes away later, serving goes on.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

up() {
    serves && [ "$(child_count)" = 2 ]
}
off_lines() {
    grep -c "control API off" "$TMP/clusterd.log"
}
# respawn_check WHAT: a killed worker is still replaced
respawn_check() {
    local victim
    victim=$(pgrep -P "$CLUSTERD_PID" | head -n 1)
    kill -KILL "$victim"
    replaced() {
        up && ! pgrep -P "$CLUSTERD_PID" | grep -qx "$victim"
    }
    wait_for 20 replaced
    check "$1: a killed worker is replaced ($victim -> $(child_pids))" replaced
}

# --- no bus at all ---
launch_clusterd unix:path=/nonexistent 2
wait_for 20 up
check "no bus: serves on port $PORT with 2 workers" up
respawn_check "no bus"
check "no bus: \"control API off\" logged once ($(off_lines))" test "$(off_lines)" = 1
echo "  $(grep "control API off" "$TMP/clusterd.log")"
stop_clusterd

# --- the bus goes away while clusterd runs ---
start_bus
start_clusterd 2
check "bus up: no \"control API off\" yet" test "$(off_lines)" = 0
kill "$BUS_PID"
wait "$BUS_PID" 2>/dev/null
BUS_PID=
wait_for 10 grep -q "control API off" "$TMP/clusterd.log"
check "bus gone: \"control API off\" logged once ($(off_lines))" test "$(off_lines)" = 1
echo "  $(grep "control API off" "$TMP/clusterd.log")"
check "bus gone: still serves" up
respawn_check "bus gone"
# a connection that is gone but still polled would spin: the manager idles
t0=$(awk '{ print $14 + $15 }' "/proc/$CLUSTERD_PID/stat")
sleep 2
t1=$(awk '{ print $14 + $15 }' "/proc/$CLUSTERD_PID/stat")
check "bus gone: the manager idles ($((t1 - t0)) ticks of CPU in 2 s)" test $((t1 - t0)) -lt 20
check "bus gone: still one \"control API off\" line" test "$(off_lines)" = 1
stop_clusterd
check "bus gone: clusterd still stops cleanly" \
    grep -q "stopped: .* requests served" "$TMP/clusterd.log"

finish
