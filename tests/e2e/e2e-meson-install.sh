#!/usr/bin/env bash
# End-to-end, install path 1: build with --prefix=/usr, `meson install` into a
# throwaway container of this machine running systemd, then start
# clusterd.socket and run the shared checks (checks.sh).
# Usage: tests/e2e/e2e-meson-install.sh SOURCE_DIR   (root; exit 77 = skipped)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$here/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$here/checks.sh"

src=$(cd "${1:-$here/../..}" && pwd)
e2e_init
for t in meson ninja; do
	command -v "$t" >/dev/null || e2e_cannot_run "$t is missing"
done

say "building $src with --prefix=/usr"
t0=$SECONDS
if ! meson setup "$E2E_DIR/build" "$src" --prefix=/usr -Dtests=false >"$E2E_DIR/build.log" 2>&1 ||
	! ninja -C "$E2E_DIR/build" >>"$E2E_DIR/build.log" 2>&1; then
	cat "$E2E_DIR/build.log"
	echo "build failed" >&2
	exit 1
fi
say "built in $((SECONDS - t0))s"

# meson install reads files from the source tree as well as the build dir
E2E_BIND_RO=("$src")
e2e_boot

install_from_source() {
	ct meson install -C "$E2E_DIR/build" --no-rebuild --quiet || return 1
	# the steps the README gives after meson install
	ct systemd-sysusers clusterd.conf &&
		ct systemd-tmpfiles --create clusterd.conf &&
		ct systemctl daemon-reload &&
		ct systemctl reload dbus.service &&
		ct systemctl enable --now clusterd.socket || return 1
	say "clusterd.socket: $(ct systemctl is-enabled clusterd.socket)," \
		"$(ct systemctl is-active clusterd.socket); user: $(ct id clusterd)"
	[[ $(ct systemctl is-active clusterd.socket) == active ]]
}

# Only clusterd's files: the bundled libmicrohttpd is linked in, not installed.
# The overlay's upper layer holds every file the container wrote.
check_no_mhd_files() {
	local files
	files=$(find "$E2E_DIR/up" -iname '*microhttpd*')
	say "files named *microhttpd* that meson install wrote: ${files:-none}"
	[[ -z $files ]]
}

# The alternative clusterd(8) documents: one SO_REUSEPORT socket per worker,
# from a drop-in that repeats each ListenStream= line once per worker.
check_per_worker_sockets() {
	local n i conf='[Socket]\nListenStream=\n' line
	n=$(ct nproc)
	for ((i = 0; i < n; i++)); do
		conf+='ListenStream=0.0.0.0:8080\nListenStream=[::]:8080\n'
	done
	conf+='ReusePort=yes\n'
	ct mkdir -p /etc/systemd/system/clusterd.socket.d
	# shellcheck disable=SC2059 # the drop-in is the format
	printf "$conf" | ct tee /etc/systemd/system/clusterd.socket.d/per-worker.conf >/dev/null
	ct systemctl daemon-reload
	ct systemctl stop clusterd.socket
	ct systemctl start clusterd.socket || return 1
	[[ $(http_code) == 200 ]] || return 1
	line=$(ct journalctl -u clusterd.service -o cat | grep 'socket(s) from systemd' | tail -n 1)
	say "$line"
	LOAD_SECONDS=3 load_start "$E2E_DIR/ab-per-worker"
	load_check "$E2E_DIR/ab-per-worker" || return 1
	ct rm -r /etc/systemd/system/clusterd.socket.d
	ct systemctl daemon-reload
	ct systemctl stop clusterd.socket
	[[ $line == "manager: using $((2 * n)) socket(s) from systemd on 2 address(es)" ]]
}

# Inside this container is where the e2e tests cannot run on this machine
# (no overlay of an overlay, a cgroup outside the cgroup namespace): the probe
# they start with, run in here, skips with the reason, or lets them go where
# a container in a container does start.
check_probe_inside() {
	local out rc=0
	# shellcheck disable=SC2016 # expanded by the shell in the container
	out=$(ct env -u E2E_REQUIRED bash -c \
		'. "$1"; e2e_require_container "$(mktemp -d /var/tmp/clusterd-e2e-probe.XXXXXX)"' \
		_ "$src/tests/e2e/lib.sh" 2>&1) || rc=$?
	say "the probe inside the container: exit $rc${out:+: $out}"
	[[ $rc == 77 && $out == "SKIP: "* ]] || [[ $rc == 0 && -z $out ]]
}

check "meson install, sysusers, enable --now clusterd.socket" install_from_source
check "meson install installed no libmicrohttpd file" check_no_mhd_files
run_common_checks
run_app_checks
check "per-worker sockets from a drop-in (ReusePort=yes)" check_per_worker_sockets
check "inside the container, the e2e probe skips with a reason (or goes)" check_probe_inside
check "no clusterd process left" no_clusterd_process
e2e_finish
