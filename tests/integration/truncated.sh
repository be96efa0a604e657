#!/usr/bin/env bash
# A file truncated while it is sent: the download ends at once with a short
# body, as from nginx, instead of hanging until the connection timeout
# (libmicrohttpd's sendfile stops at the new end and waits for ever). The
# cut is logged, the worker serves on, and downloads of files that do not
# shrink are left alone. Over HTTPS, libmicrohttpd reads the file instead
# and ends the answer itself when it reaches the new end, unless the
# worker cut it first; either is logged.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=SCRIPTDIR/tls-lib.sh
source "$(dirname "$0")/tls-lib.sh"

MIB=$((1024 * 1024))

# slow_download PORT PATH RANGE FLAG [CAFILE]: GET PATH (with "Range:
# bytes=RANGE" unless RANGE is -), over TLS when CAFILE is given, reading
# 4 MB/s through a small receive window so that the server is still
# sending; creates FLAG.started once the headers are in. Once FLAG.fast
# exists it reads as fast as it can, so that what the server had sent
# before a cut drains at once. Prints "whole N" or "short N of M" (body
# bytes) when it ends.
slow_download() {
        python3 -c '
import os, socket, ssl, sys, time
port, path, rng, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(60)
s.connect(("127.0.0.1", port))
if len(sys.argv) > 5:
    s = ssl.create_default_context(cafile=sys.argv[5]).wrap_socket(
        s, server_hostname="127.0.0.1")
extra = "" if rng == "-" else "Range: bytes=%s\r\n" % rng
s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, extra)).encode())
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("closed before the headers ended")
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
          if l.lower().startswith(b"content-length:")][0]
open(flag + ".started", "w").close()
got, start, rate, fast = len(body), time.monotonic(), 4 * 1000 * 1000, False
while got < length:
    try:
        chunk = s.recv(min(65536 if fast else 4096, length - got))
    except (ConnectionError, ssl.SSLError):
        break
    if not chunk:
        break
    got += len(chunk)
    if not fast:
        fast = os.path.exists(flag + ".fast")
        ahead = got / rate - (time.monotonic() - start)
        if ahead > 0 and not fast:
            time.sleep(ahead)
print("whole %d" % got if got == length else "short %d of %d" % (got, length))' "$@"
}

# truncate_during NAME RANGE [CAFILE]: a fresh 50 MiB file NAME,
# downloaded slowly (over TLS with CAFILE), truncated to 10 MiB a second
# into the download; sets RESULT to the download's last line and ENDED_MS
# to how long after the truncate it ended (a download still running 10 s
# after is stopped, and counts as 10 s)
truncate_during() {
        local name=$1 range=$2 flag=$TMP/$1 out=$TMP/$1.out pid start port=$PORT
        [[ -z ${3:-} ]] || port=$TLS_PORT
        head -c $((50 * MIB)) /dev/urandom >"$ROOT/$name"
        rm -f "$out" "$flag.started" "$flag.fast"
        slow_download "$port" "/$name" "$range" "$flag" ${3:+"$3"} >"$out" 2>&1 &
        pid=$!
        track "$pid"
        wait_for 10 test -e "$flag.started" || die "$name: no answer to the download"
        sleep 1
        truncate -s $((10 * MIB)) "$ROOT/$name"
        touch "$flag.fast"
        start=$(now_ms)
        if wait_for 10 dead "$pid"; then
                ENDED_MS=$(($(now_ms) - start))
        else
                ENDED_MS=10000
                kill "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        RESULT=$(tail -n1 "$out")
        [[ $ENDED_MS != 10000 ]] || RESULT="still running 10 s after the truncate"
}

make_root
make_cert a
PORT=$(free_port)
TLS_PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# a connection timeout far above the bound below: a stall shows as a stall
clusterd_start --workers 1 --connection-timeout 30 --listen-tls "127.0.0.1:$TLS_PORT" \
        --tls-certificate "$TMP/a.crt" --tls-key "$TMP/a.key"
wait_serving 1
WORKER=$(worker_pids)

# a file that stays as it is, downloaded across several of the worker's
# once-a-second checks, is not cut
head -c $((12 * MIB)) /dev/urandom >"$ROOT/steady.bin"
slow_download "$PORT" /steady.bin - "$TMP/steady" >"$TMP/steady.out" 2>&1 &
STEADY_PID=$!
track "$STEADY_PID"

truncate_during big.bin -
check_match "truncated mid-download: the client gets a short body" '^short [0-9]+ of 52428800$' \
        "$RESULT"
check_le "truncated mid-download: the download ends within 3 s, not at the 30 s timeout (took $ENDED_MS ms)" \
        3000 "$ENDED_MS"
check_cmd "truncated mid-download: logged at info with the file and both sizes" \
        log_has "info worker 1: closed a connection: .*/big\.bin shrank to 10485760 bytes while sent, short of the 52428800 promised"

truncate_during range.bin 20971520-47185919
check_match "a range truncated mid-download: the client gets a short body" \
        '^short [0-9]+ of 26214400$' "$RESULT"
check_le "a range truncated mid-download: the download ends within 3 s (took $ENDED_MS ms)" 3000 "$ENDED_MS"

truncate_during tls.bin - "$TMP/a.crt"
check_match "HTTPS, truncated mid-download: the client gets a short body" \
        '^short [0-9]+ of 52428800$' "$RESULT"
check_le "HTTPS, truncated mid-download: the download ends within 3 s (took $ENDED_MS ms)" 3000 "$ENDED_MS"
check_cmd "HTTPS, truncated mid-download: logged at info" \
        log_has "info worker 1: (closed a connection|answer ended short): .*/tls\.bin shrank to 10485760 bytes"

wait_for 15 dead "$STEADY_PID" || true
check_eq "a file that does not shrink: downloaded whole" "whole $((12 * MIB))" \
        "$(tail -n1 "$TMP/steady.out")"

check_eq "afterwards: the truncated file is served at its new size" "200 $((10 * MIB))" \
        "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 10 "$URL/big.bin")"
check_eq "afterwards: 200 for hello.txt" 200 "$(http_code "$URL/hello.txt")"
check_eq "the worker never exited (pid $WORKER)" "$WORKER" "$(worker_pids)"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
