#!/usr/bin/env bash
# End-to-end, install path 2: build the Debian package (packaging/build-deb,
# which also runs lintian), `apt-get install ./clusterd_*.deb` in a throwaway
# container of this machine running systemd, run the shared checks
# (checks.sh), then an upgrade under load and a purge.
# Usage: tests/e2e/e2e-deb.sh SOURCE_DIR   (root; exit 77 = skipped)
# CLUSTERD_DEB=PATH uses an already built package instead of building one.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$here/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$here/checks.sh"
# shellcheck source-path=SCRIPTDIR
. "$here/https-checks.sh"

src=$(cd "${1:-$here/../..}" && pwd)
e2e_init

mkdir -p "$E2E_DIR/deb"
if [[ -n ${CLUSTERD_DEB:-} ]]; then
	cp "$CLUSTERD_DEB" "$E2E_DIR/deb/"
else
	say "building the package (packaging/build-deb, DEB_BUILD_OPTIONS=nocheck)"
	t0=$SECONDS
	DEB_BUILD_OPTIONS=nocheck "$src/packaging/build-deb" "$E2E_DIR/deb" \
		>"$E2E_DIR/build-deb.log" 2>&1 || {
		cat "$E2E_DIR/build-deb.log"
		echo "packaging/build-deb failed" >&2
		exit 1
	}
	sed -n '/^build-deb: lintian report/,/^build-deb: lintian done/p' "$E2E_DIR/build-deb.log" |
		sed 's/^/# /'
	say "built in $((SECONDS - t0))s"
fi
deb=$(ls "$E2E_DIR"/deb/clusterd_*.deb)
say "package: $(basename "$deb")"

e2e_boot

# A policy-rc.d that forbids starting services (as container images built
# for Docker ship) would stop the maintainer scripts from starting and
# stopping clusterd; a normal systemd machine has none.
if ct test -e /usr/sbin/policy-rc.d; then
	say "removing the container's /usr/sbin/policy-rc.d: $(ct tail -n 1 /usr/sbin/policy-rc.d)"
	ct rm -f /usr/sbin/policy-rc.d
fi

apt_install() {
	ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" "$deb" \
		>"$E2E_DIR/apt.log" 2>&1 || {
		sed 's/^/#   /' "$E2E_DIR/apt.log"
		return 1
	}
}

check_install() {
	apt_install || return 1
	say "user: $(ct id clusterd); clusterd.socket: $(ct systemctl is-enabled clusterd.socket)," \
		"$(ct systemctl is-active clusterd.socket)"
	[[ $(ct systemctl is-enabled clusterd.socket) == enabled ]] &&
		[[ $(ct systemctl is-active clusterd.socket) == active ]] &&
		ct id clusterd >/dev/null
}

# The package says which libmicrohttpd is inside: Static-Built-Using names
# the bundled one when clusterd carries it, shlibs:Depends the system's
# otherwise; it ships no file of libmicrohttpd either way.
check_mhd_fields() {
	local sbu depends files
	sbu=$(dpkg-deb -f "$deb" Static-Built-Using)
	depends=$(dpkg-deb -f "$deb" Depends)
	files=$(ct dpkg -L clusterd | grep -i microhttpd)
	say "Static-Built-Using: ${sbu:-none}; Depends: $depends; libmicrohttpd files: ${files:-none}"
	[[ -z $files ]] || return 1
	if ct readelf -d /usr/sbin/clusterd | grep -q 'NEEDED.*libmicrohttpd'; then
		[[ $sbu != *libmicrohttpd* && $depends == *libmicrohttpd* ]]
	else
		[[ $sbu =~ (^|, )libmicrohttpd\ \(=\ [0-9] && $depends != *libmicrohttpd* &&
			$depends == *libgnutls30* ]]
	fi
}

# The package's /etc/logrotate.d/clusterd, as the daily run would apply it:
# the file is moved aside as the service user, postrotate sends SIGUSR1 to
# the manager, and the workers write the next lines to a new file.
check_logrotate() {
	local out status=0
	[[ $(http_code "${URL}before-logrotate") == 404 ]] || status=1
	wait_for 5 access_logged before-logrotate || status=1
	out=$(ct logrotate -f /etc/logrotate.d/clusterd 2>&1) || { say "logrotate failed: $out"; status=1; }
	ct curl -s -o /dev/null -m 5 "${URL}after-logrotate"
	wait_for 5 access_logged after-logrotate || status=1
	say "after logrotate -f: $(ct ls /var/log/clusterd | xargs);" \
		"$(ct journalctl -u clusterd.service -o cat | grep "manager: SIGUSR1" | tail -n 1)"
	access_logged before-logrotate "$ACCESS_LOG.1" || status=1
	access_logged after-logrotate "$ACCESS_LOG.1" && status=1
	((status == 0))
}

check_upgrade_under_load() {
	local before status=0
	[[ $(http_code) == 200 ]] || return 1 # activates the service again
	before=$(main_pid)
	load_start "$E2E_DIR/ab-upgrade"
	apt_install --reinstall || status=1
	say "apt-get install --reinstall (the maintainer scripts' upgrade path):" \
		"MainPID $before -> $(main_pid)"
	load_check "$E2E_DIR/ab-upgrade" || status=1
	[[ $(main_pid) != "$before" && $(ct systemctl is-active clusterd.socket) == active ]] ||
		status=1
	((status == 0))
}

check_purge() {
	[[ $(ct systemctl is-active clusterd.service) == active ]] || return 1 # purge a running service
	ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q clusterd \
		>"$E2E_DIR/purge.log" 2>&1 || {
		sed 's/^/#   /' "$E2E_DIR/purge.log"
		return 1
	}
	wait_for 5 no_clusterd_process || {
		ct pgrep -a clusterd | sed 's/^/# left: /'
		return 1
	}
	local units load
	units=$(ct systemctl list-unit-files --no-legend 'clusterd*' | wc -l)
	load=$(ct systemctl show -p LoadState --value clusterd.service clusterd.socket | xargs)
	say "after purge: no clusterd process; unit files: $units; LoadState: $load;" \
		"/etc/clusterd $(ct test -e /etc/clusterd && echo left || echo gone);" \
		"/var/log/clusterd $(ct test -e /var/log/clusterd && echo left || echo gone)"
	((units == 0)) && [[ $load == "not-found not-found" ]] && ! ct test -e /etc/clusterd/clusterd.conf &&
		! ct test -e /var/log/clusterd
}

check "apt-get install creates the user, enables and starts clusterd.socket" check_install
check "Static-Built-Using and Depends say which libmicrohttpd is inside" check_mhd_fields
run_common_checks
run_https_checks
run_app_checks
check "other addresses: listen.conf, daemon-reload, restart clusterd.socket" check_listen_dropin
check "logrotate -f /etc/logrotate.d/clusterd: the workers write to the new file" check_logrotate
check "upgrade under ab load: 0 failed, service restarted" check_upgrade_under_load
check "apt-get purge: no process, no unit, no logs" check_purge
e2e_finish
