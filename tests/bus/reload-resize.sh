#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# A Reload that asks for more workers, when the sockets for them cannot be
# opened, is refused with nothing changed: same workers, same count, State
# running. Refused on the bus must mean the running configuration stays.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
CLUSTERD_CONFIG=$TMP/clusterd.conf
echo "workers = 2" >"$CLUSTERD_CONFIG"
start_clusterd_from_config 2

# one free fd: the config can be read, the two more sockets 4 workers need
# cannot be opened
leave_one_fd

before=$(child_pids)
echo "workers = 4" >"$CLUSTERD_CONFIG"
err=$(dbus_error -- Reload)
give_fds_back
check "Reload to 4 workers without fds for their sockets: refused ($err)" \
    eval '[[ "$err" == "org.freedesktop.DBus.Error.Failed: reload refused"*"cannot open sockets for 4 workers"* ]]'
sleep 1
check "after the refused Reload: State running (got $(mgr_get State))" \
    test "$(mgr_get State)" = running
check "after the refused Reload: WorkersWanted still 2 (got $(mgr_get WorkersWanted))" \
    test "$(mgr_get WorkersWanted)" = 2
check "after the refused Reload: the same worker pids ($before -> $(child_pids))" \
    test "$(child_pids)" = "$before"
check "after the refused Reload: serving goes on" serves
check "the refusal is logged once" \
    test "$(grep -c 'reload refused' "$TMP/clusterd.log")" = 1

check "with the fds back, Reload to 4 workers is accepted" \
    bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Reload
wait_for 10 settled 4
check "with the fds back, Reload to 4 workers: 4 serving ($(child_pids))" settled 4
finish
