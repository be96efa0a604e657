#!/usr/bin/env bash
# service/run, the README's first command: socket-activated clusterd serving
# the default site, one worker per CPU, --listen moving the socket and other
# arguments going to clusterd, Ctrl-C stopping everything. It runs against
# the build directory of the binary under test (BUILD/src/clusterd).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$(dirname "$CLUSTERD")")
[[ -f $BUILD/build.ninja && $CLUSTERD == "$BUILD/src/clusterd" ]] ||
        die "service/run needs a meson build directory; $CLUSTERD is not BUILD/src/clusterd"

# a bad command line is refused before anything is installed or built
for arg in --listen --listen=; do
        status=0
        out=$(BUILD_DIR=$BUILD timeout 60 "$REPO/service/run" "$arg" 2>&1) || status=$?
        check_eq "$arg without an address: exit 2" 2 "$status"
        check_eq "$arg without an address: one line that says so, before any build" \
                'service/run: --listen needs an address' "$out"
done

# On a fresh Debian, where nothing is installed, service/run installs curl
# too: the README's next step is "curl http://127.0.0.1:8080/". A dpkg that
# knows no package and an apt-get that only notes what it was asked stand in
# for that machine.
mkdir "$TMP/fresh"
printf '#!/bin/sh\nexit 1\n' >"$TMP/fresh/dpkg"
# shellcheck disable=SC2016 # $* and $1 are the fake's
printf '#!/bin/sh\necho "apt-get $*" >>%s\n[ "$1" = update ]\n' "$TMP/apt.log" >"$TMP/fresh/apt-get"
chmod +x "$TMP/fresh/dpkg" "$TMP/fresh/apt-get"
status=0
PATH=$TMP/fresh:$PATH BUILD_DIR=$BUILD timeout 60 "$REPO/service/run" >/dev/null 2>&1 || status=$?
check_match "on a fresh machine service/run installs curl (exit $status after apt-get)" \
        '^apt-get install .* curl( |$)' "$(cat "$TMP/apt.log" 2>/dev/null || true)"

# so is a bad argument for clusterd: at once, not at the first request
PORT=$(free_port)
status=0
out=$(BUILD_DIR=$BUILD timeout 60 "$REPO/service/run" --listen "127.0.0.1:$PORT" --workers banana \
        2>&1) || status=$?
check_eq "--workers banana: exit 2 at once" 2 "$status"
check_match "--workers banana: clusterd's own message" \
        "clusterd: --workers 'banana': expected 'auto' or a number from 1 to 256" "$out"
check_eq "--workers banana: nothing listens" 000 "$(http_code "http://127.0.0.1:$PORT/" --max-time 2)"
check_match "--help: clusterd's help, at once" '^Usage: clusterd' \
        "$(BUILD_DIR=$BUILD timeout 60 "$REPO/service/run" --help 2>&1 | grep -m1 '^Usage' || true)"

PORT=$(free_port)
LOG=$TMP/run.log
: >"$LOG"
spawn "$LOG" env BUILD_DIR="$BUILD" "$REPO/service/run" --listen "127.0.0.1:$PORT" \
        --config "$CONF" --workers 2
RUN_PID=$SPAWNED
wait_for 60 grep -q "Listening on" "$LOG" || die "service/run did not listen on $PORT"
check_cmd "it names the address it serves" \
        grep -q "^service/run: http://127.0.0.1:$PORT serving $REPO/service/www" "$LOG"

body=$(curl -s --max-time 20 "http://127.0.0.1:$PORT/" || true)
check_match "the first request starts clusterd and gets the default site" \
        '<title>[^<]*clusterd' "$body"
wait_serving 2
check_cmd "clusterd got the socket from systemd-socket-activate" \
        grep -q 'using 1 socket(s) from systemd' "$LOG"
check_no_match "the moved socket is not also passed to clusterd as --listen" \
        'listen addresses of the configuration are not used' "$(cat "$LOG")"
check_eq "the arguments reached clusterd: 2 workers" 2 "$(pgrep -c -P "$RUN_PID" || true)"
check_eq "no server on the default port 8080 from this run" "" \
        "$(grep -F '127.0.0.1:8080' "$LOG" || true)"

# Ctrl-C reaches the whole process group, as in a terminal
kill -INT -- "-$RUN_PID"
if wait_exit "$RUN_PID" 20; then
        check_eq "Ctrl-C: service/run exits 0" 0 "$EXIT_STATUS"
else
        fail "Ctrl-C: still running after 20 s"
fi
check_eq "Ctrl-C: nothing listens on the port any more" 000 \
        "$(http_code "http://127.0.0.1:$PORT/" --max-time 2)"

# relative paths are the caller's: --root www from another directory
mkdir -p "$TMP/elsewhere/www"
printf 'relative root\n' >"$TMP/elsewhere/www/index.html"
PORT=$(free_port)
: >"$LOG"
spawn "$LOG" env -C "$TMP/elsewhere" BUILD_DIR="$BUILD" "$REPO/service/run" \
        --listen "127.0.0.1:$PORT" --config "$CONF" --workers 1 --root www
RUN_PID=$SPAWNED
wait_for 60 grep -q "Listening on" "$LOG" || die "service/run did not listen on $PORT"
check_eq "a relative --root is the caller's directory" "relative root" \
        "$(curl -s --max-time 20 "http://127.0.0.1:$PORT/" || true)"
kill -INT -- "-$RUN_PID"
wait_exit "$RUN_PID" 20 || fail "Ctrl-C: the second run still runs after 20 s"
finish
