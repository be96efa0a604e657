#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# service/dbus/io.clusterd1.conf loads into a real dbus-daemon, a broken copy
# does not, and only root (or user clusterd) may own io.clusterd1.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

# dbus-daemon skips a file in an <includedir> that it cannot parse (it logs
# "Encountered error" and starts anyway), but refuses to start on a bad file
# named by <include>: that is the strict check.
strict_load() {
    cat >"$TMP/strict.conf" <<EOS
<busconfig>
  <type>system</type>
  <listen>unix:path=$TMP/strict_socket</listen>
  <include>$1</include>
</busconfig>
EOS
    timeout 2 dbus-daemon --config-file="$TMP/strict.conf" --nofork --nopidfile \
        >"$TMP/strict.log" 2>&1
}

head -n -3 "$SRCDIR/service/dbus/io.clusterd1.conf" >"$TMP/broken.conf"
strict_load "$TMP/broken.conf"
rc=$?
check "dbus-daemon refuses to start on a truncated copy (exit $rc: $(grep -o 'Failed to start.*' "$TMP/strict.log"))" \
    test "$rc" -ne 0 -a "$rc" -ne 124
strict_load "$SRCDIR/service/dbus/io.clusterd1.conf"
rc=$?
check "dbus-daemon starts with io.clusterd1.conf included, and runs until stopped (exit $rc = timeout)" \
    test "$rc" -eq 124

start_bus
check "dbus-daemon reads io.clusterd1.conf from its includedir without an error" \
    eval 'kill -0 "$BUS_PID" && ! grep -q "Encountered error" "$TMP/dbus.log"'
if getent passwd clusterd >/dev/null; then
    check "user clusterd exists: dbus-daemon has no complaint about it" \
        eval '! grep -q "Unknown username \"clusterd\"" "$TMP/dbus.log"'
else
    check "user clusterd missing: dbus-daemon logs it and carries on ($(grep -o 'Unknown username "clusterd"' "$TMP/dbus.log" | head -n 1))" \
        eval 'grep -q "Unknown username \"clusterd\"" "$TMP/dbus.log" && kill -0 "$BUS_PID"'
fi

# --- a user other than root and clusterd may not own the name ---
RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
launch_clusterd "$ADDR" 2
RUN_AS=()
up() {
    serves && [ "$(child_count)" = 2 ]
}
wait_for 20 up
wait_for 10 grep -q "control API off" "$TMP/clusterd.log"
check "uid 65534 may not own io.clusterd1 ($(grep -o 'control API off: [^;]*' "$TMP/clusterd.log"))" \
    grep -q "control API off: cannot own the name io.clusterd1: the D-Bus policy does not allow it" \
    "$TMP/clusterd.log"
check "uid 65534's clusterd serves all the same" up
check "io.clusterd1 has no owner" eval '! bctl status io.clusterd1 >/dev/null 2>&1'
stop_clusterd

# --- root may ---
start_clusterd 2
owner=$(bctl status io.clusterd1 | sed -n 's/^UID=//p')
check "root owns io.clusterd1 (owner uid $owner)" test "$owner" = 0
stop_clusterd

# --- a bus without the policy, as service/run meets a system bus before
# clusterd is installed: even root may not own the name, and the warning, on
# one line, says what to do. Doing it (here $TMP/system.d stands for
# /usr/share/dbus-1/system.d, ReloadConfig for "systemctl reload dbus", which
# calls it) gives the API. ---
reload_bus() {
    bctl call org.freedesktop.DBus / org.freedesktop.DBus ReloadConfig
}
hint="copy service/dbus/io.clusterd1.conf to /usr/share/dbus-1/system.d/, run 'systemctl reload dbus' and start clusterd again, as root or user clusterd)"
printf '<busconfig/>\n' >"$TMP/system.d/io.clusterd1.conf"
reload_bus
launch_clusterd "$ADDR" 2
wait_for 20 up
wait_for 10 grep -q "control API off" "$TMP/clusterd.log"
line=$(grep "control API off" "$TMP/clusterd.log")
says_how() {
    [[ $line == *"cannot own the name io.clusterd1: the D-Bus policy does not allow it (for the API, $hint; serving goes on" &&
        $(wc -l <<<"$line") == 1 ]]
}
check "no policy: root may not own io.clusterd1 either, and one line says how to get the API ($line)" \
    says_how
check "the file the warning names is the policy in the tree" test -f "$SRCDIR/service/dbus/io.clusterd1.conf"
stop_clusterd
cp "$SRCDIR/service/dbus/io.clusterd1.conf" "$TMP/system.d/io.clusterd1.conf"
reload_bus
start_clusterd 2
check "policy copied, bus reloaded, clusterd started again: the API is on" \
    grep -q "control API on the system bus as io.clusterd1" "$TMP/clusterd.log"

finish
