#!/usr/bin/env bash
# access-log = FILE: one line per request in the combined log format, as
# goaccess and awstats read it, checked byte for byte: GET with a referer,
# HEAD, 404, a redirect, 405, HTTP/1.0, what the client sent with quotes,
# backslashes, control and non-ASCII bytes (escaped as \xHH, as nginx does),
# the 431 clusterd writes itself, a 400 of libmicrohttpd's own, /metrics,
# and an IPv6 client. The time field is the time of the answer, in the
# local time zone. A line is written within a second of its request, and a
# reload to a log that cannot be written is refused.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
PORT=$(free_port)
ACCESS=$TMP/access.log
TIME_RE='\[[0-9]{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\]'
IPV6=
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
        IPV6=1
fi
listen6=()
[[ -z $IPV6 ]] || listen6=(--listen "[::1]:$PORT")
# one worker: the lines come in the order of the requests; the log from
# the file, for the reload below
printf 'access-log = %s\n' "$ACCESS" >"$CONF"
clusterd_start --workers 1 "${listen6[@]}"
wait_serving 1

# send ADDR REQUEST-BYTES (a Python bytes literal): one raw request on a
# connection of its own; waits for the answer to end
send() {
        python3 -c '
import socket, sys
host, port, data = sys.argv[1], int(sys.argv[2]), eval(sys.argv[3])
s = socket.create_connection((host, port), timeout=5)
s.sendall(data)
try:
    while s.recv(65536):
        pass
except socket.timeout:
    pass' "$1" "$PORT" "$2"
}

H='Host: t\r\nConnection: close\r\n'
send 127.0.0.1 "b'GET /hello.txt HTTP/1.1\r\n${H}Referer: http://ref.example/\r\nUser-Agent: curl/7.88.1\r\n\r\n'"
send 127.0.0.1 "b'HEAD /hello.txt HTTP/1.1\r\n${H}User-Agent: curl/7.88.1\r\n\r\n'"
send 127.0.0.1 "b'GET /missing?q=%22x%22&r=1 HTTP/1.1\r\n${H}\r\n'"
send 127.0.0.1 "b'GET /docs HTTP/1.1\r\n${H}\r\n'"
send 127.0.0.1 "b'POST /form HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc'"
send 127.0.0.1 "b'GET /hello.txt HTTP/1.0\r\n\r\n'"
send 127.0.0.1 "b'GET /hello.txt HTTP/1.1\r\n${H}User-Agent: A\"b\\\\c\x01\x7f\xc3\xa9 \" \"-\r\nReferer: \"\r\n\r\n'"
send 127.0.0.1 "b'GET /big HTTP/1.1\r\n${H}X-Big: ' + b'b' * 32000 + b'\r\nUser-Agent: big\r\n\r\n'"
send 127.0.0.1 "b'GET /no-host HTTP/1.1\r\nConnection: close\r\n\r\n'"
metrics_len=$(curl -s --max-time 5 -A probe -o "$TMP/metrics.out" -w '%{size_download}' \
        "http://127.0.0.1:$PORT/metrics")
[[ -z $IPV6 ]] || send ::1 "b'GET / HTTP/1.1\r\n${H}User-Agent: six\r\n\r\n'"

want=$(cat <<EOF
127.0.0.1 - - [T] "GET /hello.txt HTTP/1.1" 200 11 "http://ref.example/" "curl/7.88.1"
127.0.0.1 - - [T] "HEAD /hello.txt HTTP/1.1" 200 0 "-" "curl/7.88.1"
127.0.0.1 - - [T] "GET /missing?q=%22x%22&r=1 HTTP/1.1" 404 14 "-" "-"
127.0.0.1 - - [T] "GET /docs HTTP/1.1" 301 22 "-" "-"
127.0.0.1 - - [T] "POST /form HTTP/1.1" 405 23 "-" "-"
127.0.0.1 - - [T] "GET /hello.txt HTTP/1.0" 200 11 "-" "-"
127.0.0.1 - - [T] "GET /hello.txt HTTP/1.1" 200 11 "\x22" "A\x22b\x5Cc\x01\x7F\xC3\xA9 \x22 \x22-"
127.0.0.1 - - [T] "GET /big HTTP/1.1" 431 36 "-" "big"
127.0.0.1 - - [T] "- /no-host -" 400 - "-" "-"
127.0.0.1 - - [T] "GET /metrics HTTP/1.1" 200 $metrics_len "-" "probe"
EOF
)
[[ -z $IPV6 ]] || want+=$'\n::1 - - [T] "GET / HTTP/1.1" 200 '"$(stat -c %s "$ROOT/index.html")"' "-" "six"'
n_want=$(count_lines "$want")

# shellcheck disable=SC2317 # called through wait_for
written() { [[ -f $ACCESS ]] && (($(wc -l <"$ACCESS") >= n_want)); }
wait_for 5 written || true
got=$(sed -E "s#$TIME_RE#[T]#" "$ACCESS")
i=0
while IFS= read -r line; do
        i=$((i + 1))
        check_eq "line $i: $(cut -d'"' -f2 <<<"$line" | cut -c1-40)" "$line" "$(sed -n "${i}p" <<<"$got")"
done <<<"$want"
check_eq "one line per request, nothing else" "$n_want" "$(wc -l <"$ACCESS")"
[[ -n $IPV6 ]] || skip "no ::1 on this machine: no IPv6 line"
check_no_match "every time field has the combined format's shape" "^[^[]*\[T\]" \
        "$(sed -E "s#$TIME_RE#[T]#" "$ACCESS" | grep -v '\[T\]' || true)"

# the time field is now, in local time: compare with date's own
stamp=$(sed -En "1s#.*($TIME_RE).*#\1#p" "$ACCESS" | tr -d '[]')
line_s=$(date -d "$(sed -E 's#^([0-9]+)/([A-Za-z]+)/([0-9]+):([0-9:]+) #\1 \2 \3 \4 #' <<<"$stamp")" +%s)
check_le "the first line's time ($stamp) is within 30 s of now" 30 $(($(date +%s) - line_s))
check_eq "its offset is the local time zone's" "$(date +%z)" "${stamp##* }"

# a line is written within a second of its request, without more traffic
before=$(wc -l <"$ACCESS")
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/late"
# shellcheck disable=SC2317 # called through wait_for
late_written() { (($(wc -l <"$ACCESS") > before)); }
check_cmd "the line is there within 5 s of the request" wait_for 5 late_written
check_match "... and is the request's" '"GET /late HTTP/1.1" 404 14 ' "$(tail -n 1 "$ACCESS")"

# a reload to a log the workers could not write is refused, naming it, and
# the workers keep writing where they did
pids=$(worker_pids)
printf 'access-log = %s/no-dir/access.log\n' "$TMP" >"$CONF"
kill -HUP "$CD_PID"
check_cmd "a reload to an access log in a missing directory is refused, naming it" \
        wait_log "reload refused, keeping the running configuration: access-log '$TMP/no-dir/access.log': No such file or directory" 10
check_eq "... and the same worker serves on" "$pids" "$(worker_pids)"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/after-refused-reload"
check_cmd "... logging to the same file" wait_for 5 grep -q after-refused-reload "$ACCESS"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "stops cleanly" 0 "$EXIT_STATUS"

# off, the default: no file is made, and there is no log to reopen
rm -f "$ACCESS"
: >"$CONF"
clusterd_start --workers 1
wait_serving 1
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/hello.txt"
kill -USR1 "$CD_PID"
check_cmd "access-log off: SIGUSR1 says there is no log file to reopen" \
        wait_log 'SIGUSR1: no log file to reopen' 5
check_cmd "access-log off: no file" test ! -e "$ACCESS"
finish
