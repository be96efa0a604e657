#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# ReopenLogs does what SIGUSR1 does, for logrotate: after the access log is
# moved away, every worker writes to a new file at its path, and no line is
# lost between the two. Nothing else changes: the same worker processes.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

LOGFILE=$TMP/access.log
start_bus
CLUSTERD_CONFIG=$TMP/clusterd.conf
printf 'access-log = %s\n' "$LOGFILE" >"$CLUSTERD_CONFIG"
start_clusterd 2

# get N PATH: N requests for PATH on fresh connections, all must answer
get() {
    local i
    for ((i = 0; i < $1; i++)); do
        curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PORT$2" || return 1
    done
}

lines() { # FILE PATTERN: how many lines of FILE hold PATTERN (0 without FILE)
    if [ -e "$1" ]; then grep -c -- "$2" "$1" || true; else echo 0; fi
}

pids=$(child_pids)
check "20 requests before the rotation answer" get 20 /index.html?before
mv "$LOGFILE" "$LOGFILE.1"
check "ReopenLogs is accepted" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager ReopenLogs
check "the manager says both workers reopen their log" \
    wait_for 5 grep -q 'bus: uid 0 asks to reopen the logs: 2 worker(s) reopen the access log' \
    "$TMP/clusterd.log"
check "a new file is there once the workers reopened" wait_for 5 test -e "$LOGFILE"
check "20 requests after the rotation answer" get 20 /index.html?after
sleep 1.5 # every line is written within a second
before_old=$(lines "$LOGFILE.1" '?before ')
after_old=$(lines "$LOGFILE.1" '?after ')
after_new=$(lines "$LOGFILE" '?after ')
before_new=$(lines "$LOGFILE" '?before ')
check "the moved file has the 20 earlier lines ($before_old) and none of the later ($after_old)" \
    test "$before_old/$after_old" = "20/0"
check "the new file has the 20 later lines ($after_new) and none of the earlier ($before_new)" \
    test "$after_new/$before_new" = "20/0"
check "nothing else: the same worker pids" test "$(child_pids)" = "$pids"

# without an access log there is nothing to reopen, and that is no error
stop_clusterd
: >"$CLUSTERD_CONFIG"
start_clusterd 2
check "ReopenLogs without an access log is accepted" \
    bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager ReopenLogs
check "... and tells no worker" \
    wait_for 5 grep -q 'reopen the logs: 0 worker(s) reopen the access log' "$TMP/clusterd.log"

finish
