#!/usr/bin/env bash
# Where systemd-nspawn cannot start a container (inside a container, on some
# cgroup-v1 hosts), both end-to-end tests skip (77) at once, before building
# anything, and say why; with E2E_REQUIRED=1 (CI) they fail instead. A
# systemd-nspawn, or a mount, that fails the way the real one does there
# stands in for such a machine.
# Usage: tests/e2e/e2e-skip.sh SOURCE_DIR   (root; exit 77 = skipped)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$here/lib.sh"

src=$(cd "${1:-$here/../..}" && pwd)
e2e_require
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
mkdir "$fake/nspawn" "$fake/mount"
# what systemd-nspawn 252 prints inside a container of this machine
printf '#!/bin/sh\necho "Failed to create /../payload subcgroup: Not a directory" >&2\nexit 1\n' \
	>"$fake/nspawn/systemd-nspawn"
# and what mount prints there for an overlay of /
printf '#!/bin/sh\necho "mount: wrong fs type, bad option, bad superblock on overlay" >&2\nexit 32\n' \
	>"$fake/mount/mount"
chmod +x "$fake/nspawn/systemd-nspawn" "$fake/mount/mount"

# run_fake FAKE SCRIPT [VAR=VALUE]: runs the e2e script with the fake first
# in PATH; sets OUT (its output) and RC
run_fake() {
	local t0=$SECONDS
	RC=0
	OUT=$(env -u E2E_REQUIRED PATH="$fake/$1:$PATH" "${@:3}" timeout 60 "$here/$2.sh" "$src" 2>&1) ||
		RC=$?
	say "$2 with a failing $1${3:+, $3}: exit $RC in $((SECONDS - t0))s: $(tail -n 1 <<<"$OUT")"
}

# ended STATUS LINE-START: it exited STATUS, with a line that begins with
# LINE-START, before building anything
ended() {
	[[ $RC == "$1" && $'\n'$OUT == *$'\n'"$2"* && $OUT != *building* ]]
}

nspawn_reason='systemd-nspawn cannot start a container here: Failed to create /../payload subcgroup: Not a directory ('
for script in e2e-meson-install e2e-deb; do
	run_fake nspawn "$script"
	check "$script skips when systemd-nspawn cannot start a container" ended 77 "SKIP: $nspawn_reason"
	run_fake nspawn "$script" E2E_REQUIRED=1
	check "$script fails then under E2E_REQUIRED=1" ended 1 "FAIL (E2E_REQUIRED=1): $nspawn_reason"
done
run_fake mount e2e-meson-install
check "e2e-meson-install skips when / cannot be overlaid" \
	ended 77 'SKIP: cannot mount an overlay of / (mount: wrong fs type'
e2e_finish
