#!/usr/bin/env bash
# Standalone, clusterd binds SO_REUSEPORT sockets; a second instance on an
# address already served must not quietly join the group and take part of
# the traffic. It has to fail with a clear message instead.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2

for addr in "127.0.0.1:$PORT" "*:$PORT"; do
        status=0
        out=$(timeout 10 "$CLUSTERD" --config "$CONF" --root "$ROOT" --listen "$addr" --workers 1 2>&1) ||
                status=$?
        check_eq "second instance on $addr: exit status 1" 1 "$status"
        check_match "second instance on $addr: says the address is in use" \
                "cannot listen on ${addr//\*/\\*}: Address already in use" "$out"
done
check_eq "the first instance still serves" 200 "$(http_code "http://127.0.0.1:$PORT/")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"

# once it is gone the address is free again, even with connections in TIME_WAIT
clusterd_start --workers 1
wait_serving 1
check_eq "a new instance binds the same address after the first stopped" 200 \
        "$(http_code "http://127.0.0.1:$PORT/")"
finish
