#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# clusterd refuses state changes to callers other than root and its own user
# by itself: here the bus policy lets everyone send anything to io.clusterd1,
# and uid 65534 is still refused with AccessDenied, with nothing changed.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

# the project's policy with one more hole: everyone may send everything
sed 's|</busconfig>|  <policy context="default"><allow send_destination="io.clusterd1"/></policy>\n</busconfig>|' \
    "$SRCDIR/service/dbus/io.clusterd1.conf" >"$TMP/open-policy.conf"
start_bus "$TMP/open-policy.conf"
start_clusterd 2

pids=$(child_pids)
for call in "Scale uint32:3" "Reload" "RestartWorker uint32:1" "ReopenLogs"; do
    # shellcheck disable=SC2086
    err=$(dbus_error as_nobody -- $call)
    check "uid 65534, open bus policy: $call refused by clusterd with AccessDenied ($err)" \
        eval '[[ "$err" == "org.freedesktop.DBus.Error.AccessDenied: "* &&
            "$err" != *"Rejected send message"* ]]'
done
check "uid 65534, open bus policy: ListWorkers still works" \
    eval 'as_nobody busctl --address="$ADDR" call io.clusterd1 /io/clusterd1 \
        io.clusterd1.Manager ListWorkers >/dev/null'
sleep 1
check "nothing changed: the same pids ($pids), WorkersWanted 2" \
    test "$(child_pids)/$(mgr_get WorkersWanted)" = "$pids/2"
check "root may still call them (Scale 3)" \
    bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u 3
wait_for 20 settled 3
check "Scale 3 by root: 3 worker processes" settled 3

finish
