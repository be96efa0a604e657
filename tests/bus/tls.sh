#!/bin/bash
# shellcheck disable=SC2016,SC2317 # checks are run through eval and wait_for
# HTTPS on the bus: TlsCertificateNotAfter is the served certificate's
# expiry (0 without HTTPS), and ReloadTls, as clusterd-tls-pass calls it,
# rotates the certificate with files the service user cannot read (mode
# 0600 root; clusterd runs as uid 65534): root opens them, clusterd reads
# the open files. A bad key passed that way is refused, the file named.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

TLS_PASS=$(dirname "$CLUSTERD")/clusterd-tls-pass
[ -x "$TLS_PASS" ] || {
    echo "FAIL - no clusterd-tls-pass beside $CLUSTERD"
    exit 1
}
tls_pass() { DBUS_SYSTEM_BUS_ADDRESS=$ADDR "$TLS_PASS" "$@"; }

cert() { # NAME DAYS: $TMP/NAME.crt and .key, self-signed for 127.0.0.1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/$1.key" \
        -out "$TMP/$1.crt" -days "$2" -subj "/CN=$1" -addext subjectAltName=IP:127.0.0.1 \
        >/dev/null 2>&1
}
not_after_usec() { # the certificate's notAfter, in µs since the epoch
    echo $(($(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) * 1000000))
}
served() { # the fingerprint of the certificate served on $TLS_PORT
    openssl s_client -connect "127.0.0.1:$TLS_PORT" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

cert a 30
cert b 60
cert c 90
chmod 644 "$TMP"/*.key "$TMP"/*.crt # a.* are read by clusterd itself, as uid 65534
chmod 600 "$TMP/b.key" "$TMP/c.key" # these only root reads

# the project's policy, plus: uid 65534 stands in for the "clusterd" user
sed 's|</busconfig>|  <policy user="nobody"><allow own="io.clusterd1"/></policy>\n</busconfig>|' \
    "$SRCDIR/service/dbus/io.clusterd1.conf" >"$TMP/policy.conf"
start_bus "$TMP/policy.conf"
RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
TLS_PORT=$(free_port)
# a.crt and a.key as systemd's LoadCredential= would pass them
mkdir "$TMP/credentials"
cp "$TMP/a.crt" "$TMP/credentials/tls.crt"
cp "$TMP/a.key" "$TMP/credentials/tls.key"
chmod -R a+rX "$TMP/credentials"
CREDENTIALS_DIRECTORY=$TMP/credentials launch_clusterd "$ADDR" 2 --listen-tls "127.0.0.1:$TLS_PORT"
wait_for 20 manager_is_running 2 || {
    fail "clusterd did not come up"
    finish
}

got=$(mgr_get TlsCertificateNotAfter)
check "TlsCertificateNotAfter is a.crt's notAfter ($got)" test "$got" = "$(not_after_usec "$TMP/a.crt")"

check "clusterd (uid 65534) cannot read b.key itself" \
    eval '! setpriv --reuid=65534 --regid=65534 --clear-groups cat "$TMP/b.key" 2>/dev/null'
check "clusterd-tls-pass --files b.crt b.key (as root): the reload is taken" \
    tls_pass --files "$TMP/b.crt" "$TMP/b.key"
wait_for 30 eval '[ "$(mgr_get LastReload)" = "reload 1 done" ]'
check "LastReload: reload 1 done ($(mgr_get LastReload))" test "$(mgr_get LastReload)" = "reload 1 done"
check "b.crt is served now" test "$(served)" = "$(fp "$TMP/b.crt")"
got=$(mgr_get TlsCertificateNotAfter)
check "TlsCertificateNotAfter is b.crt's now ($got)" test "$got" = "$(not_after_usec "$TMP/b.crt")"
check "the log names what was passed" \
    grep -q "reloading with the certificate $TMP/b.crt and key $TMP/b.key passed by the reload helper" \
    "$TMP/clusterd.log"

# a plain Reload (SIGHUP) keeps what was passed, not the credentials' copy
check "a plain Reload after it" bctl call io.clusterd1 /io/clusterd1 io.clusterd1.Manager Reload
wait_for 30 eval '[ "$(mgr_get LastReload)" = "reload 2 done" ]'
check "... keeps serving what was passed (b.crt), not the credentials' a.crt" \
    test "$(served)" = "$(fp "$TMP/b.crt")"

pids=$(child_pids)
err=$(tls_pass --files "$TMP/c.crt" "$TMP/b.key" 2>&1)
check "ReloadTls with a key that is not the certificate's: refused, the file named ($err)" \
    eval '[[ $err == *"reload refused, the running configuration stays: key $TMP/b.key: does not match the certificate $TMP/c.crt"* ]]'
sleep 1
check "... nothing changed: the same workers ($pids)" test "$(child_pids)" = "$pids"
err=$(tls_pass --files "$TMP" "$TMP/b.key" 2>&1)
check "clusterd-tls-pass passes no directory ($err)" \
    eval '[[ $err == *"$TMP: not a regular file"* ]]'
check "c.crt and its key: taken" tls_pass --files "$TMP/c.crt" "$TMP/c.key"
wait_for 30 eval '[ "$(mgr_get LastReload)" = "reload 4 done" ]'
check "c.crt is served now ($(mgr_get LastReload))" test "$(served)" = "$(fp "$TMP/c.crt")"
stop_clusterd

# with tls-certificate and tls-key in the configuration, Reload reads them
launch_clusterd "$ADDR" 1 --listen-tls "127.0.0.1:$TLS_PORT" --tls-certificate "$TMP/a.crt" \
    --tls-key "$TMP/a.key"
wait_for 20 manager_is_running 1 || fail "clusterd with tls-certificate did not come up"
err=$(tls_pass --files "$TMP/b.crt" "$TMP/b.key" 2>&1)
check "ReloadTls when the configuration names the files: NotSupported, and why ($err)" \
    eval '[[ $err == *"the configuration names tls-certificate and tls-key"* ]]'
stop_clusterd

RUN_AS=()
start_clusterd 1
check "without HTTPS, TlsCertificateNotAfter is 0" test "$(mgr_get TlsCertificateNotAfter)" = 0
finish
