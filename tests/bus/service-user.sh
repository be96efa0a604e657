#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# Run as its own user (uid 65534 stands in for "clusterd"), clusterd lets root
# and that user change things and refuses everyone else by itself, even with a
# bus policy that lets every caller through.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

# the project's policy, plus: nobody may own the name, everyone may send
sed 's|</busconfig>|  <policy user="nobody"><allow own="io.clusterd1"/></policy>\n  <policy context="default"><allow send_destination="io.clusterd1"/></policy>\n</busconfig>|' \
    "$SRCDIR/service/dbus/io.clusterd1.conf" >"$TMP/service-user-policy.conf"
start_bus "$TMP/service-user-policy.conf"
RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
start_clusterd 2
check "clusterd's manager runs as uid 65534" \
    test "$(ps -o uid= -p "$CLUSTERD_PID" | tr -d ' ')" = 65534

check "root may call Scale 3" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u 3
wait_for 20 settled 3
check "Scale 3 by root: 3 worker processes" settled 3

check "the service's own uid may call Scale 2" \
    as_nobody busctl --address="$ADDR" call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Scale u 2
wait_for 20 settled 2
check "Scale 2 by uid 65534: 2 worker processes" settled 2

# a third user, neither root nor the service's; it needs a passwd entry
other_name=daemon
other=$(getent passwd "$other_name" | cut -d: -f3)
[ -n "$other" ] || fail "no user \"$other_name\" to call as"
pids=$(child_pids)
for call in "Scale uint32:3" "Reload" "RestartWorker uint32:1" "ReopenLogs"; do
    # shellcheck disable=SC2086
    err=$(dbus_error setpriv --reuid="$other" --regid="$other" --clear-groups -- $call)
    check "uid $other ($other_name): $call refused by clusterd with AccessDenied ($err)" \
        eval '[[ "$err" == "org.freedesktop.DBus.Error.AccessDenied: "* &&
            "$err" != *"Rejected send message"* ]]'
done
sleep 1
check "nothing changed: the same pids ($pids), WorkersWanted 2" \
    test "$(child_pids)/$(mgr_get WorkersWanted)" = "$pids/2"

finish
