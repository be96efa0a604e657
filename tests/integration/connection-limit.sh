#!/usr/bin/env bash
# A worker at its connection limit stops accepting: a new connection waits in
# the kernel's backlog, unanswered, and is served as soon as one of the open
# connections goes away. It is neither refused nor dropped.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# hold_connections PORT N DIR: opens N keep-alive connections, makes one
# request on each, then writes DIR/open. It closes one connection when
# DIR/close-one appears and exits when DIR/done appears or DIR goes away.
# Run it in the background: the exec makes its pid the one to kill.
hold_connections() {
        exec python3 -c '
import os, socket, sys, time
port, n, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while b"plain text\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed before the answer")
        data += chunk
    conns.append(s)
open(os.path.join(d, "open"), "w").close()
closed = False
while os.path.isdir(d) and not os.path.exists(os.path.join(d, "done")):
    if not closed and os.path.exists(os.path.join(d, "close-one")):
        conns.pop().close()
        closed = True
    time.sleep(0.02)' "$@"
}

make_root
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 1 --connection-limit 4 --connection-timeout 60
wait_serving 1
WORKER=$(worker_pids)

HOLD=$TMP/hold
mkdir -p "$HOLD"
hold_connections "$PORT" 4 "$HOLD" >>"$TMP/hold.log" 2>&1 &
HOLD_PID=$!
track "$HOLD_PID"
wait_for 10 test -e "$HOLD/open" || die "could not open 4 connections: $(cat "$TMP/hold.log")"

curl -s -o "$TMP/waiting.out" -w '%{http_code}' --max-time 20 "$URL/hello.txt" >"$TMP/waiting.code" 2>&1 &
WAITING_PID=$!
track "$WAITING_PID"
sleep 1.5
check_cmd "at the limit: a new request is not answered within 1.5 s" alive "$WAITING_PID"
# Recv-Q of a listening socket is its accept queue
check_eq "at the limit: the new connection waits in the listening socket's backlog" 1 \
        "$(ss -Hltn "( sport = :$PORT )" | awk '{ n += $2 } END { print n + 0 }')"

start=$(now_ms)
touch "$HOLD/close-one"
status=0
wait "$WAITING_PID" || status=$?
elapsed=$(($(now_ms) - start))
check_eq "one connection closed: the waiting request ends with curl status 0" 0 "$status"
check_eq "one connection closed: the waiting request gets 200" 200 "$(cat "$TMP/waiting.code")"
check_cmd "one connection closed: the waiting request gets the file" \
        cmp -s "$TMP/waiting.out" "$ROOT/hello.txt"
check_le "one connection closed: answered within 2 s (ms)" 2000 "$elapsed"
check_eq "the worker never exited (pid $WORKER)" "$WORKER" "$(worker_pids)"

touch "$HOLD/done"
wait "$HOLD_PID" || true
check_eq "after the idle connections left: 200" 200 "$(http_code "$URL/hello.txt")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
