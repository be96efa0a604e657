#!/usr/bin/env bash
# How many workers run: --workers N exactly, and "auto" counts the CPUs this
# process may use (taskset -c 0 gives one worker, taskset -c 0,1 two).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

stop() {
        kill -TERM "$CD_PID"
        wait_exit "$CD_PID" 20 || die "$1: clusterd did not stop within 20s"
        check_eq "$1: stopped with exit status 0" 0 "$EXIT_STATUS"
}

make_root

PORT=$(free_port)
clusterd_start --workers 3
wait_serving 3
check_eq "--workers 3: 3 worker processes" 3 "$(count_lines "$(worker_pids)")"
check_eq "--workers 3: manager and 3 workers are all the clusterd processes" 4 \
        "$(count_lines "$(our_processes)")"
check_eq "--workers 3: site answers" 200 "$(http_code "http://127.0.0.1:$PORT/")"
stop "--workers 3"

PORT=$(free_port)
WRAP=(taskset -c 0)
clusterd_start --workers auto
WRAP=()
wait_serving 1
check_eq "taskset -c 0, --workers auto: exactly 1 worker process" 1 "$(count_lines "$(worker_pids)")"
check_cmd "taskset -c 0, --workers auto: log says 'starting 1 worker(s)'" \
        log_has 'starting 1 worker\(s\)'
check_eq "taskset -c 0, --workers auto: site answers" 200 "$(http_code "http://127.0.0.1:$PORT/")"
stop "taskset -c 0"

# auto is not simply 1: with two CPUs allowed it starts two
if (($(nproc --all) >= 2)); then
        PORT=$(free_port)
        WRAP=(taskset -c "0,1")
        clusterd_start --workers auto
        WRAP=()
        wait_serving 2
        check_eq "taskset -c 0,1, --workers auto: exactly 2 worker processes" 2 \
                "$(count_lines "$(worker_pids)")"
        stop "taskset -c 0,1"
else
        skip "taskset -c 0,1: this machine has one CPU"
fi

check_eq "no clusterd process left" "" "$(our_processes)"
finish
