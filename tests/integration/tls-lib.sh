# shellcheck shell=bash
# Certificates for the HTTPS tests, made with openssl at test time, and the
# clients that look at what clusterd serves. Sourced after lib.sh.

# make_cert NAME [DAYS]: $TMP/NAME.crt and $TMP/NAME.key, a self-signed EC
# certificate for localhost and 127.0.0.1, valid from now for DAYS (30)
make_cert() {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout "$TMP/$1.key" -out "$TMP/$1.crt" -days "${2:-30}" \
                -subj "/CN=clusterd test $1" \
                -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1 ||
                die "openssl cannot make certificate $1"
        chmod 644 "$TMP/$1.key" # the tests may run clusterd as nobody
}

# make_expired_cert NAME: the same, valid for one day in 2020 only (openssl
# req cannot make one in the past; openssl ca can)
make_expired_cert() {
        local d=$TMP/ca-$1
        mkdir -p "$d/new"
        : >"$d/index.txt"
        printf '%s\n' '[ca]' 'default_ca = d' '[d]' "database = $d/index.txt" \
                "new_certs_dir = $d/new" "serial = $d/serial" 'default_md = sha256' \
                'policy = p' 'copy_extensions = copy' 'unique_subject = no' \
                '[p]' 'commonName = supplied' >"$d/ca.cnf"
        if ! openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout "$TMP/$1.key" -out "$d/req.csr" -subj "/CN=clusterd test $1" \
                -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1 ||
                ! openssl ca -batch -config "$d/ca.cnf" -selfsign -keyfile "$TMP/$1.key" \
                        -in "$d/req.csr" -out "$TMP/$1.crt" -notext -create_serial \
                        -startdate 20200101000000Z -enddate 20200102000000Z >/dev/null 2>&1; then
                die "openssl cannot make the expired certificate $1"
        fi
        chmod 644 "$TMP/$1.key"
}

# fingerprint FILE: the SHA-256 fingerprint of a PEM certificate
fingerprint() {
        openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2
}

# served_fingerprint PORT: the fingerprint of the certificate served on
# 127.0.0.1:PORT, as openssl s_client -showcerts prints it
served_fingerprint() {
        openssl s_client -connect "127.0.0.1:$1" -showcerts </dev/null 2>/dev/null |
                openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}

# tls_protocol PORT OPTION: the protocol s_client agrees on with OPTION
# (-tls1_1, -tls1_2, -tls1_3), or "refused". OpenSSL 3 refuses TLS 1.1 on
# its own at its default security level; level 0 leaves the refusal to the
# server.
tls_protocol() {
        local out
        out=$(openssl s_client -brief -connect "127.0.0.1:$1" "$2" -cipher 'DEFAULT@SECLEVEL=0' \
                </dev/null 2>&1 || true)
        out=$(sed -n 's/^Protocol version: *//p' <<<"$out" | head -n 1)
        echo "${out:-refused}"
}

# https_code URL [CURL-ARGS...]: the status code over HTTPS, trusting
# $TMP/$CA.crt (000 when it fails)
https_code() {
        local url=$1
        shift
        curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$TMP/$CA.crt" "$@" "$url" ||
                true
}

# tls_metric NAME: the value of clusterd_NAME in /metrics, over plain HTTP
tls_metric() {
        curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s/^clusterd_$1 //p"
}
