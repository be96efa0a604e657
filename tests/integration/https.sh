#!/usr/bin/env bash
# HTTPS: listen-tls beside listen, with a self-signed certificate made by
# openssl now. curl --cacert gets the files byte for byte; TLS 1.2 and 1.3
# are spoken, 1.1 is refused (and tls-priorities can narrow it further);
# connections end with close_notify; keep-alive works and a 50 MiB file arrives whole (its speed is printed, not
# judged); /metrics counts handshakes done and failed. A bad certificate or
# key stops clusterd at start with one line naming the file; sockets from
# systemd named "https" are TLS, and the certificate may come from
# $CREDENTIALS_DIRECTORY.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=SCRIPTDIR/tls-lib.sh
source "$(dirname "$0")/tls-lib.sh"

make_root
head -c $((50 * 1024 * 1024)) /dev/urandom >"$ROOT/big.bin"
make_cert a
make_cert soon 5
make_cert other
make_expired_cert old
CA=a
PORT=$(free_port)
TLS_PORT=$(free_port)

clusterd_start --workers 2 --listen-tls "127.0.0.1:$TLS_PORT" \
        --tls-certificate "$TMP/a.crt" --tls-key "$TMP/a.key"
wait_serving 2
check_cmd "the log names the HTTPS address" log_has "listening on 127.0.0.1:$TLS_PORT \(HTTPS\)$"

# ---- serving ----
curl -s --max-time 5 --cacert "$TMP/a.crt" -o "$TMP/got.txt" "https://127.0.0.1:$TLS_PORT/hello.txt" ||
        true
check_cmd "curl --cacert over HTTPS: hello.txt byte for byte" cmp -s "$TMP/got.txt" "$ROOT/hello.txt"
check_eq "curl --cacert https://localhost:PORT/ (the name in the certificate): 200" 200 \
        "$(https_code "https://localhost:$TLS_PORT/")"
check_eq "plain HTTP on the other address still answers: 200" 200 \
        "$(http_code "http://127.0.0.1:$PORT/")"
check_eq "curl without the CA refuses the self-signed certificate (000)" 000 \
        "$(http_code "https://127.0.0.1:$TLS_PORT/")"
check_eq "plain HTTP to the HTTPS port gets no answer (000)" 000 \
        "$(http_code "http://127.0.0.1:$TLS_PORT/")"
check_eq "the served certificate is a.crt (openssl s_client -showcerts)" "$(fingerprint "$TMP/a.crt")" \
        "$(served_fingerprint "$TLS_PORT")"

# ---- protocols ----
check_eq "TLS 1.3 is spoken" TLSv1.3 "$(tls_protocol "$TLS_PORT" -tls1_3)"
check_eq "TLS 1.2 is spoken" TLSv1.2 "$(tls_protocol "$TLS_PORT" -tls1_2)"
check_eq "TLS 1.1 is refused (openssl s_client -tls1_1)" refused "$(tls_protocol "$TLS_PORT" -tls1_1)"
alpn=$(openssl s_client -connect "127.0.0.1:$TLS_PORT" -alpn h2,http/1.1 </dev/null 2>/dev/null |
        sed -n 's/^ALPN protocol: //p')
check_eq "ALPN offers h2 and http/1.1: http/1.1 is chosen (no HTTP/2)" http/1.1 "$alpn"

# ---- the end of a connection: close_notify, not a bare close ----
out=$(printf 'GET /hello.txt HTTP/1.0\r\n\r\n' |
        openssl s_client -quiet -ign_eof -connect "127.0.0.1:$TLS_PORT" 2>&1 || true)
check_match "HTTP/1.0 over TLS read to the end: the answer came" '^plain text$' "$out"
check_no_match "... and the server ended TLS with close_notify (no 'unexpected eof' for OpenSSL)" \
        'unexpected eof' "$out"
ab -f TLS1.2 -n 200 -c 4 "https://127.0.0.1:$TLS_PORT/hello.txt" >"$TMP/ab.log" 2>&1 || true
check_match "ab -f TLS1.2 -n 200 (HTTP/1.0, a connection per request): 0 failed" \
        '^Failed requests: +0$' "$(cat "$TMP/ab.log")"

# ---- keep-alive: one connection for many requests ----
conns=$(curl -s --max-time 10 --cacert "$TMP/a.crt" -o /dev/null -o /dev/null -o /dev/null \
        -w '%{num_connects}\n' "https://127.0.0.1:$TLS_PORT/hello.txt" \
        "https://127.0.0.1:$TLS_PORT/index.html" "https://127.0.0.1:$TLS_PORT/hello.txt" | xargs)
check_eq "curl, 3 URLs over HTTPS: one connection, reused (num_connects per URL)" "1 0 0" "$conns"
ab -k -f TLS1.2 -n 400 -c 4 "https://127.0.0.1:$TLS_PORT/hello.txt" >"$TMP/ab-k.log" 2>&1 || true
check_match "ab -k -f TLS1.2 -n 400: 400 complete ($(grep -m1 '^Keep-Alive requests' "$TMP/ab-k.log" || true))" \
        '^Complete requests: +400$' "$(cat "$TMP/ab-k.log")"
check_match "ab -k over TLS: 0 failed" '^Failed requests: +0$' "$(cat "$TMP/ab-k.log")"
check_match "ab -k over TLS: every request on a kept-alive connection" '^Keep-Alive requests: +400$' \
        "$(cat "$TMP/ab-k.log")"

# ---- a large file: MHD sends TLS with read+send, not sendfile ----
curl -s --max-time 60 --cacert "$TMP/a.crt" -o "$TMP/big.got" "https://127.0.0.1:$TLS_PORT/big.bin" ||
        true
check_cmd "a 50 MiB file over HTTPS arrives whole (cmp)" cmp -s "$TMP/big.got" "$ROOT/big.bin"
rm -f "$TMP/big.got"
# speed: into /dev/null, so that the disk does not count
tls_speed=$(curl -s --max-time 60 --cacert "$TMP/a.crt" -o /dev/null -w '%{speed_download}' \
        "https://127.0.0.1:$TLS_PORT/big.bin" || true)
plain_speed=$(curl -s --max-time 60 -o /dev/null -w '%{speed_download}' \
        "http://127.0.0.1:$PORT/big.bin" || true)
echo "# 50 MiB download: HTTPS $((${tls_speed%.*} / 1048576)) MiB/s, plain HTTP" \
        "$((${plain_speed%.*} / 1048576)) MiB/s (curl, loopback, one connection; not judged)"

# ---- /metrics ----
# a connection kept open after its first answer: its handshake is counted
# at once, not when it closes
keep_open() {
        python3 -c '
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="localhost")
s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
data = b""
while b"plain text" not in data:
    data += s.recv(4096)
print("answered", flush=True)
time.sleep(30)' "$TLS_PORT" "$TMP/a.crt"
}
done_before=$(tls_metric tls_handshakes_total)
failed_before=$(tls_metric tls_handshakes_failed_total)
keep_open >"$TMP/keep-open.out" 2>&1 &
keep_pid=$!
track "$keep_pid"
wait_for 10 grep -q answered "$TMP/keep-open.out" || fail "the kept-open connection got no answer"
check_eq "/metrics: a handshake done while its connection is still open ($done_before before)" \
        $((done_before + 1)) "$(tls_metric tls_handshakes_total)"
kill "$keep_pid" 2>/dev/null || true
openssl s_client -connect "127.0.0.1:$TLS_PORT" </dev/null >/dev/null 2>&1 || true
tls_protocol "$TLS_PORT" -tls1_1 >/dev/null
http_code "http://127.0.0.1:$TLS_PORT/" >/dev/null
sleep 0.2
check_eq "/metrics: a handshake without a request counts as done" \
        $((done_before + 2)) "$(tls_metric tls_handshakes_total)"
check_eq "/metrics: two more failed after TLS 1.1 and plain HTTP on the port ($failed_before before)" \
        $((failed_before + 2)) "$(tls_metric tls_handshakes_failed_total)"
check_no_match "no worker died while serving HTTPS (a signal, its seccomp filter, an exit)" \
        'killed by (signal|seccomp)|exited with status [1-9]' "$(cat "$LOG")"
check_match "/metrics has the per-worker series" \
        '^clusterd_worker_tls_handshakes_total\{worker="[12]"\} [0-9]+$' \
        "$(curl -s "http://127.0.0.1:$PORT/metrics")"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop"

# ---- tls-priorities ----
clusterd_start --workers 1 --listen-tls "127.0.0.1:$TLS_PORT" --tls-certificate "$TMP/a.crt" \
        --tls-key "$TMP/a.key" --tls-priorities "SECURE:-VERS-ALL:+VERS-TLS1.3"
wait_serving 1
check_eq "tls-priorities with TLS 1.3 alone: 1.3 spoken" TLSv1.3 "$(tls_protocol "$TLS_PORT" -tls1_3)"
check_eq "tls-priorities with TLS 1.3 alone: 1.2 refused" refused "$(tls_protocol "$TLS_PORT" -tls1_2)"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop"

# ---- refused at start: exit non-zero, one line naming the file ----
# start_refused DESC REGEX ARGS...: clusterd exits 1 at once, and its one
# line of error matches REGEX
start_refused() {
        local desc=$1 want=$2 out status=0
        shift 2
        out=$("$CLUSTERD" --config "$CONF" --listen "127.0.0.1:$PORT" --root "$ROOT" \
                --listen-tls "127.0.0.1:$TLS_PORT" "$@" 2>&1) || status=$?
        check_eq "$desc: exit status 1" 1 "$status"
        check_match "$desc: '$out'" "$want" "$out"
        check_eq "$desc: in one line" 1 "$(count_lines "$out")"
}
start_refused "a key that is not the certificate's" \
        "^clusterd: key $TMP/other.key: does not match the certificate $TMP/a.crt$" \
        --tls-certificate "$TMP/a.crt" --tls-key "$TMP/other.key"
start_refused "an expired certificate" \
        "^clusterd: certificate $TMP/old.crt: the certificate expired on 2020-01-02 00:00:00 UTC$" \
        --tls-certificate "$TMP/old.crt" --tls-key "$TMP/old.key"
start_refused "a missing key" "^clusterd: key $TMP/nope.key: No such file or directory$" \
        --tls-certificate "$TMP/a.crt" --tls-key "$TMP/nope.key"
start_refused "the key given as the certificate" "^clusterd: certificate $TMP/a.key: no PEM certificate" \
        --tls-certificate "$TMP/a.key" --tls-key "$TMP/a.key"
start_refused "listen-tls without a certificate" "listen-tls needs a certificate"
start_refused "tls-priorities GnuTLS cannot parse" \
        "^clusterd: --tls-priorities 'SECURE:\+BANANA': GnuTLS cannot parse it" \
        --tls-certificate "$TMP/a.crt" --tls-key "$TMP/a.key" --tls-priorities "SECURE:+BANANA"
if ((EUID == 0)); then
        # root reads any file: the key is made unreadable for nobody
        chmod 755 "$TMP"
        cp "$TMP/a.key" "$TMP/secret.key"
        chmod 600 "$TMP/secret.key"
        out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CLUSTERD" --config /dev/null \
                --root "$ROOT" --listen "127.0.0.1:$PORT" --listen-tls "127.0.0.1:$TLS_PORT" \
                --tls-certificate "$TMP/a.crt" --tls-key "$TMP/secret.key" 2>&1) || true
        check_eq "an unreadable key (mode 0600 root, clusterd as nobody): refused, named" \
                "clusterd: key $TMP/secret.key: Permission denied" "$out"
else
        skip "an unreadable key: needs root to make a file nobody else reads"
fi
out=$("$CLUSTERD" --config "$CONF" --root "$ROOT" --listen-tls "127.0.0.1:$TLS_PORT" \
        --tls-certificate "$TMP/a.crt" --tls-key "$TMP/a.key" --check-config 2>&1)
check_match "--check-config shows the certificate and when it expires" \
        "^# the certificate expires on 20[0-9-]+ [0-9:]+ UTC$" "$out"
check_no_match "--check-config: listen-tls alone leaves out the default plain address" \
        '^listen = ' "$out"

# ---- an expiry less than 14 days away: a warning ----
clusterd_start --workers 1 --listen-tls "127.0.0.1:$TLS_PORT" --tls-certificate "$TMP/soon.crt" \
        --tls-key "$TMP/soon.key"
wait_serving 1
check_cmd "a certificate that expires in 5 days: a warning at start" \
        log_has "warning manager: the certificate $TMP/soon.crt expires in [45]\.[0-9] days, on "
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop"

# ---- sockets from systemd: "https" is TLS, the rest plain ----
LOG=$TMP/clusterd.log
: >"$LOG"
mkdir -p "$TMP/credentials"
cp "$TMP/a.crt" "$TMP/credentials/tls.crt"
cp "$TMP/a.key" "$TMP/credentials/tls.key"
spawn "$LOG" systemd-socket-activate -l "127.0.0.1:$PORT" -l "127.0.0.1:$TLS_PORT" \
        --fdname=http:https -E "CREDENTIALS_DIRECTORY=$TMP/credentials" \
        "$CLUSTERD" --config "$CONF" --root "$ROOT" --workers 2
CD_PID=$SPAWNED
wait_for 10 grep -q "Listening on" "$LOG" || die "systemd-socket-activate did not listen"
check_eq "socket named https, certificate from \$CREDENTIALS_DIRECTORY: HTTPS 200" 200 \
        "$(https_code "https://127.0.0.1:$TLS_PORT/" --max-time 20)"
wait_serving 2
check_eq "the socket named http beside it stays plain: 200" 200 "$(http_code "http://127.0.0.1:$PORT/")"
check_cmd "the log tells the HTTPS socket from the other" \
        log_has "listening on 127.0.0.1:$TLS_PORT \(HTTPS\)$"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop"

: >"$LOG"
spawn "$LOG" systemd-socket-activate -l "127.0.0.1:$TLS_PORT" --fdname=https \
        "$CLUSTERD" --config "$CONF" --root "$ROOT" --workers 1
CD_PID=$SPAWNED
wait_for 10 grep -q "Listening on" "$LOG" || die "systemd-socket-activate did not listen"
http_code "http://127.0.0.1:$TLS_PORT/" >/dev/null # activates it
wait_exit "$CD_PID" 10 || die "clusterd kept running with an https socket and no certificate"
check_eq "a socket named https without a certificate: exit status 1" 1 "$EXIT_STATUS"
check_cmd "... and the log says what is missing" \
        log_has 'socket\(s\) named "https" \(clusterd-https.socket\) need a certificate'
finish
