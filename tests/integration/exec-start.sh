#!/usr/bin/env bash
# Application workers, at start: a program that cannot run is refused with
# one line before anything starts; each worker gets its sockets, its own
# worker id and the rest as systemd would give them; READY=1 reaches systemd
# only once every program said READY=1; notify messages from anyone but the
# worker itself are dropped and logged once.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

APP=$(realpath "$(dirname "$0")/../../examples/python/app.py")
ODD=$(realpath "$(dirname "$0")/../apps/odd.py")
PY=/usr/bin/python3

make_root
PORT=$(free_port)

# refused: one line, exit 1, nothing listening
for bad in "/no/such/program:No such file or directory" "$ROOT/hello.txt:Permission denied" \
        "$ROOT:Is a directory" "no-such-program-in-path:No such file or directory"; do
        prog=${bad%%:*} why=${bad#*:}
        status=0
        out=$("$CLUSTERD" --config "$CONF" --listen "127.0.0.1:$PORT" --exec "$prog --flag" 2>&1) || status=$?
        check_eq "exec '$prog': exit status 1" 1 "$status"
        check_eq "exec '$prog': one line naming it" "clusterd: exec '$prog': $why" "$out"
done
check_cmd "nothing was left listening" test "$(port_open 127.0.0.1 "$PORT" && echo yes)" != yes
status=0
out=$("$CLUSTERD" --config "$CONF" --listen "127.0.0.1:$PORT" --exec "python3 'unclosed" 2>&1) || status=$?
check_eq "a quote left open: refused, naming the option" \
        "clusterd: --exec 'python3 'unclosed': a quote that is not closed" "$out"
out=$("$CLUSTERD" --config "$CONF" --exec "$PY $APP" --check-config 2>&1) || true
check_match "--check-config says which settings exec ignores" 'ignored' "$out"

notify_start
clusterd_start --workers 2 --exec "$PY $APP"
wait_serving 2
check_cmd "READY=1 reached the notify socket" wait_for 5 notified '^READY=1$'
declare -A seen=()
for _ in $(seq 40); do
        body=$(curl -s --max-time 5 -H 'Connection: close' "http://127.0.0.1:$PORT/env") || continue
        id=$(sed -n 's/^CLUSTERD_WORKER_ID=//p' <<<"$body")
        [[ -n $id && -z ${seen[$id]:-} ]] || continue
        seen[$id]=$body
        ((${#seen[@]} == 2)) && break
done
check_eq "both workers answered, each with its own CLUSTERD_WORKER_ID" "1 2" \
        "$(printf '%s\n' "${!seen[@]}" | sort -n | xargs)"
for id in "${!seen[@]}"; do
        env=${seen[$id]}
        pid=$(sed -n 's/^pid=//p' <<<"$env")
        check_eq "worker $id: LISTEN_PID is its own pid" "$pid" "$(sed -n 's/^LISTEN_PID=//p' <<<"$env")"
        check_eq "worker $id: LISTEN_FDS=1" 1 "$(sed -n 's/^LISTEN_FDS=//p' <<<"$env")"
        check_eq "worker $id: LISTEN_FDNAMES=http" http "$(sed -n 's/^LISTEN_FDNAMES=//p' <<<"$env")"
        check_eq "worker $id: CLUSTERD_IPC_FD=4, right after the socket" 4 \
                "$(sed -n 's/^CLUSTERD_IPC_FD=//p' <<<"$env")"
        check_eq "worker $id: CLUSTERD_WORKERS=2" 2 "$(sed -n 's/^CLUSTERD_WORKERS=//p' <<<"$env")"
        check_eq "worker $id: WATCHDOG_USEC is the heartbeat-timeout" 10000000 \
                "$(sed -n 's/^WATCHDOG_USEC=//p' <<<"$env")"
        check_eq "worker $id: WATCHDOG_PID is its own pid" "$pid" "$(sed -n 's/^WATCHDOG_PID=//p' <<<"$env")"
        check_match "worker $id: NOTIFY_SOCKET is the manager's" '^NOTIFY_SOCKET=@clusterd/notify/' "$env"
        # fd 3 is the socket, 4 the channel; python has its own above those
        fds=$(find "/proc/$pid/fd" -mindepth 1 -printf "%f\n" | sort -n | xargs)
        check_match "worker $id: fds 0 1 2 3 4 and nothing of the manager's ($fds)" '^0 1 2 3 4( |$)' "$fds"
        check_match "worker $id: stdin is /dev/null" '/dev/null' "$(readlink "/proc/$pid/fd/0")"
done
check_cmd "the workers' own stderr reaches the manager's" log_has 'app.py: worker [12] pid [0-9]+ serving 1 socket'
check_cmd "a line a worker writes on its channel is logged" log_has 'worker [12] pid [0-9]+: worker [12] says hello'

# a notify message from a process that is no worker is dropped, and logged
addr=$(sed -n 's/^NOTIFY_SOCKET=//p' <<<"${seen[1]}")
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(b"STATUS=spoofed\nREADY=1", "\0" + sys.argv[1][1:])' "$addr"
check_cmd "a stranger's notify message is logged" \
        wait_log "notify socket: dropped a message from pid [0-9]+, which is no worker" 5
check_eq "... once per sender, not per message" 1 \
        "$(grep -c 'dropped a message from pid' "$LOG" || true)"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"

# READY=1 waits for every program: worker 2 never says it
: >"$NOTIFY_OUT"
clusterd_start --workers 2 --exec-ready-timeout 2s --exec "$PY $ODD silent-id 2"
check_cmd "worker 1 says READY=1 and is ready" wait_log 'worker 1 pid [0-9]+ ready on' 10
sleep 1
check_cmd "no READY=1 while worker 2 stays silent" test "$(notified '^READY=1$' && echo yes)" != yes
check_cmd "the silent worker is killed at its exec-ready-timeout" \
        wait_log 'worker 2 pid [0-9]+: not ready [0-9.]+s after it started, killing it' 5
check_cmd "... as a failed start" log_has 'worker 2 pid [0-9]+ killed by signal KILL, killed as not ready in time before it was ready'
check_cmd "still no READY=1" test "$(notified '^READY=1$' && echo yes)" != yes
check_match "STATUS says worker 2 failed to start" 'degraded: worker 2 failed to start|1/2 workers' \
        "$(cut -d' ' -f3- "$NOTIFY_OUT" | grep '^STATUS=' | tail -n 1)"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"

# exec-ready = started: a program that never speaks sd_notify serves from its exec
: >"$NOTIFY_OUT"
clusterd_start --workers 2 --exec-ready started --exec "$PY $ODD silent-id 9"
check_cmd "exec-ready = started: READY=1 without any READY=1 from the programs" \
        wait_for 10 notified '^READY=1$'
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"

# signals back to their defaults: a program that sets none of its own
clusterd_start --workers 1 --exec-ready started --exec "sleep 3600"
wait_serving 1
pid=$(worker_pids)
check_match "signal mask empty in the program" '^SigBlk:\s+0+$' "$(grep SigBlk "/proc/$pid/status")"
check_match "no signal ignored in the program" '^SigIgn:\s+0+$' "$(grep SigIgn "/proc/$pid/status")"
check_match "the program has a process group of its own" "^ *$pid\$" "$(ps -o pgid= -p "$pid")"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"

# a program's own child cannot speak for it
: >"$NOTIFY_OUT"
clusterd_start --workers 1 --exec "$PY $ODD stray"
wait_serving 1
check_cmd "a worker's child's notify message is dropped and logged" \
        wait_log 'dropped a message from pid [0-9]+, which is no worker' 5
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
finish
