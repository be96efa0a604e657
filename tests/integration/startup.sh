#!/usr/bin/env bash
# Start-up, standalone and under systemd-socket-activate: READY=1 reaches the
# notify socket only after every worker is serving, STATUS names the workers,
# only the manager talks to the notify socket, and every worker answers; Unix
# sockets from systemd are named by their path.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# one connection, two requests: /healthz then /metrics, so both come from the
# same worker, which names itself in X-Clusterd-Worker; prints "CODE WORKER-ID"
healthz_and_worker() {
        local out
        out=$(curl -s --max-time 5 -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$PORT/healthz" \
                --next -s --max-time 5 -o /dev/null -w '%header{x-clusterd-worker}' \
                "http://127.0.0.1:$PORT/metrics") || true
        echo "${out%% *} $(grep -o '[0-9]*$' <<<"$out")"
}

# all_workers_answer N: polls until /healthz said 200 from each of N workers
all_workers_answer() {
        local n=$1 code id
        for _ in $(seq 300); do
                read -r code id <<<"$(healthz_and_worker)"
                if [[ $code == 200 && -n $id ]]; then
                        SEEN[$id]=1
                        ((${#SEEN[@]} == n)) && return 0
                elif [[ $code != 200 ]]; then
                        BAD_HEALTHZ=$code
                fi
        done
        return 1
}

# check_startup MODE N: what READY, STATUS and the workers must look like
check_startup() {
        local mode=$1 n=$2 line size sender before others pids
        wait_for 20 notified '^READY=1$' || die "$mode: READY=1 never reached the notify socket"
        line=$(grep -m1 ' READY=1$' "$NOTIFY_OUT")
        sender=${line%% *}
        size=$(cut -d' ' -f2 <<<"$line")
        before=$(head -c "$size" "$LOG")
        check_eq "$mode: every worker had logged ready when READY=1 arrived" "$n" \
                "$(grep -c 'pid [0-9]* ready on' <<<"$before" || true)"
        check_match "$mode: 'all $n workers serving' was logged before READY=1" \
                "all $n workers serving" "$before"
        check_eq "$mode: READY=1 was sent by the manager (pid $CD_PID)" "$CD_PID" "$sender"
        others=$(awk -v p="$CD_PID" '$1 != p' "$NOTIFY_OUT")
        check_eq "$mode: no worker wrote to the notify socket" "" "$others"
        check_cmd "$mode: STATUS names the workers ('$n/$n workers')" \
                wait_for 5 notified "^STATUS=$n/$n workers"
        pids=$(worker_pids)
        check_eq "$mode: $n worker processes run" "$n" "$(count_lines "$pids")"
        declare -gA SEEN=()
        BAD_HEALTHZ=""
        if all_workers_answer "$n"; then
                pass "$mode: /healthz answered 200 from each of the $n workers"
        else
                fail "$mode: /healthz answered 200 from workers {${!SEEN[*]}} only (of $n; other code: ${BAD_HEALTHZ:-none})"
        fi
}

check_stop() {
        local mode=$1
        kill -TERM "$CD_PID"
        if wait_exit "$CD_PID" 20; then
                check_eq "$mode: SIGTERM: manager exits 0" 0 "$EXIT_STATUS"
        else
                fail "$mode: SIGTERM: manager still running after 20s"
        fi
        check_cmd "$mode: STOPPING=1 sent" notified '^STOPPING=1$'
        check_eq "$mode: no clusterd process left" "" "$(our_processes)"
}

make_root
notify_start

# standalone
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2
check_startup standalone 2
check_stop standalone

# socket-activated: clusterd is started by the first connection
: >"$NOTIFY_OUT"
PORT=$(free_port)
clusterd_start_activated --workers 2
check_eq "socket-activated: the first request (which starts clusterd) gets 200" 200 \
        "$(http_code "http://127.0.0.1:$PORT/" --max-time 20)"
wait_serving 2
check_cmd "socket-activated: clusterd uses the socket from systemd, binds none" \
        log_has 'using 1 socket\(s\) from systemd'
check_no_match "socket-activated: no warning about listen addresses when none were given" \
        'listen addresses of the configuration are not used' "$(cat "$LOG")"
check_startup socket-activated 2
check_stop socket-activated

# socket-activated on Unix sockets, one on a path and one abstract: the log
# names each as such, never by its address family's number
: >"$NOTIFY_OUT"
abstract=clusterd-test-$$
ACTIVATE_LISTEN=("$TMP/http.sock" "@$abstract")
clusterd_start_activated --workers 2 --listen 127.0.0.1:1
check_eq "unix sockets: the first request (which starts clusterd) gets 200" 200 \
        "$(http_code http://localhost/ --unix-socket "$TMP/http.sock" --max-time 20)"
wait_serving 2
check_eq "unix sockets: the abstract socket is served too" 200 \
        "$(http_code http://localhost/ --abstract-unix-socket "$abstract")"
check_cmd "unix sockets: the log names the path" log_has "listening on $TMP/http.sock\$"
check_cmd "unix sockets: the log names the abstract socket as @$abstract" \
        log_has "listening on @$abstract\$"
check_no_match "unix sockets: no socket is named by its family number" '\(family [0-9]+\)' \
        "$(cat "$LOG")"
check_cmd "unix sockets: a --listen beside systemd's sockets is named as unused" \
        log_has 'warning manager: listen addresses of the configuration are not used: systemd passed the sockets'
# two addresses with one socket each: every worker serves both (a worker
# that took only one would leave the other to a single worker)
for w in 1 2; do
        check_cmd "unix sockets: worker $w serves both sockets" \
                log_has "worker $w pid [0-9]+ ready on 2 socket\\(s\\)"
done
check_stop unix-sockets
ACTIVATE_LISTEN=()

finish
