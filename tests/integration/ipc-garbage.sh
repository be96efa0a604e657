#!/usr/bin/env bash
# The manager never trusts a worker's messages: a truncated, oversized,
# unknown or empty datagram, or one claiming another worker's id, closes that
# one worker's channel and the worker is replaced; the manager and the other
# worker go on serving. The bytes are injected for real: pidfd_getfd(2)
# copies a worker's end of the socketpair into this test, which sends on it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# inject PID HEX: send the bytes HEX (may be empty) as one datagram on
# worker PID's channel to the manager
inject() {
        python3 - "$1" "$2" <<'PY'
import ctypes, os, socket, sys
pid, payload = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_open, SYS_pidfd_getfd = 434, 438
pidfd = libc.syscall(SYS_pidfd_open, pid, 0)
if pidfd < 0:
    sys.exit("pidfd_open: %s" % os.strerror(ctypes.get_errno()))
for name in os.listdir("/proc/%d/fd" % pid):
    if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
        continue
    fd = libc.syscall(SYS_pidfd_getfd, pidfd, int(name), 0)
    if fd < 0:
        sys.exit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
    s = socket.socket(fileno=fd)
    if s.type == socket.SOCK_SEQPACKET:
        s.send(payload)
        sys.exit(0)
    s.detach()
    os.close(fd)
sys.exit("no SOCK_SEQPACKET socket in worker %d" % pid)
PY
}

make_root
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2

# header: u16 type, u16 payload length, u32 worker id (little endian)
cases=(
        "truncated:010000"
        "oversized:$(printf '03%.0s' {1..600})"
        "unknown type:63000000$(printf '%08x' 0)"
        "empty datagram:"
        "length disagreeing with size:0200ff0001000000"
        "a heartbeat claiming worker 99:0200080063000000$(printf '0%.0s' {1..16})"
)
for c in "${cases[@]}"; do
        name=${c%%:*} bytes=${c#*:}
        victim=$(worker_pids | head -n 1)
        other=$(worker_pids | tail -n 1)
        marker=$(wc -l <"$LOG")
        inject "$victim" "$bytes" || die "$name: could not inject into worker $victim"
        # shellcheck disable=SC2317 # called through wait_for
        replaced() { ! grep -qx "$victim" <<<"$(worker_pids)" && (($(count_lines "$(worker_pids)") == 2)); }
        if wait_for 10 replaced; then
                pass "$name: worker $victim was replaced ($(worker_pids | xargs))"
        else
                fail "$name: worker $victim still there or not replaced ($(worker_pids | xargs))"
        fi
        check_cmd "$name: the manager is still running" alive "$CD_PID"
        check_cmd "$name: the other worker ($other) was left alone" grep -qx "$other" <<<"$(worker_pids)"
        check_match "$name: the manager logged what was wrong" \
                "worker [0-9]+ pid $victim: .*(message|Message).* on its channel" \
                "$(tail -n +"$((marker + 1))" "$LOG")"
        check_eq "$name: the site answers" 200 "$(http_code "http://127.0.0.1:$PORT/")"
done

# control: a well-formed heartbeat with the worker's own id changes nothing,
# so the replacements above came from the malformed bytes alone
victim=$(worker_pids | head -n 1)
id=$(grep -oE "worker [0-9]+ pid $victim started" "$LOG" | awk '{ print $2 }')
inject "$victim" "02000800$(printf '%02x000000' "$id")$(printf '0%.0s' {1..16})" ||
        die "control: could not inject into worker $victim"
sleep 2
check_cmd "control: a valid heartbeat from worker $id left it in place" \
        grep -qx "$victim" <<<"$(worker_pids)"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
