#!/usr/bin/env bash
# A low open file limit does not fail silently. At start the manager raises
# the soft limit to the hard one, and when even that is short of what
# connection-limit needs, it logs one warning with both numbers and the
# connection limit that fits. A worker out of fds cannot accept: each
# failed accept is counted in /metrics and logged (the first at once, then
# at most once per 10 s with the count), and the worker serves again once
# the clients go.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# crowd PORT N SECONDS: opens N connections at once, sends a request on
# each, reads what comes for SECONDS, then closes them all; prints how many
# were answered
crowd() {
        python3 -c '
import select, socket, sys, time
port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(0.2)
for s in socks:
    try:
        s.send(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
    except OSError:
        pass
answered, end = set(), time.monotonic() + hold
while time.monotonic() < end:
    r, _, _ = select.select([s for s in socks if s not in answered], [], [], 0.1)
    for s in r:
        try:
            s.recv(4096)
        except OSError:
            pass
        answered.add(s)
for s in socks:
    s.close()
print(len(answered))' "$@"
}

# metric NAME: its value in /metrics (empty when unreachable)
metric() {
        { curl -s --max-time 5 "$URL/metrics" || true; } | sed -n "s/^$1 //p"
}

ACCEPT_LINE='warning worker 1: [0-9]+ connection\(s\) could not be accepted: Too many open files \(open file limit 64\)'

make_root
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# a soft limit below the hard one: raised, no warning
WRAP=(prlimit --nofile=64:4096)
clusterd_start --workers 1 --connection-limit 100
wait_serving 1
check_eq "soft 64, hard 4096: the worker's soft limit is raised to 4096" 4096 \
        "$(awk '/^Max open files/ { print $4 }' "/proc/$(worker_pids)/limits")"
check_no_match "soft 64, hard 4096: no open file limit warning" 'open file limit' "$(cat "$LOG")"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"

# hard limit 64: one warning with both numbers and the limit that fits
WRAP=(prlimit --nofile=64:64)
clusterd_start --workers 1 --connection-limit 100
wait_serving 1
WORKER=$(worker_pids)
check_eq "hard limit 64: one warning, with both numbers and the connection limit that fits" 1 \
        "$(grep -cE 'warning manager: the open file limit is 64, but connection-limit 100 needs up to 264 fds per worker: .* set connection-limit to 1$' "$LOG" || true)"
check_eq "before the crowd: no failed accept counted" 0 "$(metric clusterd_accept_failed_total)"

# 300 clients against a worker with room for about 50 connections
answered=$(crowd "$PORT" 300 3)
check_le "300 clients at once: not all are answered while the fds are out" 299 "$answered"
wait_for 10 test -n "$(metric clusterd_accept_failed_total)" || true
FAILED=$(metric clusterd_accept_failed_total)
check_ge "the failed accepts are counted in clusterd_accept_failed_total" 1 "$FAILED"
check_eq "and in the worker's own series" "$FAILED" \
        "$(metric 'clusterd_worker_accept_failed_total{worker="1"}')"
check_eq "the failed accepts are logged at once, one line" 1 "$(grep -cE "$ACCEPT_LINE" "$LOG" || true)"

# a second crowd within 10 s: counted, but its line waits for the interval
crowd "$PORT" 300 2 >/dev/null
check_eq "a second crowd within 10 s: still one line" 1 "$(grep -cE "$ACCEPT_LINE" "$LOG" || true)"
wait_for 10 test -n "$(metric clusterd_accept_failed_total)" || true
FAILED2=$(metric clusterd_accept_failed_total)
check_ge "a second crowd within 10 s: its failed accepts are counted all the same" \
        $((FAILED + 1)) "$FAILED2"
wait_for 15 test "$(grep -cE "$ACCEPT_LINE" "$LOG" || true)" -ge 2 || true
LINES=$(grep -E "$ACCEPT_LINE" "$LOG" || true)
check_eq "10 s after the first line: a second, with what was held back" 2 "$(count_lines "$LINES")"
check_eq "the counts in the two lines add up to what /metrics counted" "$FAILED2" \
        "$(sed -nE 's/.*warning worker 1: ([0-9]+) connection.*/\1/p' <<<"$LINES" |
                awk '{ n += $1 } END { print n + 0 }')"

# the requests accepted while no fd was left for their file get 500: said
# once per 10 s, with their count, not once each
opens=$(grep -c "cannot open 'hello.txt' for a request: Too many open files" "$LOG" || true)
check_le "files that could not be opened: at most one line per crowd, not one per request ($opens)" \
        2 "$opens"
check_eq "the clients gone: 200 for hello.txt" 200 "$(http_code "$URL/hello.txt")"
check_eq "the clients gone: /metrics answers" 200 "$(http_code "$URL/metrics")"
check_eq "the worker never exited (pid $WORKER)" "$WORKER" "$(worker_pids)"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
