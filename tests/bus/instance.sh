#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# Application instances (clusterd@NAME.service) take the name io.clusterd1.NAME
# with --bus-name. Under the shipped policy such a name is owned beside
# io.clusterd1 and queried like it; uid 65534 may read it but not reload it;
# the reload helper, given the name, reloads that instance and no other; only
# root and the applications' user may own such a name, and that user not
# io.clusterd1 itself; a name D-Bus cannot hold turns the API off with one
# line; and a reload cannot move the name.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
# a real command, so that the pid launched is clusterd's own
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# launch_named NAME LOG [PREFIX...]: clusterd with 2 workers and --bus-name
# NAME on a free port, its log in $TMP/LOG.log, its pid in LAUNCHED; stopped
# by the EXIT trap
launch_named() {
    local name=$1 log=$2
    shift 2
    DBUS_SYSTEM_BUS_ADDRESS=$ADDR "$@" "$CLUSTERD" --config /dev/null \
        --listen "127.0.0.1:$(free_port)" --workers 2 --root "$WWW" --drain-timeout 5s \
        --bus-name "$name" >"$TMP/$log.log" 2>&1 &
    LAUNCHED=$!
    EXTRA_PIDS+=("$LAUNCHED")
}

# get_on NAME PROPERTY [BUSCTL-PREFIX...]: a Manager property, bare
get_on() {
    local name=$1 property=$2
    shift 2
    "${@:-bctl}" get-property "$name" /io/clusterd1 io.clusterd1.Manager "$property" |
        sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'
}

# owner NAME: the pid owning NAME on the bus
owner() {
    bctl status "$1" 2>/dev/null | sed -n 's/^PID=//p'
}

api_up() { # NAME PID
    [ "$(owner "$1")" = "$2" ] && [ "$(get_on "$1" State)" = running ] &&
        [ "$(get_on "$1" Workers)" = 2 ]
}

kids() {
    pgrep -P "$1" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

stop_pid() {
    kill -TERM "$1" 2>/dev/null
    wait_for 10 eval '! kill -0 '"$1"
}

# --- root: io.clusterd1 and io.clusterd1.demo side by side ---
launch_named io.clusterd1 static
static=$LAUNCHED
launch_named io.clusterd1.demo demo
demo=$LAUNCHED
wait_for 20 api_up io.clusterd1 "$static"
wait_for 20 api_up io.clusterd1.demo "$demo"
check "io.clusterd1 is owned by one clusterd (pid $(owner io.clusterd1)), io.clusterd1.demo by the other ($(owner io.clusterd1.demo)), both running with 2 workers" \
    eval 'api_up io.clusterd1 "$static" && api_up io.clusterd1.demo "$demo"'
check "the instance's log names its name ($(grep -o 'control API on.*' "$TMP/demo.log"))" \
    grep -q "control API on the system bus as io.clusterd1.demo$" "$TMP/demo.log"
demo_uid=$(bctl status io.clusterd1.demo | sed -n 's/^UID=//p')
check "root owns io.clusterd1.demo (uid $demo_uid)" test "$demo_uid" = 0

# --- anyone may query the instance, and only query it ---
nobody=(as_nobody busctl --address="$ADDR")
state=$(get_on io.clusterd1.demo State "${nobody[@]}")
wpid=$("${nobody[@]}" get-property io.clusterd1.demo /io/clusterd1/worker/1 io.clusterd1.Worker Pid)
listed=$("${nobody[@]}" call io.clusterd1.demo /io/clusterd1 io.clusterd1.Manager ListWorkers)
check "uid 65534 reads io.clusterd1.demo: State $state, worker 1 $wpid, ListWorkers '$listed'" \
    eval '[ "$state" = running ] && [[ $wpid == "u "[0-9]* ]] &&
        [[ " $(kids "$demo") " == *" ${wpid#u } "* ]] && [[ $listed == "a(uusttttt) 2 "* ]]'
err=$(as_nobody dbus-send --bus="$ADDR" --print-reply --dest=io.clusterd1.demo /io/clusterd1 \
    io.clusterd1.Manager.Reload 2>&1 >/dev/null | sed -n 's/^Error //p')
check "uid 65534 may not reload io.clusterd1.demo: the bus policy refuses (${err:0:80}...)" \
    eval '[[ $err == "org.freedesktop.DBus.Error.AccessDenied: Rejected send message"* ]]'

# --- the reload helper reloads the instance it is given, and only it ---
static_before=$(kids "$static")
demo_before=$(kids "$demo")
DBUS_SYSTEM_BUS_ADDRESS=$ADDR timeout -s KILL 30 "$SRCDIR/service/clusterd-reload" \
    io.clusterd1.demo clusterd@demo.service 2>"$TMP/helper.err"
rc=$?
replaced_all() {
    local p
    [ "$(get_on io.clusterd1.demo State)" = running ] || return 1
    for p in $demo_before; do
        [[ " $(kids "$demo") " == *" $p "* ]] && return 1
    done
    return 0
}
check "clusterd-reload io.clusterd1.demo: exit $rc, LastReload '$(get_on io.clusterd1.demo LastReload)', workers $demo_before -> $(kids "$demo")" \
    eval '[ "$rc" = 0 ] && replaced_all && [[ $(get_on io.clusterd1.demo LastReload) == *done ]]'
check "... and io.clusterd1's workers are the same ($static_before), never reloaded" \
    eval '[ "$(kids "$static")" = "$static_before" ] && [ -z "$(get_on io.clusterd1 LastReload)" ]'
stop_pid "$static"
stop_pid "$demo"

# --- only root and the applications' user may own such a name ---
launch_named io.clusterd1.other other "${NOBODY[@]}"
wait_for 20 grep -q "control API off" "$TMP/other.log"
check "uid 65534 may not own io.clusterd1.other ($(grep -o 'control API off: [^(]*' "$TMP/other.log"))" \
    grep -q "control API off: cannot own the name io.clusterd1.other: the D-Bus policy does not allow it" \
    "$TMP/other.log"
stop_pid "$LAUNCHED"

# uid 65534 stands in for clusterd-app, which this machine may not have
sed 's/user="clusterd-app"/user="nobody"/' "$SRCDIR/service/dbus/io.clusterd1.conf" \
    >"$TMP/system.d/io.clusterd1.conf"
bctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig
launch_named io.clusterd1.other app-user "${NOBODY[@]}"
app=$LAUNCHED
wait_for 20 grep -q "control API on\|control API off" "$TMP/app-user.log"
check "the applications' user may own io.clusterd1.other ($(grep -o 'control API o.*' "$TMP/app-user.log"))" \
    eval 'wait_for 10 api_up io.clusterd1.other "$app"'
launch_named io.clusterd1 app-user-static "${NOBODY[@]}"
wait_for 20 grep -q "control API on\|control API off" "$TMP/app-user-static.log"
check "... but not io.clusterd1, the static service's ($(grep -o 'control API o[^(]*' "$TMP/app-user-static.log"))" \
    eval 'grep -q "cannot own the name io.clusterd1: the D-Bus policy does not allow it" "$TMP/app-user-static.log" &&
        [ -z "$(owner io.clusterd1)" ]'
stop_pid "$LAUNCHED"
stop_pid "$app"
cp "$SRCDIR/service/dbus/io.clusterd1.conf" "$TMP/system.d/io.clusterd1.conf"
bctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig

# --- another User= (uid 65534 here) with a policy file of its own, as the
# README shows: it owns its instance's name, and its reload helper, which
# runs as that user, reloads it ---
cat >"$TMP/system.d/local-app.conf" <<'EOF'
<busconfig>
  <policy user="nobody">
    <allow own="io.clusterd1.other"/>
    <allow send_destination="io.clusterd1.other"/>
  </policy>
</busconfig>
EOF
bctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig
launch_named io.clusterd1.other own-user "${NOBODY[@]}"
own=$LAUNCHED
wait_for 20 api_up io.clusterd1.other "$own"
before=$(kids "$own")
# a copy, which uid 65534 can read also when the clone is in /root (0700)
cp "$SRCDIR/service/clusterd-reload" "$TMP/clusterd-reload"
chmod 755 "$TMP/clusterd-reload"
"${NOBODY[@]}" env DBUS_SYSTEM_BUS_ADDRESS="$ADDR" timeout -s KILL 30 \
    "$TMP/clusterd-reload" io.clusterd1.other 2>"$TMP/helper.err"
rc=$?
check "with a policy file for its user, uid 65534 owns io.clusterd1.other, and its helper reloads it (exit $rc, $(get_on io.clusterd1.other LastReload), workers $before -> $(kids "$own"))" \
    eval '[ "$rc" = 0 ] && [[ $(get_on io.clusterd1.other LastReload) == *done ]] &&
        [ "$(kids "$own")" != "$before" ]'
stop_pid "$own"
rm "$TMP/system.d/local-app.conf"
bctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig

# --- a name D-Bus cannot hold: clusterd@2app.service, say ---
launch_named io.clusterd1.2app bad
bad=$LAUNCHED
up_bad() {
    [ "$(pgrep -c -P "$bad")" = 2 ] && grep -q "all 2 workers serving" "$TMP/bad.log"
}
wait_for 20 up_bad
line=$(grep "control API off" "$TMP/bad.log")
check "bus-name io.clusterd1.2app: one line says why the API is off, serving goes on ($line)" \
    eval 'up_bad && [ "$(wc -l <<<"$line")" = 1 ] &&
        [[ $line == *"control API off: bus-name '\''io.clusterd1.2app'\'' is not a valid D-Bus name (an element begins with a digit); serving goes on" ]]'
stop_pid "$bad"
out=$("$CLUSTERD" --config /dev/null --root "$WWW" --bus-name 'io.clusterd1.my:app' --check-config 2>&1)
check "--check-config prints bus-name and warns about a bad one ($(grep warning <<<"$out"))" \
    eval 'grep -qx "bus-name = io.clusterd1.my:app" <<<"$out" &&
        grep -qx "clusterd: warning: bus-name '\''io.clusterd1.my:app'\'' is not a valid D-Bus name (only letters, digits, '\''_'\'' and '\''-'\'' may stand between the dots): the control API will be off" <<<"$out"'
out=$("$CLUSTERD" --config /dev/null --root "$WWW" --check-config 2>&1)
check "--check-config: bus-name defaults to io.clusterd1, without a warning" \
    eval 'grep -qx "bus-name = io.clusterd1" <<<"$out" && ! grep -q warning <<<"$out"'

# --- a reload cannot move the name ---
printf 'bus-name = io.clusterd1.first\n' >"$TMP/named.conf"
DBUS_SYSTEM_BUS_ADDRESS=$ADDR "$CLUSTERD" --config "$TMP/named.conf" \
    --listen "127.0.0.1:$(free_port)" --workers 2 --root "$WWW" --drain-timeout 5s \
    >"$TMP/named.log" 2>&1 &
named=$!
EXTRA_PIDS+=("$named")
wait_for 20 api_up io.clusterd1.first "$named"
printf 'bus-name = io.clusterd1.second\n' >"$TMP/named.conf"
kill -HUP "$named"
wait_for 20 eval '[[ $(get_on io.clusterd1.first LastReload) == *done ]]'
check "a reload to another bus-name keeps the first, and says so ($(grep -o 'reload: bus-name.*' "$TMP/named.log"))" \
    eval 'api_up io.clusterd1.first "$named" && [ -z "$(owner io.clusterd1.second)" ] &&
        grep -q "reload: bus-name cannot change while running; restart clusterd to apply it" "$TMP/named.log"'
stop_pid "$named"

finish
