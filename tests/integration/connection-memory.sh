#!/usr/bin/env bash
# What a connection's memory (connection-memory, default 32K) holds and costs:
# the default takes 8 KiB of request headers, nginx's default capacity, and
# an idle keep-alive connection costs its worker at most 8 KiB of RSS with the
# bundled libmicrohttpd, whose patch (subprojects/packagefiles/
# libmicrohttpd-pool-no-memset.patch) stops zeroing the whole pool after
# every request. A memory figure, not a timing.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

IDLE=400
make_root
PORT=$(free_port)
clusterd_start --workers 1
wait_serving 1

# status_with_headers COUNT SIZE: the status of one GET carrying COUNT
# headers of SIZE bytes of value each
status_with_headers() {
	python3 - "$PORT" "$1" "$2" <<'EOF'
import socket, sys
port, count, size = (int(a) for a in sys.argv[1:])
head = b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n"
head += b"".join(b"X-H%d: %s\r\n" % (i, b"v" * size) for i in range(count))
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(head + b"\r\n")
data = b""
while b"\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b" ")[1].decode() if data else "none")
EOF
}

check_eq "one 8 KiB header with the default connection-memory: 200" 200 "$(status_with_headers 1 8192)"
check_eq "8 KiB of headers in 16 of 512 bytes: 200" 200 "$(status_with_headers 16 512)"
check_eq "8 KiB of headers in 128 of 64 bytes: 200" 200 "$(status_with_headers 128 64)"

worker=$(worker_pids)
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$worker/status"; }

# Holds IDLE keep-alive connections, each after one answered request; says
# "open N" when they are, and closes them all at the end of its stdin.
coproc IDLE_CONNS {
	exec python3 -c '
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while not data.endswith(b"plain text\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    conns.append(s)
print("open", sum(1 for s in conns if s.fileno() >= 0), flush=True)
sys.stdin.read()
' "$PORT" "$IDLE"
}
track "$IDLE_CONNS_PID"
# the pool of the first connections comes from memory the warm-up left free
before=$(rss)
read -r -t 60 _ opened <&"${IDLE_CONNS[0]}" || opened=0
after=$(rss)
check_eq "$IDLE idle keep-alive connections held open" "$IDLE" "$opened"
per_conn=$(((after - before) * 1024 / IDLE))
echo "     worker RSS $before KiB, then $after KiB with $IDLE idle connections: $per_conn bytes each"
if [[ ${CLUSTERD_MHD_BUNDLED:-1} == 1 ]]; then
	check_le "RSS per idle keep-alive connection at most 8 KiB (bytes)" 8192 "$per_conn"
else
	skip "RSS per idle connection: the system's libmicrohttpd zeroes the whole pool (about 33 KiB)"
fi
# shellcheck disable=SC1083,SC2093 # closes the coproc's stdin, as bench/run does
exec {IDLE_CONNS[1]}>&-
check_eq "still serving" 200 "$(http_code "http://127.0.0.1:$PORT/hello.txt")"
finish
