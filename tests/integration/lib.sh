# shellcheck shell=bash
# Shared helpers for clusterd's integration tests. Each test sources this file,
# drives the real binary the way an operator would (curl, ab, kill,
# systemd-socket-activate) and prints one line per check.
#
# Usage in a test:  source "$(dirname "$0")/lib.sh" "$@"   (first argument: the
# clusterd binary; default $CLUSTERD or build/src/clusterd). Set KEEP_TMP=1 to
# keep the temp dir for a look afterwards.

set -eEuo pipefail

CLUSTERD=${1:-${CLUSTERD:-build/src/clusterd}}
if [[ ! -x $CLUSTERD ]]; then
        echo "FAIL - clusterd binary not found at '$CLUSTERD'"
        exit 1
fi
CLUSTERD=$(realpath "$CLUSTERD")
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/clusterd-it-$TEST_NAME.XXXXXX")
N_CHECKS=0
N_FAILED=0
STARTED_PIDS=()    # process group leaders started by spawn
BG_PIDS=()         # other background commands (curl, ab), see track
NOTIFY_PATH=""     # set by notify_start
NOTIFY_OUT=""
CD_PID=""          # set by clusterd_start / clusterd_start_activated
WRAP=()            # command clusterd_start runs clusterd under, e.g. (taskset -c 0)
ACTIVATE_LISTEN=() # what clusterd_start_activated listens on (default 127.0.0.1:$PORT)
LOG=""
# clusterd reads this instead of /etc/clusterd/clusterd.conf, so that whatever
# is installed on the machine does not change the tests; tests may fill it
CONF=$TMP/clusterd.conf
: >"$CONF"

# ---- checks: one line each ----

pass() {
        N_CHECKS=$((N_CHECKS + 1))
        echo "ok   - $1"
}

fail() {
        N_CHECKS=$((N_CHECKS + 1))
        N_FAILED=$((N_FAILED + 1))
        echo "FAIL - $1"
}

# skip DESC: a check this machine cannot make
skip() {
        echo "skip - $1"
}

# check_eq DESC EXPECTED GOT
check_eq() {
        if [[ $2 == "$3" ]]; then
                pass "$1"
        else
                fail "$1 (expected '$2', got '$3')"
        fi
}

# check_match DESC EXTENDED-REGEX TEXT
check_match() {
        if grep -Eq -- "$2" <<<"$3"; then
                pass "$1"
        else
                fail "$1 (expected text matching /$2/, got '$(head -c 300 <<<"$3" | tr '\n' '|')')"
        fi
}

# check_no_match DESC EXTENDED-REGEX TEXT
check_no_match() {
        local hit
        if hit=$(grep -Em1 -- "$2" <<<"$3"); then
                fail "$1 (expected nothing matching /$2/, got '$hit')"
        else
                pass "$1"
        fi
}

# check_cmd DESC CMD...: passes when CMD succeeds
check_cmd() {
        local desc=$1
        shift
        if "$@"; then
                pass "$desc"
        else
                fail "$desc (command failed: $*)"
        fi
}

# check_le DESC LIMIT GOT: numbers
check_le() {
        if ((${3:-999999999} <= $2)); then
                pass "$1"
        else
                fail "$1 (expected at most $2, got ${3:-nothing})"
        fi
}

# check_ge DESC LIMIT GOT: numbers
check_ge() {
        if ((${3:--1} >= $2)); then
                pass "$1"
        else
                fail "$1 (expected at least $2, got ${3:-nothing})"
        fi
}

# die DESC: a failure that makes the rest of the test meaningless
die() {
        fail "$1"
        exit 1
}

finish() {
        echo "# $TEST_NAME: $N_CHECKS checks, $N_FAILED failed"
        if ((N_FAILED > 0)); then
                exit 1
        fi
        exit 0
}

# ---- clean-up: everything spawned is killed, on failure too ----

dump_logs() {
        local f
        for f in "$TMP"/*.log "$TMP"/*.notify; do
                [[ -s $f ]] || continue
                echo "# --- last lines of $(basename "$f") ---"
                tail -n 40 "$f" | sed 's/^/# /'
        done
}

cleanup() {
        local status=$? pid
        trap - ERR
        set +e
        for pid in "${STARTED_PIDS[@]}"; do
                kill -KILL -- "-$pid" "$pid" 2>/dev/null
        done
        for pid in "${BG_PIDS[@]}"; do
                kill -KILL "$pid" 2>/dev/null
        done
        for pid in "${STARTED_PIDS[@]}" "${BG_PIDS[@]}"; do
                wait "$pid" 2>/dev/null
        done
        if ((status != 0 || N_FAILED > 0)); then
                dump_logs
        fi
        if [[ ${KEEP_TMP:-} ]]; then
                echo "# kept $TMP"
        else
                rm -rf "$TMP"
        fi
        exit "$status"
}

on_error() {
        fail "unexpected error at line $1: $2"
        exit 1
}

trap cleanup EXIT
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- time and polling ----

now_ms() {
        local t=${EPOCHREALTIME/./}
        echo $((t / 1000))
}

# wait_for SECONDS CMD...: polls CMD every 50 ms; fails when time runs out
wait_for() {
        local deadline=$(($(now_ms) + $1 * 1000))
        shift
        until "$@"; do
                (($(now_ms) < deadline)) || return 1
                sleep 0.05
        done
}

alive() {
        local stat
        stat=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $stat != Z* ]]
}

dead() {
        ! alive "$1"
}

# wait_exit PID SECONDS: waits for our child PID to end; sets EXIT_STATUS
wait_exit() {
        wait_for "$2" dead "$1" || return 1
        # shellcheck disable=SC2034 # read by the tests
        EXIT_STATUS=0
        # shellcheck disable=SC2034
        wait "$1" || EXIT_STATUS=$?
}

# ---- ports and processes ----

# free_port, free_port6: a TCP port nothing listens on right now, on
# 127.0.0.1 or ::1
free_port() {
        free_port_on 127.0.0.1
}

free_port6() {
        free_port_on ::1
}

free_port_on() {
        python3 -c '
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.bind((addr, 0))
print(s.getsockname()[1])' "$1"
}

# port_open ADDR PORT: something accepts TCP connections there
port_open() {
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# track PID: a background command of the test (curl, ab) to kill on the way out
track() {
        BG_PIDS+=("$1")
}

# spawn LOGFILE CMD...: runs CMD in the background in a process group of its
# own, with default SIGINT/SIGQUIT/SIGPIPE handling (as a shell with job
# control would start it); sets SPAWNED to its pid, which stays the same
# through the exec. Should this test be killed outright, the kernel kills CMD
# too (PR_SET_PDEATHSIG), so nothing outlives it.
spawn() {
        local log=$1 me=$BASHPID
        shift
        python3 -c '
import ctypes, os, signal, sys
parent = int(sys.argv.pop(1))
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    sys.exit(1)
os.setpgid(0, 0)
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$me" "$@" >>"$log" 2>&1 </dev/null &
        SPAWNED=$!
        STARTED_PIDS+=("$SPAWNED")
}

# worker_pids: the manager's children, sorted, one per line
worker_pids() {
        pgrep -P "$CD_PID" | sort -n || true
}

count_lines() {
        if [[ -z $1 ]]; then echo 0; else wc -l <<<"$1"; fi
}

# our_processes: any process left that runs this test's clusterd (its command
# line names our document root; workers are forks and share it)
our_processes() {
        pgrep -f -- "--root $ROOT( |$)" || true
}

# ---- the server ----

# make_root: a small document root in $ROOT
make_root() {
        ROOT=$TMP/www
        mkdir -p "$ROOT/docs"
        printf '<!doctype html>\n<title>clusterd test</title>\n<p>hello from %s</p>\n' \
                "$TEST_NAME" >"$ROOT/index.html"
        printf '<p>docs</p>\n' >"$ROOT/docs/index.html"
        printf 'plain text\n' >"$ROOT/hello.txt"
}

# make_links: after make_root, a directory beside the root, $OUTSIDE, whose
# secret.txt says $SECRET, and symlinks in $ROOT that lead to it in every
# way, or stay inside:
#   in-file -> hello.txt                  in-dir -> docs
#   in-chain -> in-chain-2 -> hello.txt   abs-in -> $ROOT/hello.txt
#   out-file -> $OUTSIDE/secret.txt       out-dir -> $OUTSIDE
#   docs/up-up -> ../../outside/secret.txt (relative, two levels up)
#   up-dir -> ..                          etc-passwd -> /etc/passwd
#   out-chain -> out-chain-2 -> docs/up-up -> the secret
make_links() {
        OUTSIDE=$TMP/outside
        SECRET="outside-secret-$RANDOM$RANDOM"
        mkdir -p "$OUTSIDE"
        echo "$SECRET" >"$OUTSIDE/secret.txt"
        ln -s hello.txt "$ROOT/in-file"
        ln -s docs "$ROOT/in-dir"
        ln -s in-chain-2 "$ROOT/in-chain"
        ln -s hello.txt "$ROOT/in-chain-2"
        ln -s "$ROOT/hello.txt" "$ROOT/abs-in"
        ln -s "$OUTSIDE/secret.txt" "$ROOT/out-file"
        ln -s "$OUTSIDE" "$ROOT/out-dir"
        ln -s ../../outside/secret.txt "$ROOT/docs/up-up"
        ln -s .. "$ROOT/up-dir"
        ln -s /etc/passwd "$ROOT/etc-passwd"
        ln -s out-chain-2 "$ROOT/out-chain"
        ln -s docs/up-up "$ROOT/out-chain-2"
}

# check_get DESC PATH STATUS [FILE]: GET PATH (as is) from 127.0.0.1:$PORT
# answers STATUS, never with $SECRET or /etc/passwd in the body, and with
# FILE's bytes when FILE is given
check_get() {
        local desc=$1 path=$2 want=$3 file=${4:-} code
        code=$(curl -s --path-as-is -o "$TMP/get.out" -w '%{http_code}' --max-time 5 \
                "http://127.0.0.1:$PORT$path") || code=000
        if [[ $code != "$want" ]]; then
                fail "$desc: $want (got $code)"
        elif grep -qE -- "${SECRET:-no-secret-set}|^root:" "$TMP/get.out"; then
                fail "$desc: $want, but the body shows what lies outside the root"
        elif [[ -n $file ]] && ! cmp -s "$TMP/get.out" "$file"; then
                fail "$desc: $want, but the body is not $file's"
        else
                pass "$desc: $want"
        fi
}

# notify_start: a NOTIFY_SOCKET listener; each datagram line is appended to
# $NOTIFY_OUT as "SENDER-PID LOG-BYTES KEY=VALUE", where LOG-BYTES is the
# size of $TMP/clusterd.log when the datagram arrived (so a test can tell
# which log lines came before it). It exits on its own once the test is gone.
notify_start() {
        NOTIFY_PATH=$TMP/notify.sock
        NOTIFY_OUT=$TMP/clusterd.notify
        : >"$NOTIFY_OUT"
        spawn "$TMP/listener.log" python3 -c '
import os, socket, struct, sys
path, out, log, parent = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
s.settimeout(1)
with open(out, "a", buffering=1) as f:
    while True:
        try:
            data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
        except socket.timeout:
            if os.getppid() != parent or not os.path.exists(path):
                break
            continue
        try:
            size = os.path.getsize(log)
        except OSError:
            size = 0
        pid = 0
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        for line in data.decode(errors="replace").splitlines():
            if line:
                f.write("%d %d %s\n" % (pid, size, line))' \
                "$NOTIFY_PATH" "$NOTIFY_OUT" "$TMP/clusterd.log" "$$"
        wait_for 10 test -S "$NOTIFY_PATH" || die "notify listener did not start"
}

# notified REGEX: true when a notification line matches (e.g. '^READY=1$')
notified() {
        cut -d' ' -f3- "$NOTIFY_OUT" | grep -Eq -- "$1"
}

notify_env() {
        NOTIFY_ENV=()
        if [[ -n $NOTIFY_PATH ]]; then
                NOTIFY_ENV=("NOTIFY_SOCKET=$NOTIFY_PATH")
        fi
}

# clusterd_start ARGS...: clusterd on 127.0.0.1:$PORT serving $ROOT with the
# settings in $CONF, stderr in $LOG; returns at once (see wait_serving)
clusterd_start() {
        LOG=$TMP/clusterd.log
        : >"$LOG"
        notify_env
        spawn "$LOG" env "${NOTIFY_ENV[@]}" "${WRAP[@]}" "$CLUSTERD" --config "$CONF" \
                --listen "127.0.0.1:$PORT" --root "$ROOT" "$@"
        CD_PID=$SPAWNED
}

# clusterd_start_activated ARGS...: the same under systemd-socket-activate;
# clusterd itself starts on the first connection.
clusterd_start_activated() {
        local env_args=() listen_args=() addr
        for addr in "${ACTIVATE_LISTEN[@]:-127.0.0.1:$PORT}"; do
                listen_args+=(-l "$addr")
        done
        LOG=$TMP/clusterd.log
        : >"$LOG"
        notify_env
        if ((${#NOTIFY_ENV[@]})); then
                env_args=(-E "${NOTIFY_ENV[0]}")
        fi
        spawn "$LOG" systemd-socket-activate "${listen_args[@]}" --fdname=http "${env_args[@]}" \
                "$CLUSTERD" --config "$CONF" --root "$ROOT" "$@"
        CD_PID=$SPAWNED
        wait_for 10 grep -q "Listening on" "$LOG" || die "systemd-socket-activate did not listen"
}

log_has() {
        grep -Eq -- "$1" "$LOG"
}

log_has_or_dead() {
        log_has "$1" || dead "$CD_PID"
}

# wait_log REGEX [SECONDS]: until the log has a matching line, while clusterd lives
wait_log() {
        wait_for "${2:-15}" log_has_or_dead "$1" && log_has "$1"
}

# wait_serving N: until "all N workers serving" is logged, or die
wait_serving() {
        wait_log "all $1 workers serving" 20 || die "clusterd did not log 'all $1 workers serving'"
}

# write_reload_conf ROOT: 2 workers serving ROOT, crash-looping after 3
# failed starts, with little backoff: a reload whose workers fail fails fast
write_reload_conf() {
        printf 'root = %s\nworkers = 2\ncrash-loop-limit = 3\nrestart-backoff-max = 200ms\n' \
                "$1" >"$CONF"
}

# start_for_failing_reloads: clusterd from write_reload_conf "$ROOT", READY=1
# received (notifications in $NOTIFY_OUT), and UNREADABLE, a document root the
# manager accepts but no worker can open: a mode 0311 directory can be
# stat'ed, not opened. Root opens any directory, so as root clusterd runs as
# nobody.
start_for_failing_reloads() {
        local as_nobody=()
        make_root
        chmod 755 "$TMP"
        UNREADABLE=$TMP/unreadable
        mkdir -m 0311 "$UNREADABLE"
        notify_start
        chmod 777 "$NOTIFY_PATH"
        PORT=$(free_port)
        write_reload_conf "$ROOT"
        LOG=$TMP/clusterd.log
        : >"$LOG"
        ((EUID != 0)) || as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        spawn "$LOG" env "NOTIFY_SOCKET=$NOTIFY_PATH" "${as_nobody[@]}" "$CLUSTERD" \
                --config "$CONF" --listen "127.0.0.1:$PORT"
        CD_PID=$SPAWNED
        wait_serving 2
        wait_for 10 notified '^READY=1$' || die "READY=1 never arrived"
}

# slow_get PORT PATH OUTFILE BYTES-PER-SECOND: a deliberately slow HTTP client
# that keeps its TCP receive window small, so the server really is still
# sending while it reads (curl --limit-rate reads whatever the kernel has
# buffered, which on loopback can be the whole file). Writes the body to
# OUTFILE as it arrives; succeeds only if all of it came.
slow_get() {
        python3 -c '
import socket, sys, time
port, path, out, rate = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(30)
s.connect(("127.0.0.1", port))
s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("connection closed before the headers ended")
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
length = None
for line in head.split(b"\r\n")[1:]:
    name, _, value = line.partition(b":")
    if name.strip().lower() == b"content-length":
        length = int(value)
if not head.startswith(b"HTTP/1.1 200") or length is None:
    sys.exit("unexpected response: %r" % head[:200])
start, got = time.monotonic(), len(body)
with open(out, "wb", buffering=0) as f:
    f.write(body)
    while got < length:
        chunk = s.recv(min(4096, length - got))
        if not chunk:
            sys.exit("connection closed after %d of %d bytes" % (got, length))
        f.write(chunk)
        got += len(chunk)
        ahead = got / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)' "$@"
}

# raw_request [--no-close] METHOD TARGET [HEADER...]: one request to
# 127.0.0.1:$PORT on a connection of its own, and the raw answer: its
# headers, then "body-bytes: N" for all that came after them (curl never
# reads a body after HEAD or a 304, so it cannot tell). The request says
# "Connection: close" unless --no-close, which leaves closing to the server:
# when it has not closed within 5 s, the last line is "(left open)".
raw_request() {
        local close=1
        if [[ $1 == --no-close ]]; then
                close=0
                shift
        fi
        python3 -c '
import socket, sys
port, close, method, target = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], sys.argv[4]
extra = "".join(h + "\r\n" for h in sys.argv[5:])
if close:
    extra += "Connection: close\r\n"
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (method, target, extra)).encode())
data, left_open = b"", False
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    left_open = True
head, _, body = data.partition(b"\r\n\r\n")
print(head.decode(errors="replace").replace("\r", ""))
print("body-bytes: %d" % len(body))
if left_open:
    print("(left open)")' "$PORT" "$close" "$@"
}

# http_code URL [CURL-ARGS...]: prints the status code (000 when unreachable)
http_code() {
        local url=$1
        shift
        curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" || true
}
