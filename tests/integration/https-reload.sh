#!/usr/bin/env bash
# Rotating the certificate by reload: new files in place, SIGHUP, under ab
# load over HTTPS (new connections, then keep-alive): no request fails,
# every worker is replaced, and openssl s_client -showcerts sees the new
# certificate afterwards. A key that is not the certificate's, an expired
# certificate, a file clusterd cannot read and a tls-priorities GnuTLS
# cannot parse are each refused at reload with one line naming the file:
# the same workers go on serving the certificate they had.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=SCRIPTDIR/tls-lib.sh
source "$(dirname "$0")/tls-lib.sh"

# ab_connected: ab has a connection open to the HTTPS port
# shellcheck disable=SC2317 # called through wait_for
ab_connected() {
        [[ -n $(ss -Htn state established "( dport = :$TLS_PORT )") ]]
}

# install NAME: the certificate and key NAME become the live files, each
# replaced at once (rename), as certbot's symlinks change
install() {
        cp "$TMP/$1.crt" "$TMP/live.crt.new"
        cp "$TMP/$1.key" "$TMP/live.key.new"
        mv "$TMP/live.crt.new" "$TMP/live.crt"
        mv "$TMP/live.key.new" "$TMP/live.key"
}

count_log() {
        grep -c -- "$1" "$LOG" || true
}

# rotate_under_load NAME CERT [AB-ARGS...]: ab -f TLS1.2 -c 8 fetches a page
# over HTTPS from before the SIGHUP until the reload has finished; CERT is
# in place before the SIGHUP
rotate_under_load() {
        local name=$1 cert=$2 before after ab_pid ab_out=$TMP/ab-$1.log reloads
        shift 2
        before=$(worker_pids)
        reloads=$(count_log 'reload finished')
        ab -r -s 10 -f TLS1.2 "$@" -c 8 -t 100 -n 2000000 "https://127.0.0.1:$TLS_PORT/page.txt" \
                >"$ab_out" 2>&1 &
        ab_pid=$!
        track "$ab_pid"
        wait_for 30 ab_connected || die "$name: ab did not get going"
        sleep 0.5
        install "$cert"
        kill -HUP "$CD_PID"
        # shellcheck disable=SC2317 # called through wait_for
        reload_done() { (($(count_log 'reload finished') > reloads)); }
        if wait_for 30 reload_done; then
                if alive "$ab_pid"; then
                        pass "$name: reload finished while ab was still running"
                else
                        fail "$name: ab ended before the reload finished"
                fi
        else
                fail "$name: no 'reload finished' in the log 30 s after SIGHUP"
        fi
        sleep 0.5 # ab goes on a little against the new workers
        kill -INT "$ab_pid" 2>/dev/null || true
        wait "$ab_pid" || true # 1 after SIGINT; the report tells what happened

        check_match "$name: ab completed requests over TLS" '^Complete requests: +[1-9][0-9]*$' \
                "$(cat "$ab_out")"
        check_match "$name: Failed requests: 0 ($(grep -m1 '^Complete requests' "$ab_out" || true))" \
                '^Failed requests: +0$' "$(cat "$ab_out")"
        check_no_match "$name: no non-2xx responses" '^Non-2xx responses' "$(cat "$ab_out")"
        check_match "$name: ab spoke TLS 1.2" '^SSL/TLS Protocol: +TLSv1.2,' "$(cat "$ab_out")"
        after=$(worker_pids)
        check_eq "$name: every worker pid is new (before: $(xargs <<<"$before"); after: $(xargs <<<"$after"))" \
                "" "$(comm -12 <(sort <<<"$before") <(sort <<<"$after"))"
        check_eq "$name: openssl s_client -showcerts shows $cert.crt" "$(fingerprint "$TMP/$cert.crt")" \
                "$(served_fingerprint "$TLS_PORT")"
        check_eq "$name: curl --cacert $cert.crt: 200" 200 \
                "$(CA=$cert https_code "https://127.0.0.1:$TLS_PORT/")"
}

# refused_at_reload NAME REGEX: after SIGHUP, the log says the reload was
# refused for REGEX; the same workers serve the same certificate
refused_at_reload() {
        local name=$1 want=$2 before served refusals line
        before=$(worker_pids)
        served=$(served_fingerprint "$TLS_PORT")
        refusals=$(count_log 'reload refused')
        kill -HUP "$CD_PID"
        # shellcheck disable=SC2317 # called through wait_for
        refused() { (($(count_log 'reload refused') > refusals)); }
        wait_for 10 refused || fail "$name: no 'reload refused' in the log"
        line=$(grep 'reload refused' "$LOG" | tail -n 1)
        check_match "$name: refused, the file named ('${line#*: }')" \
                "reload refused, keeping the running configuration: $want" "$line"
        sleep 0.5
        check_eq "$name: the same workers serve" "$before" "$(worker_pids)"
        check_eq "$name: ... the certificate they had" "$served" "$(served_fingerprint "$TLS_PORT")"
}

make_root
head -c 8192 /dev/urandom | base64 >"$ROOT/page.txt"
for c in one two three other; do make_cert "$c"; done
make_expired_cert old
install one
PORT=$(free_port)
TLS_PORT=$(free_port)
printf 'workers = 2\nlisten-tls = 127.0.0.1:%s\ntls-certificate = %s\ntls-key = %s\n' \
        "$TLS_PORT" "$TMP/live.crt" "$TMP/live.key" >"$CONF"
# as nobody when root, so that a file made unreadable is unreadable to it
chmod 755 "$TMP"
chmod -R a+rX "$ROOT"
if ((EUID == 0)); then
        WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
clusterd_start --log-level info
wait_serving 2
check_eq "serving one.crt at start" "$(fingerprint "$TMP/one.crt")" "$(served_fingerprint "$TLS_PORT")"

rotate_under_load "rotation, ab -c 8 (new connection per request)" two
rotate_under_load "rotation, ab -k -c 8 (keep-alive)" three -k
check_no_match "no worker died unexpectedly (by a signal, its seccomp filter, an exit)" \
        'killed by (signal|seccomp)|exited with status [1-9]' "$(cat "$LOG")"

# ---- refused at reload ----
cp "$TMP/other.key" "$TMP/live.key"
refused_at_reload "a key that is not the certificate's" \
        "key $TMP/live.key: does not match the certificate $TMP/live.crt$"
install old
refused_at_reload "an expired certificate" \
        "certificate $TMP/live.crt: the certificate expired on 2020-01-02 00:00:00 UTC$"
install one
if ((EUID == 0)); then
        chmod 600 "$TMP/live.key"
        refused_at_reload "a key clusterd cannot read (mode 0600, clusterd runs as nobody)" \
                "key $TMP/live.key: Permission denied$"
        chmod 644 "$TMP/live.key"
else
        skip "a key clusterd cannot read: needs root to make one"
fi
rm "$TMP/live.key"
refused_at_reload "a missing key" "key $TMP/live.key: No such file or directory$"
install one
echo 'tls-priorities = SECURE:+BANANA' >>"$CONF"
refused_at_reload "a tls-priorities GnuTLS cannot parse" \
        "$CONF:5: tls-priorities = 'SECURE:\\+BANANA': GnuTLS cannot parse it"
sed -i '/^tls-priorities/d' "$CONF"

# ---- and the fixed files reload ----
reloads=$(count_log 'reload finished')
kill -HUP "$CD_PID"
# shellcheck disable=SC2317 # called through wait_for
reloaded() { (($(count_log 'reload finished') > reloads)); }
wait_for 30 reloaded || fail "the fixed files: no 'reload finished'"
check_eq "the fixed files reload: one.crt served again" "$(fingerprint "$TMP/one.crt")" \
        "$(served_fingerprint "$TLS_PORT")"
# ---- a third worker: the sockets bound for it are TLS too ----
sed -i 's/^workers = 2$/workers = 3/' "$CONF"
reloads=$(count_log 'reload finished')
kill -HUP "$CD_PID"
wait_for 30 reloaded || fail "workers = 3: no 'reload finished'"
codes=$(for _ in $(seq 30); do CA=one https_code "https://127.0.0.1:$TLS_PORT/"; echo; done | sort | uniq -c | xargs)
check_eq "3 workers: 30 new HTTPS connections, all 200 (over 3 sockets)" "30 200" "$codes"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
