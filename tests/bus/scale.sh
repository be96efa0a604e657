#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# Scale grows and shrinks the worker processes; shrinking drains. Out-of-range
# counts are refused with InvalidArgs and a reason.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
start_clusterd 2
start_monitor "$TMP/signals.json" "type='signal',sender='io.clusterd1'" ||
    fail "busctl monitor did not start"

check "Scale 3 is accepted" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u 3
wait_for 20 settled 3
check "Scale 3: 3 worker processes ($(child_pids)), Workers $(mgr_get Workers)" settled 3
check "Scale 3: WorkersWanted is 3" test "$(mgr_get WorkersWanted)" = 3
check "Scale 3: busctl tree shows /io/clusterd1/worker/3" \
    eval 'bctl tree io.clusterd1 | grep -q "/io/clusterd1/worker/3$"'
check "Scale 3: ListWorkers pids equal the real child pids" test "$(listed_pids)" = "$(child_pids)"

check "Scale 1 is accepted" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u 1
wait_for 20 settled 1
check "Scale 1: 1 worker process ($(child_pids)), Workers $(mgr_get Workers)" settled 1
keep=$(child_pids)
check "Scale 1: WorkersWanted is 1" test "$(mgr_get WorkersWanted)" = 1
check "Scale 1: serving goes on" serves
wait_for 5 saw "$TMP/signals.json" "^InterfacesRemoved /io/clusterd1/worker/3$"
signals "$TMP/signals.json" >"$TMP/signals.txt"
# worker 1 is replaced too: its share of the per-worker sockets changed
check "Scale 1: workers 2 and 3 drained, none was killed (WorkerExited reasons)" \
    eval 'grep -q "^WorkerExited 2 [0-9]* drained 0$" "$TMP/signals.txt" &&
        grep -q "^WorkerExited 3 [0-9]* drained 0$" "$TMP/signals.txt" &&
        ! grep "^WorkerExited" "$TMP/signals.txt" | grep -vq " drained 0$"'
check "Scale 1: the objects of workers 2 and 3 are gone (InterfacesRemoved, busctl tree)" \
    eval 'grep -q "^InterfacesRemoved /io/clusterd1/worker/2$" "$TMP/signals.txt" &&
        grep -q "^InterfacesRemoved /io/clusterd1/worker/3$" "$TMP/signals.txt" &&
        ! bctl tree io.clusterd1 | grep -q "/io/clusterd1/worker/[23]$"'
check "WorkersWanted changes were announced (3, then 1)" \
    eval 'grep "^PropertiesChanged.*WorkersWanted=" "$TMP/signals.txt" |
        sed "s/.*WorkersWanted=\([0-9]*\).*/\1/" | tr "\n" " " | grep -qx "3 1 "'

for n in 0 100000; do
    err=$(dbus_error -- Scale "uint32:$n")
    check "Scale $n: refused with InvalidArgs and a reason ($err)" \
        eval '[[ "$err" == "org.freedesktop.DBus.Error.InvalidArgs: cannot scale to $n workers: "* ]]'
    msg=$(bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u "$n" 2>&1)
    check "Scale $n: busctl shows the reason ($msg)" \
        eval '[[ "$msg" == *"cannot scale to $n workers"* ]]'
done
check "after the refused calls nothing changed ($(child_pids))" \
    test "$(child_pids)" = "$keep" -a "$(mgr_get WorkersWanted)" = 1

finish
