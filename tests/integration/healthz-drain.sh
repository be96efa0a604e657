#!/usr/bin/env bash
# /healthz tells a load balancer the truth: 200 while the worker serves, 503
# (with "Connection: close") once it drains. A keep-alive connection opened
# before SIGTERM asks again right after it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
PORT=$(free_port)
clusterd_start --workers 1
wait_serving 1

out=$(python3 - "$PORT" "$CD_PID" "$LOG" <<'PY'
import os, signal, socket, sys, time
port, manager, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)

def ask():
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed before an answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            return "closed mid-answer"
        body += chunk
    status = head.split(b" ")[1].decode()
    closing = b"connection: close" in head.lower()
    return "%s %s %s" % (status, body.decode().strip(), "close" if closing else "keep-alive")

print("before:", ask())
os.kill(manager, signal.SIGTERM)
# ask as soon as the worker says it drains: idle connections get one second
deadline = time.monotonic() + 10
while time.monotonic() < deadline and "worker 1: draining" not in open(log).read():
    time.sleep(0.02)
print("draining:", ask())
PY
)
check_match "before SIGTERM: /healthz 200 ok, connection kept" '^before: 200 ok keep-alive$' "$out"
check_match "while draining: /healthz 503 draining, Connection: close" \
        '^draining: 503 draining close$' "$out"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
