#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# A reload whose new workers cannot even be forked (the manager has no fds
# left for their socketpairs) fails after crash-loop-limit tries instead of
# staying in "reloading" for good: State comes back, LastReload says why, the
# old workers keep serving, and ExecReload='s helper exits non-zero. With the
# fds back, the next reload rolls every worker.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
CLUSTERD_CONFIG=$TMP/clusterd.conf
printf 'workers = 2\ncrash-loop-limit = 3\nrestart-backoff-max = 200ms\n' >"$CLUSTERD_CONFIG"
PORT=$(free_port)
DBUS_SYSTEM_BUS_ADDRESS=$ADDR "$CLUSTERD" --config "$CLUSTERD_CONFIG" \
    --listen "127.0.0.1:$PORT" --root "$SRCDIR/service/www" --drain-timeout 5s \
    >"$TMP/clusterd.log" 2>&1 &
CLUSTERD_PID=$!
if ! wait_for 20 settled 2; then
    fail "clusterd did not come up with 2 workers"
    finish
fi

# the helper over the bus; systemctl is a stand-in with no status line, so
# that a clusterd.service on this host cannot answer for ours
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/systemctl"
chmod +x "$TMP/bin/systemctl"
helper() {
    PATH="$TMP/bin:$PATH" DBUS_SYSTEM_BUS_ADDRESS=$ADDR timeout -s KILL 30 \
        "$SRCDIR/service/clusterd-reload" 2>"$TMP/helper.err"
}

# Leave the manager exactly one free fd number: enough to read the config
# file and to notify, not enough for a socketpair.
free_fds() {
    local used n
    used=" $(find "/proc/$CLUSTERD_PID/fd" -mindepth 1 -printf '%f ') "
    for ((n = 0; n < 4096; n++)); do
        [[ $used == *" $n "* ]] || echo "$n"
    done
}
old_soft=$(prlimit --pid "$CLUSTERD_PID" --nofile --noheadings --output SOFT)
prlimit --pid "$CLUSTERD_PID" --nofile="$(free_fds | sed -n 2p):"

before=$(child_pids)
rc=0
helper || rc=$?
check "the helper: a reload whose workers cannot be forked fails (exit $rc)" test "$rc" = 1
check "the helper: it says why ($(tr '\n' '|' <"$TMP/helper.err"))" \
    grep -q "reload [0-9]* failed: worker 1 did not start" "$TMP/helper.err"
check "State is back to running (got $(mgr_get State))" test "$(mgr_get State)" = running
check "LastReload names the failure ($(mgr_get LastReload))" \
    eval '[[ "$(mgr_get LastReload)" == "reload 1 failed: worker 1 did not start" ]]'
check "the old workers still serve ($before -> $(child_pids))" \
    eval 'test "$(child_pids)" = "$before" && serves'
check "the failure is logged once" \
    test "$(grep -c 'reload failed: worker 1 did not start' "$TMP/clusterd.log")" = 1

prlimit --pid "$CLUSTERD_PID" --nofile="$old_soft:"
check "with the fds back, the helper reloads (exit 0)" helper
check "LastReload says so ($(mgr_get LastReload))" test "$(mgr_get LastReload)" = "reload 2 done"
check "every worker was replaced ($before -> $(child_pids))" \
    eval 'settled 2 && test -z "$(comm -12 <(tr " " "\n" <<<"$before" | sort) <(child_pids | tr " " "\n" | sort))"'
finish
