#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# Reload replaces every worker; RestartWorker replaces just the one named.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
CLUSTERD_CONFIG=$TMP/clusterd.conf
: >"$CLUSTERD_CONFIG"
start_clusterd 2
start_monitor "$TMP/signals.json" "type='signal',sender='io.clusterd1'" ||
    fail "busctl monitor did not start"

# none_of OLD NEW: no pid of the list OLD is in the list NEW
none_of() {
    local p
    for p in $1; do
        [[ " $2 " == *" $p "* ]] && return 1
    done
    return 0
}

old=$(child_pids)
check "Reload is accepted" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Reload
replaced() {
    none_of "$old" "$(child_pids)" && settled 2
}
wait_for 30 replaced
new=$(child_pids)
check "Reload replaced every pid ($old -> $new)" replaced
check "Reload: ListWorkers shows the new pids" test "$(listed_pids)" = "$new"
check "Reload: serving goes on" serves
wait_for 5 saw "$TMP/signals.json" "^PropertiesChanged State=running$"
check "Reload: State went reloading, then running (PropertiesChanged)" \
    eval 'signals "$TMP/signals.json" | grep "^PropertiesChanged State=" |
        tr "\n" " " | grep -qx "PropertiesChanged State=reloading PropertiesChanged State=running "'

w1=$(worker_pids 1)
w2=$(worker_pids 2)
check "RestartWorker 1 is accepted" \
    bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager RestartWorker u 1
w1_replaced() {
    [ "$(worker_pids 1)" != "$w1" ] && settled 2
}
wait_for 30 w1_replaced
check "RestartWorker 1 replaced worker 1 ($w1 -> $(worker_pids 1))" w1_replaced
check "RestartWorker 1 left worker 2 alone ($w2)" test "$(worker_pids 2)" = "$w2"
check "RestartWorker 1: the real child pids match" test "$(listed_pids)" = "$(child_pids)"
wait_for 5 saw "$TMP/signals.json" "^WorkerExited 1 $w1 "
check "RestartWorker 1: the old worker 1 drained (WorkerExited 1 $w1 drained 0)" \
    saw "$TMP/signals.json" "^WorkerExited 1 $w1 drained 0$"

before=$(child_pids)
for id in 0 3; do
    err=$(dbus_error -- RestartWorker "uint32:$id")
    check "RestartWorker $id: refused with InvalidArgs ($err)" \
        eval '[[ "$err" == "org.freedesktop.DBus.Error.InvalidArgs: no worker $id: "* ]]'
done
check "after the refused calls nothing changed" test "$(child_pids)" = "$before"

echo "workers = none-of-your-business" >"$CLUSTERD_CONFIG"
err=$(dbus_error -- Reload)
check "Reload with a broken config: refused with Failed, naming file, line and key ($err)" \
    eval '[[ "$err" == "org.freedesktop.DBus.Error.Failed: reload refused"*"$CLUSTERD_CONFIG:1: workers = '"'"'none-of-your-business'"'"'"* ]]'
sleep 1
check "Reload with a broken config: the same pids, still running" \
    test "$(child_pids)/$(mgr_get State)" = "$before/running"

# the ExecReload= helper on its D-Bus path (no systemd here: it goes by State
# and LastReload)
check "clusterd-reload with a broken config: non-zero exit" eval '! reload_helper'
check "clusterd-reload with a broken config: the refusal reaches stderr" \
    grep -q "reload refused" "$TMP/helper.err"
: >"$CLUSTERD_CONFIG"
before=$(child_pids)
check "clusterd-reload: a good reload exits 0" reload_helper
check "clusterd-reload: when it returns, every worker is new and serving" \
    eval 'none_of "$before" "$(child_pids)" && settled 2'

finish
