#!/usr/bin/env bash
# Signals clusterd does not act on are ignored, by the manager and by the
# workers alike: a logrotate script's SIGUSR1, a SIGUSR2 or SIGALRM meant for
# another daemon, a real-time signal. Before, each one's default action ended
# the manager, and every worker with it. The manager logs the ones it saw;
# SIGUSR1 is kept for reopening log files.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 2
wait_serving 2
before=$(worker_pids)
sigs=(USR1 USR2 ALRM VTALRM PROF IO PWR XCPU XFSZ STKFLT RTMIN RTMIN+3 RTMAX)

for sig in "${sigs[@]}"; do
        kill -s "$sig" "$CD_PID"
        sleep 0.1
        check_cmd "SIG$sig to the manager: it still runs" alive "$CD_PID"
done
for sig in "${sigs[@]}" HUP INT QUIT; do
        for p in $before; do
                kill -s "$sig" "$p" 2>/dev/null || true
        done
        sleep 0.1
        check_eq "SIG$sig to both workers: both still run" "$before" "$(worker_pids)"
done
check_cmd "SIGUSR1: the manager says it has no log file to reopen" \
        wait_log 'SIGUSR1: no log file to reopen' 5
check_cmd "SIGUSR2: the manager logs that it ignores it" log_has 'ignoring SIGUSR2 from pid [0-9]+'
check_cmd "SIGALRM: the manager logs that it ignores it" log_has 'ignoring SIGALRM from pid [0-9]+'
check_eq "the site answers" 200 "$(http_code "$URL/")"
check_eq "no worker was replaced" "$before" "$(worker_pids)"
check_no_match "no worker exited" 'exited|killed by signal' "$(cat "$LOG")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM afterwards: a clean stop, exit status 0" 0 "$EXIT_STATUS"
finish
