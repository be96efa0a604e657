#!/usr/bin/env bash
# With WatchdogSec= set (WATCHDOG_USEC), the manager's event loop pings
# systemd with WATCHDOG=1 at least every half period; a stopped manager
# stops pinging, so systemd would restart it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
notify_start
PORT=$(free_port)
WRAP=(env WATCHDOG_USEC=1000000)
clusterd_start --workers 1
wait_serving 1
wait_for 10 notified '^READY=1$' || die "READY=1 never arrived"

pings() { cut -d' ' -f1,3- "$NOTIFY_OUT" | grep -c " WATCHDOG=1$" || true; }
before=$(pings)
sleep 2.2
after=$(pings)
check_ge "WATCHDOG=1 at least every 0.5 s for a 1 s watchdog ($before -> $after in 2.2 s)" \
        "$((before + 4))" "$after"
check_eq "every WATCHDOG=1 came from the manager (pid $CD_PID)" "" \
        "$(awk -v m="$CD_PID" '$3 == "WATCHDOG=1" && $1 != m' "$NOTIFY_OUT")"

kill -STOP "$CD_PID"
sleep 0.3
stopped=$(pings)
sleep 1.5
check_eq "a stopped manager sends no WATCHDOG=1" "$stopped" "$(pings)"
kill -CONT "$CD_PID"
# shellcheck disable=SC2317 # called through wait_for
pinging_again() { (($(pings) > stopped)); }
check_cmd "pings resume after SIGCONT" wait_for 5 pinging_again

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
