#!/usr/bin/env bash
# Bad command lines and config files are refused before anything starts: one
# line on stderr that names the option (or file and line) and the value, a
# non-zero exit, and no socket bound.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# refused DESC EXPECTED-REGEX ARGS...: clusterd ARGS must fail at once with one
# stderr line matching EXPECTED-REGEX (anchored) and print nothing on stdout.
# The port is held by a plain listener meanwhile: a clusterd that tried to
# bind before it checked its input would fail with "Address already in use"
# instead, and not match.
refused() {
        local desc=$1 want=$2 status=0 out err lines
        shift 2
        timeout 10 "$CLUSTERD" --listen "127.0.0.1:$PORT" "$@" >"$TMP/out" 2>"$TMP/err" || status=$?
        out=$(cat "$TMP/out")
        err=$(cat "$TMP/err")
        lines=$(count_lines "$err")
        if ((status == 0 || status == 124)); then
                fail "$desc: expected a non-zero exit at once, got status $status"
        elif [[ $lines != 1 || -n $out ]]; then
                fail "$desc: expected one line on stderr and none on stdout, got $lines: '$(tr '\n' '|' <<<"$err$out")'"
        elif ! grep -Eqx -- "$want" <<<"$err"; then
                fail "$desc: expected /$want/, got '$err'"
        else
                pass "$desc: exit $status, '$err'"
        fi
}

make_root
PORT=$(free_port)
python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.1)' "$PORT" "$TMP/holding" &
track "$!"
wait_for 5 test -e "$TMP/holding" || die "could not hold port $PORT"
EMPTY=$TMP/empty.conf
: >"$EMPTY"
BASE=(--config "$EMPTY" --root "$ROOT")

# a control: the same base command line is fine
# shellcheck disable=SC2317 # called through check_cmd
quiet() { "$@" >/dev/null; }
check_cmd "control: the same options with good values pass --check-config" \
        quiet "$CLUSTERD" "${BASE[@]}" --workers 2 --check-config

# a missing mime-types file is no error (clusterd runs, with every file as
# application/octet-stream), but --check-config says so
status=0
err=$("$CLUSTERD" "${BASE[@]}" --mime-types "$TMP/no-such-mime.types" --check-config 2>&1 >/dev/null) ||
        status=$?
check_eq "--check-config with a missing mime-types file: exit 0" 0 "$status"
check_eq "--check-config with a missing mime-types file: one warning line" \
        "clusterd: warning: mime-types '$TMP/no-such-mime.types': No such file or directory" "$err"

# command line
refused "--workers banana" "clusterd: --workers 'banana': expected 'auto' or a number from 1 to 256" \
        "${BASE[@]}" --workers banana
refused "--workers 0" "clusterd: --workers '0': expected 'auto' or a number from 1 to 256" \
        "${BASE[@]}" --workers 0
refused "--workers 257" "clusterd: --workers '257': expected 'auto' or a number from 1 to 256" \
        "${BASE[@]}" --workers 257
refused "--root without a value" "clusterd: option '--root' needs a value \(see --help\)" \
        --config "$EMPTY" --root
refused "--root naming a missing directory" "clusterd: --root '$TMP/nowhere': No such file or directory" \
        --config "$EMPTY" --root "$TMP/nowhere"
refused "--root naming a file" "clusterd: --root '$ROOT/index.html': not a directory" \
        --config "$EMPTY" --root "$ROOT/index.html"
printf 'workers = 2\n' >"$TMP/no-root.conf"
if [[ -e /usr/share/clusterd/www ]]; then
        skip "no --root and no default root (/usr/share/clusterd/www exists here)"
else
        refused "no --root and no default root" \
                "clusterd: root '/usr/share/clusterd/www': No such file or directory" \
                --config "$TMP/no-root.conf"
fi
refused "unknown option --bogus" "clusterd: unknown option '--bogus' \(see --help\)" \
        "${BASE[@]}" --bogus
refused "unknown option in a group (-zq)" "clusterd: unknown option '-z' \(see --help\)" \
        "${BASE[@]}" -zq
refused "a directory as the config file" "clusterd: $TMP: Is a directory" \
        --config "$TMP"
refused "stray argument" "clusterd: unexpected argument 'extra' \(see --help\)" \
        "${BASE[@]}" extra
refused "--listen nonsense" "clusterd: --listen 'nonsense': expected ADDR:PORT.*" \
        "${BASE[@]}" --listen nonsense
refused "--heartbeat-timeout soon" "clusterd: --heartbeat-timeout 'soon': expected a duration.*" \
        "${BASE[@]}" --heartbeat-timeout soon
# a value out of range names the range
refused "--drain-timeout 90min" \
        "clusterd: --drain-timeout '90min': expected a duration from 0 to 60min, such as 30s or 2min" \
        "${BASE[@]}" --drain-timeout 90min
refused "--heartbeat-interval 1500us" \
        "clusterd: --heartbeat-interval '1500us': expected a duration from 10ms to 60s, such as 500ms or 2s" \
        "${BASE[@]}" --heartbeat-interval 1500us
refused "--connection-limit 0" \
        "clusterd: --connection-limit '0': expected a whole number from 1 to 1000000" \
        "${BASE[@]}" --connection-limit 0
# a value not among the choices names them
refused "--dotfiles maybe" "clusterd: --dotfiles 'maybe': expected allow or deny" \
        "${BASE[@]}" --dotfiles maybe
refused "--dotfiles maybe --check-config" "clusterd: --dotfiles 'maybe': expected allow or deny" \
        "${BASE[@]}" --dotfiles maybe --check-config
refused "--dotfiles without a value" "clusterd: option '--dotfiles' needs a value \(see --help\)" \
        "${BASE[@]}" --dotfiles

# config files
printf '# clusterd test\n[clusterd]\nworkers = 2\nfoo = bar\n' >"$TMP/unknown-key.conf"
refused "config: unknown key (names file and line)" \
        "clusterd: $TMP/unknown-key.conf:4: unknown key 'foo'" \
        --config "$TMP/unknown-key.conf" --root "$ROOT"
printf 'workers = 2\nheartbeat-timeout = soon\n' >"$TMP/bad-value.conf"
refused "config: bad duration (names file, line, key and value)" \
        "clusterd: $TMP/bad-value.conf:2: heartbeat-timeout = 'soon': expected a duration.*" \
        --config "$TMP/bad-value.conf" --root "$ROOT"
printf '\n\nworkers = banana\n' >"$TMP/bad-workers.conf"
refused "config: workers = banana (names file, line, key and value)" \
        "clusterd: $TMP/bad-workers.conf:3: workers = 'banana': expected 'auto' or a number from 1 to 256" \
        --config "$TMP/bad-workers.conf" --root "$ROOT"
printf 'workers = 2\ndotfiles = yes\n' >"$TMP/bad-dotfiles.conf"
refused "config: dotfiles = yes (names file, line, key and value)" \
        "clusterd: $TMP/bad-dotfiles.conf:2: dotfiles = 'yes': expected allow or deny" \
        --config "$TMP/bad-dotfiles.conf" --root "$ROOT"
printf '[server]\nworkers = 2\n' >"$TMP/bad-section.conf"
refused "config: unknown section" "clusterd: $TMP/bad-section.conf:2: unknown section \[server\]" \
        --config "$TMP/bad-section.conf" --root "$ROOT"
printf 'workers = 2\nthis is not ini\n' >"$TMP/syntax.conf"
refused "config: syntax error (names file and line)" "clusterd: $TMP/syntax.conf:2: syntax error.*" \
        --config "$TMP/syntax.conf" --root "$ROOT"
refused "--config naming a missing file" "clusterd: $TMP/missing.conf: No such file or directory" \
        --config "$TMP/missing.conf" --root "$ROOT"

# a missing MIME table is not fatal (files go out as octet-stream), but the
# manager says so at start
MIME_PORT=$(free_port)
warned=$(timeout 3 "$CLUSTERD" "${BASE[@]}" --listen "127.0.0.1:$MIME_PORT" --workers 1 \
        --mime-types "$TMP/no-such.types" 2>&1 || true)
check_match "missing --mime-types: a warning naming the file" \
        "mime-types '$TMP/no-such.types': No such file or directory" "$warned"

# the command line wins over the file, and a good file is accepted
printf '[clusterd]\nworkers = 3\ndrain-timeout = 5s\n' >"$TMP/good.conf"
check_match "config: a good file is read (--check-config)" '^drain-timeout = 5000ms$' \
        "$("$CLUSTERD" --config "$TMP/good.conf" --root "$ROOT" --check-config)"
check_match "config: the command line wins over the file" '^workers = 4$' \
        "$("$CLUSTERD" --config "$TMP/good.conf" --root "$ROOT" --workers 4 --check-config)"

# dotfiles: deny unless the file or the command line says allow
check_match "--check-config: dotfiles = deny by default" '^dotfiles = deny$' \
        "$("$CLUSTERD" "${BASE[@]}" --check-config)"
printf '[clusterd]\ndotfiles = allow\n' >"$TMP/dotfiles.conf"
check_match "config: dotfiles = allow is read (--check-config)" '^dotfiles = allow$' \
        "$("$CLUSTERD" --config "$TMP/dotfiles.conf" --root "$ROOT" --check-config)"
check_match "config: --dotfiles deny wins over the file's allow" '^dotfiles = deny$' \
        "$("$CLUSTERD" --config "$TMP/dotfiles.conf" --root "$ROOT" --dotfiles deny --check-config)"
check_match "--help names --dotfiles and both values" '--dotfiles allow\|deny' \
        "$("$CLUSTERD" --help)"

# access-log: off by default; a file must be absolute, and writable where it is
check_match "--check-config: access-log = off by default" '^access-log = off$' \
        "$("$CLUSTERD" "${BASE[@]}" --check-config)"
check_match "--check-config: access-log = FILE is printed" "^access-log = $TMP/access.log\$" \
        "$("$CLUSTERD" "${BASE[@]}" --access-log "$TMP/access.log" --check-config)"
check_cmd "--check-config with an access log that does not exist yet does not create it" \
        test ! -e "$TMP/access.log"
refused "--access-log relative" \
        "clusterd: --access-log 'access.log': expected off, journal or the absolute path of a file" \
        "${BASE[@]}" --access-log access.log
refused "--access-log in a missing directory (names the file)" \
        "clusterd: access-log '$TMP/no-dir/access.log': No such file or directory" \
        "${BASE[@]}" --access-log "$TMP/no-dir/access.log"
printf 'workers = 2
access-log = logs/access.log
' >"$TMP/bad-access-log.conf"
refused "config: access-log = logs/access.log (names file, line, key and value)" \
        "clusterd: $TMP/bad-access-log.conf:2: access-log = 'logs/access.log': expected off, journal or the absolute path of a file" \
        --config "$TMP/bad-access-log.conf" --root "$ROOT"
finish
