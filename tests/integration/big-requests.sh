#!/usr/bin/env bash
# Requests near the size that fits in a connection's memory (connection-memory)
# are answered: served, or refused with 431, and never closed or left
# hanging without a word. libmicrohttpd did both around its limit: a header
# that left no room for the answer's header got the connection closed (0.9.75
# and 1.0.1), and too many query arguments hung it until the connection
# timeout (0.9.75; 1.0.1 answers those with a 431 of its own).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

POOL=16384
make_root
PORT=$(free_port)
clusterd_start --workers 1 --connection-memory 16K
wait_serving 1
first_worker=$(worker_pids)

# scan VARIANT FROM TO STEP OK REFUSED...: one request per size N from FROM
# to TO, each on its own connection. Prints "N STATUS" for the first request
# whose answer is not OK or one of REFUSED (STATUS "none" when the server
# closed without an answer, "hang" when nothing came in 3 s), or "all
# answered, OK=a REFUSED=b ..." with a count for each status.
scan() {
	python3 -c '
import socket, sys
port, variant, pool = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lo, hi, step = (int(a) for a in sys.argv[4:7])
ok, refused = sys.argv[7], sys.argv[8:]

def request(n):
    head = b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n"
    if variant == "header":
        return head + b"X-Big: " + b"a" * n + b"\r\n\r\n"
    if variant == "headers":
        return head + b"".join(b"X-%d: v\r\n" % i for i in range(n)) + b"\r\n"
    if variant == "cookies":
        return head + b"Cookie: " + b"; ".join(b"c%d=v" % i for i in range(n)) + b"\r\n\r\n"
    if variant == "arguments":
        args = b"&".join(b"a%d" % i for i in range(n))
        return b"GET /hello.txt?" + args + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    if variant.startswith("arguments+header"):  # records for a share of the pool
        share = int(variant.rsplit("-", 1)[1])
        args = b"&".join(b"a%d" % i for i in range(pool * share // 100 // 64))
        return (b"GET /hello.txt?" + args + b" HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * n
                + b"\r\n\r\n")
    if variant == "redirect":  # the Location repeats a 1,500-byte query
        return (b"GET /docs?q=" + b"b" * 1500 + b" HTTP/1.1\r\nHost: t\r\nX-Big: "
                + b"a" * n + b"\r\n\r\n")
    raise SystemExit("unknown variant " + variant)

def status(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(request(n))
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return "hang"
    except ConnectionResetError:
        pass
    finally:
        s.close()
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    return line[9:12] if line.startswith("HTTP/1.1 ") else "none"

seen = dict.fromkeys([ok] + refused, 0)
for n in range(lo, hi + 1, step):
    got = status(n)
    if got not in seen:
        print(n, got)
        sys.exit(0)
    seen[got] += 1
print("all answered, " + " ".join("%s=%d" % kv for kv in seen.items()))
' "$PORT" "$1" "$POOL" "${@:2}"
}

# check_scan DESC VARIANT FROM TO STEP OK [REFUSED...]: every request
# answered, and the range reaches both sides of the limit (or it would prove
# nothing): every status listed was seen
check_scan() {
	local desc=$1 out want=
	shift
	for code in "${@:5}"; do
		want+=" $code=[1-9][0-9]*"
	done
	out=$(scan "$@")
	check_match "$desc: every request near the limit answered ${*:5}" "^all answered,$want\$" "$out"
}

# With a 16 KiB pool: one header's value up to about 15 KiB fits
check_scan "one long header" header $((POOL - 4096)) $((POOL + 256)) 8 200 431
# a header line takes about 70 bytes of the pool: about 230 fit
check_scan "many headers" headers $((POOL / 90)) $((POOL / 60)) 1 200 431
check_scan "many cookies" cookies $((POOL / 90)) $((POOL / 60)) 1 200 431
# arguments whose records no longer fit in the pool are refused by
# libmicrohttpd: 414 or 431, as it weighs the request line against the
# headers (1.0.1 gave 414 to one size, just past the limit, and 431 beyond)
check_scan "many query arguments" arguments $((POOL / 200)) $((POOL / 55)) 1 200 414 431
# arguments taking 40%, 60% and 80% of the pool, then a header up to the
# rest and beyond (with 0.9.75, 60% hung or closed)
check_scan "query arguments (40% of the pool) and a long header" arguments+header-40 \
        0 "$POOL" 64 200 431
check_scan "query arguments (60% of the pool) and a long header" arguments+header-60 \
        0 "$POOL" 64 200 431
check_scan "query arguments (80% of the pool) and a long header" arguments+header-80 \
        0 "$POOL" 64 200 431
# a redirect repeats the query in its Location: less room for the rest
check_scan "a redirect with a long query" redirect $((POOL - 6144)) $((POOL - 1024)) 8 301 431

# the refusal itself: a status line, Connection: close, a body only for GET
# (the client does not ask for the close, and the answer must end it)
big=X-Big:\ $(printf 'a%.0s' $(seq 1 $((POOL - 600))))
out=$(raw_request --no-close GET /hello.txt "$big")
check_eq "GET with a header too large for the answer: 431" \
        "HTTP/1.1 431 Request Header Fields Too Large" "$(head -n1 <<<"$out")"
check_eq "GET with a header too large for the answer: closed, saying so, with a reason" \
        "Connection: close|body-bytes: $(printf '431 Request Header Fields Too Large\n' | wc -c)" \
        "$(grep -E '^(Connection:|body-bytes:|\(left open\))' <<<"$out" | paste -sd '|')"
out=$(raw_request --no-close HEAD /hello.txt "$big")
check_eq "HEAD with the same header: 431 without a body, closed" \
        "HTTP/1.1 431 Request Header Fields Too Large|Connection: close|body-bytes: 0" \
        "$(grep -E '^(HTTP/|Connection:|body-bytes:|\(left open\))' <<<"$out" | paste -sd '|')"

# the 431 for too many arguments is libmicrohttpd's: no body after HEAD,
# and the connection closed
args=$(seq -f 'a%g' 1 $((POOL / 50)) | paste -sd '&')
check_match "HEAD with too many arguments: 431, nothing after the header, closed" \
        "^HTTP/1.1 431 Request Header Fields Too Large\|Connection: close\|body-bytes: 0\$" \
        "$(raw_request --no-close HEAD "/hello.txt?$args" |
                grep -E '^(HTTP/|Connection:|body-bytes:|\(left open\))' | paste -sd '|')"

check_eq "still serving after the refusals" 200 "$(http_code "http://127.0.0.1:$PORT/hello.txt")"
check_eq "the worker is still the first one" "$first_worker" "$(worker_pids)"
finish
