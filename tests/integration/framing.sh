#!/usr/bin/env bash
# Requests whose framing breaks a MUST of RFC 9112 (or RFC 9110's Host rules)
# get exactly one 400 and the connection closed, sent on raw sockets: a
# second status line would mean part of the request was read as another
# (a desync behind a proxy), an open connection that the framing was
# guessed. Also the targets: absolute-form is served, a NUL in the decoded
# path is refused, and OPTIONS * names the methods.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
PORT=$(free_port)
clusterd_start --workers 1
wait_serving 1

# send NAME PYTHON-BYTES-LITERAL: sends the bytes on a connection of its own
# and prints "NAME STATUS-LINES FIRST-STATUS closed|open": the number of
# answers in all that came back (read one after another by their
# Content-Length; bytes that are not an answer count as one more), the
# first one's code, and whether the server closed
# within 3 s (a generous bound: a close is at once, a kept connection is
# "open" only by waiting).
send() {
        python3 -c '
import re, socket, sys
name, raw = sys.argv[1], eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", int(sys.argv[3])), timeout=3)
s.sendall(raw)
data, state = b"", "closed"
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    state = "open"
except ConnectionResetError:
    pass
codes = []
while data.startswith(b"HTTP/1."):  # each answer: its head, then its body
    head, _, data = data.partition(b"\r\n\r\n")
    codes.append(head[9:12])
    length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
    data = data[int(length.group(1)) if length else 0:]
if data:
    codes.append(b"junk")
first = codes[0].decode() if codes else "none"
print(name, len(codes), first, state)' "$1" "$2" "$PORT"
}

# refused NAME PYTHON-BYTES-LITERAL: one 400, and the connection closed; and
# counted in /metrics, unless refused_in_request_line says it is refused by
# libmicrohttpd before any callback of clusterd's could see it
N_REFUSED=0
refused() {
        N_REFUSED=$((N_REFUSED + 1))
        check_eq "$1: one 400, connection closed" "$1 1 400 closed" "$(send "$1" "$2")"
}
refused_in_request_line() {
        N_REFUSED=$((N_REFUSED - 1))
        refused "$@"
}

GET='b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n'
NEXT='b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"' # a request smuggled in a body

# a control: a good request is answered once and the connection kept
check_eq "control: a good request gets one 200 and the connection kept" \
        "good 1 200 open" "$(send good "$GET"'\r\n"')"
check_eq "control: HTTP/1.0 without Host gets one 200" \
        "http10 1 200 closed" "$(send http10 'b"GET /hello.txt HTTP/1.0\r\n\r\n"')"
check_eq "control: Host with a port, an IPv4 address, an IPv6 address: 200" \
        "hosts 3 200 closed" "$(send hosts 'b"GET /hello.txt HTTP/1.1\r\nHost: a.example:8080\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n"')"
check_eq "control: one empty line before the request line is skipped (RFC 9112 2.2)" \
        "crlf 1 200 open" "$(send crlf 'b"\r\n"+'"$GET"'\r\n"')"

# Content-Length that is not one decimal number
refused "Content-Length: abc" "$GET"'Content-Length: abc\r\n\r\n"'
refused "Content-Length: +3" "$GET"'Content-Length: +3\r\n\r\nabc"'
refused "Content-Length: -1" "$GET"'Content-Length: -1\r\n\r\n"'
refused "Content-Length: 0x10" "$GET"'Content-Length: 0x10\r\n\r\n"'
refused "Content-Length: 3, 3" "$GET"'Content-Length: 3, 3\r\n\r\nabc"'
# a number past 64 bits is well formed but too large for anything: 413
check_eq "Content-Length: huge: one 413, connection closed" "huge 1 413 closed" \
        "$(send huge "$GET"'Content-Length: 99999999999999999999999\r\n\r\n"')"
refused "two differing Content-Lengths" "$GET"'Content-Length: 0\r\nContent-Length: 37\r\n\r\n"+'"$NEXT"
# Transfer-Encoding
refused "Content-Length and Transfer-Encoding: chunked" \
        "$GET"'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"'
refused "Transfer-Encoding: gzip" "$GET"'Transfer-Encoding: gzip\r\n\r\n"'
refused "Transfer-Encoding: gzip, chunked" "$GET"'Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"'
refused "Transfer-Encoding: xchunked" "$GET"'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"'
# Host
refused "no Host on HTTP/1.1" 'b"GET /hello.txt HTTP/1.1\r\n\r\n"'
refused "two Host headers" "$GET"'Host: u\r\n\r\n"'
refused "two Host headers, the same" "$GET"'Host: t\r\n\r\n"'
refused "two Host headers on HTTP/1.0" 'b"GET /hello.txt HTTP/1.0\r\nHost: t\r\nHost: u\r\n\r\n"'
refused "Host with a space" 'b"GET /hello.txt HTTP/1.1\r\nHost: a b\r\n\r\n"'
refused "Host with a slash" 'b"GET /hello.txt HTTP/1.1\r\nHost: a/b\r\n\r\n"'
refused "Host with a port over 65535" 'b"GET /hello.txt HTTP/1.1\r\nHost: a:65536\r\n\r\n"'
refused "Host with a port not a number" 'b"GET /hello.txt HTTP/1.1\r\nHost: a:8o\r\n\r\n"'
refused "Host with userinfo" 'b"GET /hello.txt HTTP/1.1\r\nHost: u@a\r\n\r\n"'
refused "Host with an unclosed IPv6 bracket" 'b"GET /hello.txt HTTP/1.1\r\nHost: [::1\r\n\r\n"'
refused "empty Host on HTTP/1.1" 'b"GET /hello.txt HTTP/1.1\r\nHost: \r\n\r\n"'
# header names and lines
refused "whitespace before the colon" "$GET"'X-A : 1\r\n\r\n"'
refused "a space in a header name" "$GET"'X A: 1\r\n\r\n"'
refused "DEL in a header name" "$GET"'X\x7fA: 1\r\n\r\n"'
refused "an empty header name" "$GET"': 1\r\n\r\n"'
refused "a bare CR in a value" "$GET"'X-A: 1\r2\r\n\r\n"'
refused "a NUL in a value" "$GET"'X-A: 1\x002\r\n\r\n"'
refused "obs-fold" "$GET"'X-A: 1\r\n 2\r\n\r\n"'
refused_in_request_line "bare LF line ends" 'b"GET /hello.txt HTTP/1.1\nHost: t\n\n"'
refused "a bare LF ending one header" "$GET"'X-A: 1\n\r\n"'

# the refusals are counted
metrics=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics")
check_match "/metrics counts each of the $N_REFUSED refusals in clusterd_framing_refused_total" \
        "^clusterd_framing_refused_total $N_REFUSED\$" "$metrics"

# targets
check_eq "absolute-form (RFC 9112 3.2.2): 200" "abs 1 200 open" \
        "$(send abs 'b"GET http://t/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"')"
check_eq "absolute-form with a port and another Host: 200 (the authority wins)" "abs-port 1 200 open" \
        "$(send abs-port 'b"GET http://a.example:8080/hello.txt HTTP/1.1\r\nHost: other\r\n\r\n"')"
check_eq "absolute-form, https and no path: 200 (the index)" "abs-root 1 200 open" \
        "$(send abs-root 'b"GET HTTPS://t HTTP/1.1\r\nHost: t\r\n\r\n"')"
refused "absolute-form with a bad authority" 'b"GET http://a b/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"'
check_eq "absolute-form, body: the file's" "$(cat "$ROOT/hello.txt")" \
        "$(curl -s --max-time 5 --request-target http://t/hello.txt "http://127.0.0.1:$PORT/")"
check_eq "a NUL in the decoded path (/hello.txt%00.html): 400, closed" "nul 1 400 closed" \
        "$(send nul 'b"GET /hello.txt%00.html HTTP/1.1\r\nHost: t\r\n\r\n"')"
check_eq "a NUL at the end of the decoded path (/hello.txt%00): 400, closed" "nul-end 1 400 closed" \
        "$(send nul-end 'b"GET /hello.txt%00 HTTP/1.1\r\nHost: t\r\n\r\n"')"
out=$(curl -s -i --max-time 5 -X OPTIONS --request-target '*' "http://127.0.0.1:$PORT/" | tr -d '\r')
check_match "OPTIONS *: 200" '^HTTP/1.1 200 ' "$out"
check_match "OPTIONS *: Allow names the methods served" '^Allow: GET, HEAD, OPTIONS$' "$out"
out=$(curl -s -i --max-time 5 -X OPTIONS "http://127.0.0.1:$PORT/hello.txt" | tr -d '\r')
check_match "OPTIONS on a path: 200 with the same Allow" '^Allow: GET, HEAD, OPTIONS$' "$out"
out=$(curl -s -i --max-time 5 -X DELETE "http://127.0.0.1:$PORT/hello.txt" | tr -d '\r')
check_match "DELETE: 405 naming OPTIONS too" '^Allow: GET, HEAD, OPTIONS$' "$out"
check_eq "a backslash in the path (/docs\\index.html): 403" 403 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "http://127.0.0.1:$PORT/docs%5Cindex.html")"
check_eq "a raw backslash in the path: 403" "bs 1 403 open" \
        "$(send bs 'b"GET /docs\\index.html HTTP/1.1\r\nHost: t\r\n\r\n"')"
finish
