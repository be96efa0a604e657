#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317,SC2034 # checks are run through eval and wait_for
# Messages between the manager and application workers, as Node's cluster
# has them, over D-Bus: a line a worker writes on CLUSTERD_IPC_FD is the
# signal WorkerMessage(id, pid, text); SendMessage(id, text) writes a line to
# one worker, or (id 0) to all; the worker's STATUS= is its Status property.
# Only root and the service user may send; the built-in server takes none.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

APP="/usr/bin/python3 $SRCDIR/examples/python/app.py"
start_bus
start_monitor "$TMP/signals.json" "type='signal',sender='io.clusterd1',member='WorkerMessage'" ||
    fail "busctl monitor did not start"
launch_clusterd "$ADDR" 2 --exec "$APP"
wait_for 20 manager_is_running 2 || { fail "clusterd with --exec did not come up"; finish; }
one=$(worker_pids 1)
two=$(worker_pids 2)

check "each worker's hello arrived as WorkerMessage(id, pid, text)" \
    wait_for 10 eval 'saw "$TMP/signals.json" "^WorkerMessage 1 $one worker 1 says hello$" &&
        saw "$TMP/signals.json" "^WorkerMessage 2 $two worker 2 says hello$"'
check "SendMessage 1 ping: accepted" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager \
    SendMessage us 1 ping
check "... and worker 1 answered pong" wait_for 10 saw "$TMP/signals.json" "^WorkerMessage 1 $one pong$"
check "... worker 2 heard nothing" \
    eval '! saw "$TMP/signals.json" "^WorkerMessage 2 $two pong$"'
check "SendMessage 0: to every worker" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager \
    SendMessage us 0 "to all"
check "... both answered" wait_for 10 eval 'saw "$TMP/signals.json" "^WorkerMessage 1 $one got to all$" &&
    saw "$TMP/signals.json" "^WorkerMessage 2 $two got to all$"'
check "the manager logs what workers say" grep -q "worker 1 pid $one: pong" "$TMP/clusterd.log"

err=$(dbus_error -- SendMessage uint32:1 "string:two
lines")
check "a text with a newline is refused ($err)" eval '[[ $err == org.freedesktop.DBus.Error.InvalidArgs:* ]]'
err=$(dbus_error -- SendMessage uint32:9 string:hi)
check "no worker 9: InvalidArgs ($err)" eval '[[ $err == org.freedesktop.DBus.Error.InvalidArgs:*"no worker 9"* ]]'
long=$(head -c 5000 /dev/zero | tr '\0' x)
err=$(dbus_error -- SendMessage uint32:1 "string:$long")
check "a line over 4096 bytes is refused ($err)" eval '[[ $err == org.freedesktop.DBus.Error.InvalidArgs:* ]]'
err=$(dbus_error as_nobody -- SendMessage uint32:1 string:hi)
check "uid 65534 may not send ($err)" eval '[[ $err == org.freedesktop.DBus.Error.AccessDenied:* ]]'

status() { bctl get-property io.clusterd1 "/io/clusterd1/worker/$1" io.clusterd1.Worker Status; }
check "worker 1's Status is its STATUS= line ($(status 1))" \
    wait_for 10 eval '[[ "$(status 1)" =~ ^s\ \"(serving|served\ [0-9]+\ requests)\"$ ]]'
curl -s -o /dev/null "http://127.0.0.1:$PORT/" || true
stop_clusterd

# the built-in server takes no messages, and shows no Status
launch_clusterd "$ADDR" 1
wait_for 20 manager_is_running 1 || { fail "clusterd did not come up"; finish; }
err=$(dbus_error -- SendMessage uint32:1 string:hi)
check "the built-in server: NotSupported ($err)" \
    eval '[[ $err == org.freedesktop.DBus.Error.NotSupported:* ]]'
check "the built-in server's Status is empty" eval '[[ "$(status 1)" == "s \"\"" ]]'
finish
