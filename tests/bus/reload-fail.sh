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
start_clusterd_from_config 2
leave_one_fd

before=$(child_pids)
rc=0
reload_helper || rc=$?
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

give_fds_back
check "with the fds back, the helper reloads (exit 0)" reload_helper
check "LastReload says so ($(mgr_get LastReload))" test "$(mgr_get LastReload)" = "reload 2 done"
check "every worker was replaced ($before -> $(child_pids))" \
    eval 'settled 2 && test -z "$(comm -12 <(tr " " "\n" <<<"$before" | sort) <(child_pids | tr " " "\n" | sort))"'
finish
