# shellcheck shell=bash
# HTTPS end to end (issue 15), run by both install paths after the shared
# checks: the README's recommended setup, a key in a file only root reads
# (mode 0600), handed over by LoadCredential=, clusterd-https.socket
# enabled, then "systemctl reload" rotating the certificate under ab load.
# Sourced after lib.sh and checks.sh.

TLS_DIR=/etc/clusterd/tls
TLS_URL=https://127.0.0.1:8443/
DROPIN=/etc/systemd/system/clusterd.service.d/tls.conf

# tls_make NAME DAYS: a self-signed certificate and key in the container's /root
tls_make() {
	ct openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "/root/$1.key" -out "/root/$1.crt" -days "$2" -subj "/CN=clusterd e2e $1" \
		-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
}

# tls_install NAME: NAME becomes the live certificate and key, as certbot
# leaves them: the key readable by root alone
tls_install() {
	ct install -D -m 0644 -o root -g root "/root/$1.crt" "$TLS_DIR/fullchain.pem" &&
		ct install -D -m 0600 -o root -g root "/root/$1.key" "$TLS_DIR/privkey.pem"
}

tls_fp() { ct openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
tls_served() {
	ct openssl s_client -connect 127.0.0.1:8443 -showcerts </dev/null 2>/dev/null |
		ct openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
tls_code() { ct curl -s -o /dev/null -m 5 -w '%{http_code}' --cacert "/root/$1.crt" "$TLS_URL"; }
tls_not_after() {
	echo $(($(date -d "$(ct openssl x509 -in "/root/$1.crt" -noout -enddate | cut -d= -f2)" +%s) * 1000000))
}
bus_not_after() { ct busctl get-property "${MANAGER[@]}" TlsCertificateNotAfter | cut -d' ' -f2; }

check_https_socket_disabled() {
	local state
	state=$(ct systemctl is-enabled clusterd-https.socket 2>&1)
	say "clusterd-https.socket after installation: $state," \
		"$(ct systemctl is-active clusterd-https.socket 2>&1)"
	[[ $state == disabled && $(ct systemctl is-active clusterd-https.socket) != active ]]
}

# The README's setup, in its order: files, drop-in, enable the socket,
# restart the service so that it takes the new sockets.
check_https_setup() {
	local mode line
	tls_make one 30 && tls_make two 60 && tls_make other 30 || return 1
	tls_install one || return 1
	ct mkdir -p "$(dirname "$DROPIN")"
	printf '[Service]\nLoadCredential=tls.crt:%s\nLoadCredential=tls.key:%s\n' \
		"$TLS_DIR/fullchain.pem" "$TLS_DIR/privkey.pem" | ct tee "$DROPIN" >/dev/null
	ct systemctl daemon-reload
	ct systemctl -q enable --now clusterd-https.socket || return 1
	ct systemctl restart clusterd.service || return 1
	mode=$(ct stat -c '%a %U:%G' "$TLS_DIR/privkey.pem")
	line=$(ct journalctl -u clusterd.service -o cat | grep 'socket(s) from systemd' | tail -n 1)
	say "key: $mode; $line; HTTPS $(tls_code one), HTTP $(http_code)"
	[[ $mode == "600 root:root" && $(tls_code one) == 200 && $(http_code) == 200 ]] &&
		[[ $line == "manager: using 32 socket(s) from systemd on 4 address(es)" ]]
}

check_https_key_private() {
	local err
	if err=$(ct setpriv --reuid=clusterd --regid=clusterd --clear-groups cat "$TLS_DIR/privkey.pem" \
		2>&1 >/dev/null); then
		say "the clusterd user can read the key"
		return 1
	fi
	say "the clusterd user reading the key: $err; served: $(tls_served)"
	[[ $(tls_served) == "$(tls_fp /root/one.crt)" ]]
}

check_https_not_after() {
	say "TlsCertificateNotAfter: $(bus_not_after); one.crt: $(tls_not_after one)"
	[[ $(bus_not_after) == "$(tls_not_after one)" ]]
}

# The rotation certbot's --deploy-hook "systemctl reload clusterd" makes.
check_https_rotation() {
	local before report=$E2E_DIR/ab-https status=0 complete failed
	before=$(worker_pids)
	ct ab -q -r -f TLS1.2 -t 6 -n 10000000 -c 8 "$TLS_URL" >"$report" 2>&1 &
	LOAD_PID=$!
	sleep 1
	tls_install two || status=1
	ct systemctl reload clusterd.service || { say "systemctl reload failed"; status=1; }
	wait "$LOAD_PID" || status=1
	complete=$(sed -n 's/^Complete requests: *//p' "$report")
	failed=$(sed -n 's/^Failed requests: *//p' "$report")
	say "ab -f TLS1.2 -c 8 over HTTPS during the reload: $complete complete, ${failed:-?} failed," \
		"$(grep -c '^Non-2xx' "$report") non-2xx lines;" \
		"$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$report") req/s"
	if [[ -z $complete || $failed != 0 ]] || grep -q '^Non-2xx' "$report"; then
		sed 's/^/#   /' "$report"
		status=1
	fi
	wait_for 35 old_pids_gone "$before" || status=1
	say "served now: $(tls_served) (two.crt: $(tls_fp /root/two.crt));" \
		"TlsCertificateNotAfter $(bus_not_after); LastReload" \
		"$(ct busctl get-property "${MANAGER[@]}" LastReload)"
	[[ $(tls_served) == "$(tls_fp /root/two.crt)" && $(tls_code two) == 200 ]] || status=1
	[[ $(bus_not_after) == "$(tls_not_after two)" ]] || status=1
	((status == 0))
}

# A key that is not the certificate's: systemctl reload fails, naming it,
# and two.crt stays.
check_https_bad_key() {
	local out status=0 before line
	before=$(worker_pids)
	ct install -m 0600 -o root -g root /root/other.key "$TLS_DIR/privkey.pem"
	if out=$(ct systemctl reload clusterd.service 2>&1); then
		say "systemctl reload with a mismatched key succeeded"
		status=1
	fi
	line=$(ct journalctl -u clusterd.service -o cat | grep 'reload refused' | tail -n 1)
	say "systemctl reload: $(tr '\n' ' ' <<<"$out"); journal: $line"
	[[ $line == *"key $TLS_DIR/privkey.pem: does not match the certificate $TLS_DIR/fullchain.pem" ]] ||
		status=1
	[[ $(worker_pids) == "$before" && $(tls_served) == "$(tls_fp /root/two.crt)" ]] || status=1
	tls_install two
	ct systemctl reload clusterd.service || status=1
	((status == 0))
}

# Leaves the machine as the shared checks expect it: no HTTPS.
check_https_teardown() {
	ct systemctl -q disable --now clusterd-https.socket || return 1
	ct rm -f "$DROPIN"
	ct systemctl daemon-reload
	ct systemctl stop clusterd.service
	[[ $(ct systemctl is-active clusterd-https.socket) != active ]]
}

run_https_checks() {
	check "clusterd-https.socket is installed, not enabled" check_https_socket_disabled
	check "HTTPS: LoadCredential= of a root-only key, clusterd-https.socket enabled" \
		check_https_setup
	check "HTTPS: the clusterd user cannot read the key it serves" check_https_key_private
	check "HTTPS: TlsCertificateNotAfter is the certificate's" check_https_not_after
	check "HTTPS: systemctl reload rotates the certificate under ab load, 0 failed" \
		check_https_rotation
	check "HTTPS: a mismatched key fails systemctl reload, the file named" check_https_bad_key
	check "systemd-analyze security <= $SCORE_MAX with LoadCredential= and ExecReload=+" \
		check_security_score
	check "HTTPS: disabled again" check_https_teardown
}
