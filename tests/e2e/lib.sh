# shellcheck shell=bash
# End-to-end test helpers: a throwaway container of this machine, with real
# systemd as PID 1, booted by systemd-nspawn on an overlay of /. Writes go to
# the overlay's upper layer, so the host stays untouched; the container is
# always powered off and the layers removed on exit, failed or not.
#
# A test script sources this file, calls e2e_init (which skips, exit 77, where
# no container can start: see e2e_probe), then e2e_boot, drives the
# container with `ct CMD...`, records results with check/fail, and ends with
# e2e_finish.

set -uo pipefail

E2E_DIR=""    # the work directory: up/, wk/, root/ (the merged view), build output
E2E_NSPAWN="" # pid of systemd-nspawn
E2E_BIND_RO=() # host directories the container sees read-only, same path
E2E_LEADER="" # pid of the container's PID 1, as the host sees it
E2E_PASSED=0
E2E_FAILED=0
E2E_T0=$SECONDS

say() { printf '# %s\n' "$*"; }

# Skips (exit 77, meson's "skipped") when the machine cannot run the test;
# with E2E_REQUIRED=1 (as .ci/run sets it) that is a failure instead, so CI
# cannot pass without the end-to-end tests.
e2e_cannot_run() {
	if [[ ${E2E_REQUIRED:-} == 1 ]]; then
		echo "FAIL (E2E_REQUIRED=1): $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

e2e_require() {
	if ((EUID != 0)); then
		e2e_cannot_run "needs root (mounts an overlay, boots a container)"
	fi
	local t
	for t in systemd-nspawn nsenter mount curl; do
		if ! command -v "$t" >/dev/null; then
			e2e_cannot_run "$t is missing (package systemd-container / util-linux / curl)"
		fi
	done
}

# e2e_probe DIR: can systemd-nspawn start a container of this machine here?
# Starts the cheapest one there is: /bin/true, not a boot, over an overlay of
# / in DIR, with e2e_boot's options (about 0.1 s). That goes through the same
# overlay mount and cgroup set-up as a boot, which is where a container
# inside a container, or on some cgroup-v1 hosts, fails ("Failed to create
# /../payload subcgroup: Not a directory"). When it cannot, prints why and
# returns 1.
e2e_probe() {
	local d=$1 out status=0 virt cgroupfs
	mkdir -p "$d/up" "$d/wk" "$d/root" || return 1
	if ! out=$(mount -t overlay overlay -o "lowerdir=/,upperdir=$d/up,workdir=$d/wk" \
		"$d/root" 2>&1); then
		echo "cannot mount an overlay of / ($(head -n 1 <<<"$out"))"
		return 1
	fi
	out=$(timeout 30 systemd-nspawn -q -D "$d/root" --register=no --keep-unit --private-network \
		--link-journal=no --console=pipe -- /bin/true </dev/null 2>&1) || status=$?
	umount "$d/root" || umount -l "$d/root"
	((status == 0)) && return 0
	# the error, not the notes nspawn adds on its way out
	out=$(grep -m 1 '^Failed' <<<"$out" || tail -n 1 <<<"$out")
	# what tells such machines apart, for whoever reads the reason
	if virt=$(systemd-detect-virt --container 2>/dev/null); then
		virt="inside a $virt container"
	else
		virt="not in a container"
	fi
	cgroupfs=$(stat -fc %T /sys/fs/cgroup)
	[[ $cgroupfs == cgroup2fs ]] || cgroupfs+=", cgroup v1 or hybrid"
	echo "systemd-nspawn cannot start a container here: ${out:-exit status $status}" \
		"($virt; /sys/fs/cgroup is $cgroupfs)"
	return 1
}

# The container's PID 1: the child of systemd-nspawn that runs systemd (an
# intermediate child exists for a moment while nspawn sets up).
find_leader() {
	local p
	for p in $(pgrep -P "$E2E_NSPAWN"); do
		if [[ $(cat "/proc/$p/comm" 2>/dev/null) == systemd ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

e2e_cleanup() {
	local status=$? i
	if [[ -n $E2E_NSPAWN ]]; then
		E2E_LEADER=$(find_leader) || E2E_LEADER=""
		if [[ -n $E2E_LEADER ]]; then
			nsenter -t "$E2E_LEADER" -a systemctl poweroff >/dev/null 2>&1 || true
		fi
		for ((i = 0; i < 150; i++)); do
			kill -0 "$E2E_NSPAWN" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$E2E_NSPAWN" 2>/dev/null; then
			# killing PID 1 ends every process of the container; killing
			# only nspawn would leave the container running
			say "container did not power off in 15s, killing it"
			E2E_LEADER=$(find_leader) || E2E_LEADER=""
			if [[ -n $E2E_LEADER ]]; then
				kill -KILL "$E2E_LEADER" 2>/dev/null || true
			fi
			for ((i = 0; i < 50; i++)); do
				kill -0 "$E2E_NSPAWN" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$E2E_NSPAWN" 2>/dev/null || true
		fi
		wait "$E2E_NSPAWN" 2>/dev/null || true
	fi
	if [[ -n $E2E_DIR ]]; then
		for i in "$E2E_DIR/root" "$E2E_DIR/probe/root"; do
			if mountpoint -q "$i"; then
				umount "$i" 2>/dev/null || umount -l "$i" || true
			fi
		done
		rm -rf "$E2E_DIR"
	fi
	return "$status"
}

# Creates the work directory; output that must exist before the overlay is
# mounted (builds) goes into it, because later changes to the lower layer are
# not reliably visible through an overlay.
e2e_init() {
	e2e_require
	e2e_remove_stale
	E2E_DIR=$(mktemp -d /var/tmp/clusterd-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	echo $$ >"$E2E_DIR/owner"
	mkdir -p "$E2E_DIR/up" "$E2E_DIR/wk" "$E2E_DIR/root"
	# before any build: a machine that cannot boot the container skips at once
	e2e_require_container "$E2E_DIR/probe"
	rm -rf "$E2E_DIR/probe"
}

# e2e_require_container DIR: e2e_probe, and a skip with its reason when no
# container can start here.
e2e_require_container() {
	local why
	why=$(e2e_probe "$1") || e2e_cannot_run "$why"
}

# Removes what a run killed with SIGKILL left behind: a work directory whose
# owner is gone and whose container no longer runs. Other runs' live
# directories are left alone.
e2e_remove_stale() {
	local d owner
	for d in /var/tmp/clusterd-e2e.*; do
		[[ -f $d/owner ]] || continue
		owner=$(cat "$d/owner")
		kill -0 "$owner" 2>/dev/null && continue
		pgrep -f "systemd-nspawn -D $d/root" >/dev/null && continue
		say "removing $d, left by an earlier run (pid $owner)"
		if mountpoint -q "$d/root"; then
			umount "$d/root" 2>/dev/null || umount -l "$d/root" || continue
		fi
		rm -rf "$d"
	done
}

e2e_boot() {
	local i t0=$SECONDS
	mount -t overlay overlay \
		-o "lowerdir=/,upperdir=$E2E_DIR/up,workdir=$E2E_DIR/wk" "$E2E_DIR/root" || {
		echo "cannot mount an overlay of /" >&2
		exit 1
	}
	# The container gets a /tmp of its own: directories the tests need inside
	# (a source tree cloned under /tmp, say) are listed in E2E_BIND_RO.
	local binds=() d
	for d in "${E2E_BIND_RO[@]}"; do
		binds+=("--bind-ro=$d")
	done
	systemd-nspawn -D "$E2E_DIR/root" --register=no --keep-unit --private-network \
		"${binds[@]}" --console=passive -b -- systemd.firstboot=off \
		</dev/null >"$E2E_DIR/nspawn.log" 2>&1 &
	E2E_NSPAWN=$!
	for ((i = 0; i < 300; i++)); do
		E2E_LEADER=$(find_leader) || E2E_LEADER=""
		if [[ -n $E2E_LEADER ]] &&
			nsenter -t "$E2E_LEADER" -m test -S /run/systemd/private 2>/dev/null; then
			break
		fi
		if ! kill -0 "$E2E_NSPAWN" 2>/dev/null; then
			cat "$E2E_DIR/nspawn.log" >&2
			echo "systemd-nspawn exited early" >&2
			exit 1
		fi
		sleep 0.1
	done
	if [[ -z $E2E_LEADER ]]; then
		cat "$E2E_DIR/nspawn.log" >&2
		echo "the container's systemd did not come up in 30s" >&2
		exit 1
	fi
	local state
	state=$(ct timeout 60 systemctl is-system-running --wait 2>/dev/null)
	say "container booted in $((SECONDS - t0))s: $state"
	if [[ $state != running && $state != degraded ]]; then
		ct systemctl --failed --no-pager || true
		echo "container did not boot" >&2
		exit 1
	fi
	[[ $state == degraded ]] && ct systemctl --failed --no-pager --plain | sed 's/^/# /'
	return 0
}

# Runs a command inside the container (all its namespaces).
ct() {
	nsenter -t "$E2E_LEADER" -a "$@"
}

check() {
	local name=$1
	shift
	local t0=$SECONDS
	if "$@"; then
		E2E_PASSED=$((E2E_PASSED + 1))
		echo "ok - $name ($((SECONDS - t0))s)"
	else
		E2E_FAILED=$((E2E_FAILED + 1))
		echo "not ok - $name ($((SECONDS - t0))s)"
	fi
}

e2e_finish() {
	say "total $((SECONDS - E2E_T0))s"
	echo "$E2E_PASSED passed, $E2E_FAILED failed"
	((E2E_FAILED == 0))
}
