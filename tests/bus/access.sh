#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# As uid 65534, reads work and every method that changes state is refused
# with AccessDenied, with nothing changed. Here the D-Bus policy refuses;
# access-service.sh shows clusterd refusing by itself.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
start_clusterd 2
nobody_bctl() {
    as_nobody busctl --address="$ADDR" "$@"
}

check "uid 65534: get-property State works" \
    test "$(nobody_bctl get-property io.clusterd1 /io/clusterd1 io.clusterd1.Manager State)" = \
    's "running"'
check "uid 65534: get-property of a worker object works" \
    eval 'nobody_bctl get-property io.clusterd1 /io/clusterd1/worker/1 io.clusterd1.Worker Pid \
        >/dev/null'
check "uid 65534: ListWorkers works and shows the real pids" \
    test "$(list_workers nobody_bctl | awk '{ print $2 }' | sort -n | tr '\n' ' ' | sed 's/ $//')" = \
    "$(child_pids)"
check "uid 65534: introspect works" \
    eval 'nobody_bctl introspect io.clusterd1 /io/clusterd1 | grep -q "^\.Scale "'
check "uid 65534: tree works" \
    eval 'nobody_bctl tree io.clusterd1 | grep -q "/io/clusterd1/worker/2$"'
check "uid 65534: GetManagedObjects works" \
    eval 'nobody_bctl call io.clusterd1 /io/clusterd1 org.freedesktop.DBus.ObjectManager \
        GetManagedObjects >/dev/null'

pids=$(child_pids)
wanted=$(mgr_get WorkersWanted)
calls=("Scale uint32:3" "Scale uint32:1" "Reload" "RestartWorker uint32:1" "ReopenLogs")
for call in "${calls[@]}"; do
    # shellcheck disable=SC2086
    err=$(dbus_error as_nobody -- $call)
    # "Rejected send message" is the bus daemon's wording: the policy refused,
    # not clusterd's own check (access-service.sh covers that one)
    check "uid 65534: $call refused by the bus policy (${err:0:90}...)" \
        eval '[[ "$err" == "org.freedesktop.DBus.Error.AccessDenied: "* &&
            "$err" == *"Rejected send message"* ]]'
done
msg=$(nobody_bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u 3 2>&1)
check "uid 65534: busctl call Scale 3 fails ($msg)" eval '[[ "$msg" == *"Access denied"* ]]'
msg=$(nobody_bctl set-property io.clusterd1 /io/clusterd1 io.clusterd1.Manager WorkersWanted u 3 2>&1)
check "uid 65534: set-property is refused too ($msg)" eval '[[ "$msg" == *"Access denied"* ]]'

sleep 1 # anything that was wrongly started would show by now
check "nothing changed: the same pids ($pids)" test "$(child_pids)" = "$pids"
check "nothing changed: WorkersWanted is still $wanted, State running" \
    test "$(mgr_get WorkersWanted)/$(mgr_get State)" = "$wanted/running"

finish
