#!/usr/bin/env bash
# A request must arrive whole within connection-timeout: its request line
# from the connection's start or the end of its previous request, and the
# rest (header and any body) from its request line. MHD's own timeout counts
# from the last byte, so a client sending a request a byte at a time
# ("slowloris") would otherwise hold its connection, and a slot of the
# connection limit, for ever. Slow downloads and kept-alive connections that
# ask in time are not cut.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# client PORT MODE SECONDS: one connection for at most SECONDS; prints
# "closed AFTER" or "open AFTER" (in milliseconds from the connect) and how
# many answers came. MODE is
#   trickle   one byte of an endless header every 0.3 s, watching for the
#             server's close in between, so AFTER is when the cut came
#   slowbody  a POST header announcing 100000 bytes, then the same trickle
#   late      one request, 1.5 s idle, the request line, and the rest of
#             the header 1.2 s later; prints how many answers came
#   download  GET a large file, read 2 KiB every 50 ms with a small buffer
#   requests  a GET every 1.2 s on the same connection, reading each answer
client() {
        python3 - "$@" <<'PY'
import select, socket, sys, time
port, mode, total = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
t0 = time.monotonic()
s.connect(("127.0.0.1", port))
s.settimeout(5)
el = lambda: int((time.monotonic() - t0) * 1000)
answers = 0

def answer():  # reads one answer to GET /hello.txt
    data = b""
    while not data.endswith(b"plain text\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("EOF")
        data += chunk

def trickle(head):  # sends head, then a byte every 0.3 s until the server closes
    s.sendall(head)
    while time.monotonic() - t0 < total:
        s.send(b"a")
        next_byte = time.monotonic() + 0.3
        while (left := next_byte - time.monotonic()) > 0:
            if select.select([s], [], [], left)[0] and not s.recv(4096):
                raise ConnectionError("EOF")

try:
    if mode == "trickle":
        trickle(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    elif mode == "slowbody":
        trickle(b"POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
    elif mode == "late":
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        answer()
        answers += 1
        time.sleep(1.5)
        s.sendall(b"GET /hello.txt HTTP/1.1\r\n")
        time.sleep(1.2)
        s.sendall(b"Host: t\r\n\r\n")
        answer()
        answers += 1
    elif mode == "download":
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        while time.monotonic() - t0 < total:
            if not s.recv(2048):
                raise ConnectionError("EOF")
            time.sleep(0.05)
    else:
        while time.monotonic() - t0 < total:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            answer()
            answers += 1
            time.sleep(1.2)
    print("open", el(), answers)
except OSError:
    print("closed", el(), answers)
PY
}

make_root
head -c 4000000 /dev/urandom >"$ROOT/big.bin"
PORT=$(free_port)
clusterd_start --workers 1 --connection-timeout 2
wait_serving 1

# The cut comes at the first stall check (once a second, up to 250 ms late:
# worker.c) at least 2 s after the request line, so 2000-3250 ms after the
# connect, plus the worker's wake-up. 3900 leaves 650 ms for that under load,
# and fails a cut at twice the timeout, which cannot come before 4000.
read -r state after _ < <(client "$PORT" trickle 8)
check_eq "a header sent a byte every 0.3 s: the server closes the connection" closed "$state"
check_ge "... not before the 2 s timeout (after $after ms)" 2000 "$after"
check_le "... and before twice the timeout (after $after ms)" 3900 "$after"

read -r state after _ < <(client "$PORT" slowbody 8)
check_eq "a body sent a byte every 0.3 s: the server closes the connection" closed "$state"
check_ge "... not before the 2 s timeout (after $after ms)" 2000 "$after"
check_le "... and before twice the timeout (after $after ms)" 3900 "$after"

check_eq "/metrics counts the 2 connections closed" 2 \
        "$(curl -s "http://127.0.0.1:$PORT/metrics" |
                sed -n 's/^clusterd_worker_stalled_closed_total{worker="1"} //p')"

read -r state after answers < <(client "$PORT" late 5)
check_eq "a request line 1.5 s into the idle time, the header 1.2 s later: answered" 2 "$answers"

read -r state after _ < <(client "$PORT" download 5)
check_eq "a download read slowly for 5 s (2 s timeout): still open" open "$state"

read -r state after answers < <(client "$PORT" requests 5)
check_eq "a request every 1.2 s on one connection for 5 s: still open" open "$state"
check_ge "... and every one answered ($answers)" 4 "$answers"

check_eq "GET /hello.txt afterwards: 200" 200 "$(http_code "http://127.0.0.1:$PORT/hello.txt")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
