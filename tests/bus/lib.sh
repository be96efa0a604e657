# shellcheck shell=bash disable=SC2120
# Shared by the tests/bus/*.sh scripts: a private dbus-daemon configured like
# the system bus (default-deny policy plus service/dbus/io.clusterd1.conf), a
# clusterd attached to it, and small helpers. Sourced, not run.
#
# Every check prints one "ok"/"FAIL" line; finish() exits non-zero when any
# failed. Everything started here is stopped by the EXIT trap.

set -u

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTERD=${1:?usage: $0 PATH-TO-CLUSTERD}
CLUSTERD=$(realpath "$CLUSTERD")
TESTNAME=$(basename "$0" .sh)

TMP=$(mktemp -d "/tmp/clusterd-bus-$TESTNAME.XXXXXX")
chmod 755 "$TMP" # uid 65534 must reach the bus socket
# What clusterd serves: a copy of the default site, because some tests run
# clusterd as uid 65534, which cannot read a clone in a private directory
# such as /root (mode 0700).
WWW=$TMP/www
cp -R "$SRCDIR/service/www" "$WWW"
chmod -R a+rX "$WWW"
SOCK=$TMP/system_bus_socket
ADDR=unix:path=$SOCK
BUS_PID=
CLUSTERD_PID=
EXTRA_PIDS=()
RUN_AS=() # a command prefix for clusterd that execs it, e.g. (setpriv ...)
CLUSTERD_CONFIG=/dev/null # no /etc/clusterd/clusterd.conf of the host
FAILED=0

stop_clusterd() {
    if [ -n "$CLUSTERD_PID" ] && kill -0 "$CLUSTERD_PID" 2>/dev/null; then
        kill -TERM "$CLUSTERD_PID" 2>/dev/null
        for _ in $(seq 100); do
            kill -0 "$CLUSTERD_PID" 2>/dev/null || break
            sleep 0.1
        done
        pkill -KILL -P "$CLUSTERD_PID" 2>/dev/null
        kill -KILL "$CLUSTERD_PID" 2>/dev/null
    fi
    [ -n "$CLUSTERD_PID" ] && wait "$CLUSTERD_PID" 2>/dev/null
    CLUSTERD_PID=
}

cleanup() {
    local p
    for p in "${EXTRA_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    stop_clusterd
    if [ -n "$BUS_PID" ]; then
        kill "$BUS_PID" 2>/dev/null
    fi
    wait 2>/dev/null
    if [ "$FAILED" -ne 0 ] && [ -f "$TMP/clusterd.log" ]; then
        echo "--- clusterd log (last 40 lines) ---"
        tail -n 40 "$TMP/clusterd.log"
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
    echo "ok - $*"
}

fail() {
    echo "FAIL - $*"
    FAILED=$((FAILED + 1))
}

# check DESCRIPTION COMMAND...: runs the command, reports its outcome
check() {
    local what=$1
    shift
    if "$@"; then
        ok "$what"
    else
        fail "$what"
    fi
}

finish() {
    if [ "$FAILED" -ne 0 ]; then
        echo "$FAILED check(s) failed"
        exit 1
    fi
    exit 0
}

# wait_for SECONDS COMMAND...: polls the command every 0.1 s until it succeeds
wait_for() {
    local tries=$(($1 * 10))
    shift
    while [ "$tries" -gt 0 ]; do
        "$@" 2>/dev/null && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Writes the bus config: system.conf's default policy, reduced to what a bus
# without activation needs, and an includedir holding the project's policy.
write_bus_config() {
    local policy=${1:-$SRCDIR/service/dbus/io.clusterd1.conf}
    mkdir -p "$TMP/system.d"
    cp "$policy" "$TMP/system.d/io.clusterd1.conf"
    cat >"$TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>$ADDR</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>$TMP/system.d</includedir>
</busconfig>
EOF
}

start_bus() {
    write_bus_config "$@"
    dbus-daemon --config-file="$TMP/bus.conf" --nofork --nopidfile >"$TMP/dbus.log" 2>&1 &
    BUS_PID=$!
    if ! wait_for 10 busctl --address="$ADDR" status org.freedesktop.DBus >/dev/null; then
        echo "FAIL - private dbus-daemon did not come up:"
        cat "$TMP/dbus.log"
        exit 1
    fi
}

bctl() {
    busctl --address="$ADDR" "$@"
}

# as_nobody COMMAND...: runs it as uid/gid 65534 without supplementary groups
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# launch_clusterd BUS-ADDRESS WORKERS [OPTION...]: on a free port, not waiting
launch_clusterd() {
    local address=$1 workers=$2
    shift 2
    PORT=$(free_port)
    DBUS_SYSTEM_BUS_ADDRESS=$address "${RUN_AS[@]}" "$CLUSTERD" --config "$CLUSTERD_CONFIG" \
        --listen "127.0.0.1:$PORT" --workers "$workers" --root "$WWW" \
        --drain-timeout 5s "$@" >"$TMP/clusterd.log" 2>&1 &
    CLUSTERD_PID=$!
}

# start_clusterd_from_config WORKERS: clusterd on the private bus with its
# settings from $CLUSTERD_CONFIG alone (no --workers, so that a reload can
# change the count); fails the test unless WORKERS serve within 20 s
start_clusterd_from_config() {
    PORT=$(free_port)
    DBUS_SYSTEM_BUS_ADDRESS=$ADDR "$CLUSTERD" --config "$CLUSTERD_CONFIG" \
        --listen "127.0.0.1:$PORT" --root "$WWW" --drain-timeout 5s \
        >"$TMP/clusterd.log" 2>&1 &
    CLUSTERD_PID=$!
    if ! wait_for 20 settled "$1"; then
        fail "clusterd did not come up with $1 workers"
        finish
    fi
}

# leave_one_fd: lowers the manager's soft fd limit until exactly one fd number
# is free: enough to read the config file, not for a socketpair or for more
# sockets. give_fds_back undoes it. Only the soft limit: a lowered hard limit
# could not be raised again.
leave_one_fd() {
    local used n free=()
    used=" $(find "/proc/$CLUSTERD_PID/fd" -mindepth 1 -printf '%f ') "
    for ((n = 0; ${#free[@]} < 2; n++)); do
        [[ $used == *" $n "* ]] || free+=("$n")
    done
    FDS_SOFT=$(prlimit --pid "$CLUSTERD_PID" --nofile --noheadings --output SOFT)
    prlimit --pid "$CLUSTERD_PID" --nofile="${free[1]}:"
}

give_fds_back() {
    prlimit --pid "$CLUSTERD_PID" --nofile="$FDS_SOFT:"
}

# reload_helper: service/clusterd-reload, the ExecReload= helper, against the
# private bus (killed after 30 s); its stderr goes to $TMP/helper.err
reload_helper() {
    DBUS_SYSTEM_BUS_ADDRESS=$ADDR timeout -s KILL 30 "$SRCDIR/service/clusterd-reload" \
        2>"$TMP/helper.err"
}

# start_clusterd [WORKERS]: attached to the private bus, up and running
start_clusterd() {
    launch_clusterd "$ADDR" "${1:-2}"
    if ! wait_for 20 manager_is_running "${1:-2}"; then
        echo "FAIL - clusterd did not come up with its control API:"
        cat "$TMP/clusterd.log"
        exit 1
    fi
}

serves() {
    curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/"
}

manager_is_running() {
    [ "$(mgr_get State)" = running ] && [ "$(mgr_get Workers)" = "$1" ] &&
        [ "$(child_count)" = "$1" ]
}

# mgr_get PROPERTY: the value of a scalar io.clusterd1.Manager property
mgr_get() {
    bctl get-property io.clusterd1 /io/clusterd1 io.clusterd1.Manager "$1" |
        sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'
}

# The worker processes, as the kernel sees them: the manager's children.
child_pids() {
    pgrep -P "$CLUSTERD_PID" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

child_count() {
    pgrep -c -P "$CLUSTERD_PID"
}

# list_workers [busctl-prefix...]: ListWorkers as lines "id pid state requests"
list_workers() {
    "${@:-bctl}" --json=short call io.clusterd1 /io/clusterd1 io.clusterd1.Manager ListWorkers |
        python3 -c 'import json, sys
for w in json.load(sys.stdin)["data"][0]:
    print(w[0], w[1], w[2], w[3])'
}

# The pids ListWorkers reports, sorted like child_pids.
listed_pids() {
    list_workers | awk '{ print $2 }' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# The pid(s) ListWorkers reports for worker ID.
worker_pids() {
    list_workers | awk -v id="$1" '$1 == id { print $2 }' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# Settled: every slot has exactly one serving worker, and nothing else runs.
settled() {
    local n=$1
    [ "$(child_count)" = "$n" ] && [ "$(mgr_get Workers)" = "$n" ] &&
        [ "$(mgr_get State)" = running ] &&
        [ "$(list_workers | awk '$3 == "serving"' | wc -l)" = "$n" ]
}

# dbus_error [PREFIX...] -- METHOD [ARG...]: calls an io.clusterd1.Manager
# method with dbus-send (busctl does not show error names) and prints
# "ERROR-NAME: MESSAGE"; prints nothing when the call succeeds.
dbus_error() {
    local prefix=()
    while [ "$1" != -- ]; do
        prefix+=("$1")
        shift
    done
    shift
    "${prefix[@]}" dbus-send --bus="$ADDR" --print-reply --dest=io.clusterd1 /io/clusterd1 \
        "io.clusterd1.Manager.$1" "${@:2}" 2>&1 >/dev/null | sed -n 's/^Error //p'
}

# start_monitor FILE MATCH: busctl monitor in JSON, one message a line, running
# once it has become a monitor
start_monitor() {
    bctl --json=short monitor --match "$2" >"$1" 2>"$1.err" &
    EXTRA_PIDS+=($!)
    wait_for 10 grep -q "Monitoring" "$1.err"
}

# signals FILE: the monitored signals as lines "MEMBER ARG..."
signals() {
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    data = m.get("payload", {}).get("data", [])
    if m["member"] == "PropertiesChanged":
        args = ["%s=%s" % (k, v["data"]) for k, v in data[1].items()]
    elif m["member"] in ("InterfacesAdded", "InterfacesRemoved"):
        args = [data[0]]
    else:
        args = [str(a) for a in data]
    print(m["member"], *args)' "$1"
}

# saw FILE REGEX: a monitored signal line matches (signals arrive a little
# after the change they announce: use with wait_for)
saw() {
    signals "$1" | grep -q "$2"
}
