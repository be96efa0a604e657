#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# A killed worker yields WorkerExited, then WorkerStarted for its successor,
# as busctl monitor sees them; its object goes and comes back with it.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
start_clusterd 2
start_monitor "$TMP/signals.json" "type='signal',sender='io.clusterd1'" ||
    fail "busctl monitor did not start"

victim=$(worker_pids 1)
other=$(worker_pids 2)
kill -KILL "$victim"
respawned() {
    [ -n "$(worker_pids 1)" ] && [ "$(worker_pids 1)" != "$victim" ] && settled 2
}
wait_for 20 respawned
successor=$(worker_pids 1)
check "worker 1 was respawned ($victim -> ${successor:-none})" respawned
wait_for 5 saw "$TMP/signals.json" "^WorkerStarted 1 $successor$"

signals "$TMP/signals.json" | grep -E "^(Worker|Interfaces)" >"$TMP/order.txt"
echo "  signals seen: $(tr "\n" "," <"$TMP/order.txt")"
# the reason ("killed", or "protocol error" when the manager saw the channel
# close first) is left out
order=$(sed -E 's/^(WorkerExited [0-9]+ [0-9]+) .* (-?[0-9]+)$/\1 \2/' "$TMP/order.txt")
check "WorkerExited 1 $victim (status 137), then WorkerStarted 1 $successor" \
    test "$(grep "^Worker" <<<"$order")" = "WorkerExited 1 $victim 137
WorkerStarted 1 $successor"
check "the object of worker 1 went and came back in between (InterfacesRemoved, InterfacesAdded)" \
    test "$order" = "WorkerExited 1 $victim 137
InterfacesRemoved /io/clusterd1/worker/1
InterfacesAdded /io/clusterd1/worker/1
WorkerStarted 1 $successor"
check "worker 2 was left alone ($other)" test "$(worker_pids 2)" = "$other"
check "Workers was announced dropping to 1, then back to 2" \
    eval 'signals "$TMP/signals.json" | grep -o "Workers=[0-9]*" | tr "\n" " " |
        grep -qx "Workers=1 Workers=2 "'
check "WorkerRestarts is 1" test "$(mgr_get WorkerRestarts)" = 1
check "worker 1's Restarts is 1" \
    test "$(bctl get-property io.clusterd1 /io/clusterd1/worker/1 io.clusterd1.Worker Restarts)" = "t 1"
check "worker 1's object shows the successor's pid" \
    test "$(bctl get-property io.clusterd1 /io/clusterd1/worker/1 io.clusterd1.Worker Pid)" = \
    "u $successor"

# A worker its seccomp filter killed: WorkerExited names the call, with the
# status of SIGSYS. gdb (root only) makes worker 2 call socket() the way an
# exploited worker would.
if [ "$(id -u)" = 0 ] && command -v gdb >/dev/null; then
    victim=$(worker_pids 2)
    timeout 60 gdb -p "$victim" -batch -ex 'call (int)socket(2,1,0)' >"$TMP/gdb.log" 2>&1
    check "socket() in worker 2: WorkerExited 2 $victim 'seccomp (syscall socket)' 159" \
        wait_for 10 saw "$TMP/signals.json" "^WorkerExited 2 $victim seccomp (syscall socket) 159$"
else
    echo "skip - not root, or no gdb: no worker can be made to call socket()"
fi

finish
