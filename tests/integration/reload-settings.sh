#!/usr/bin/env bash
# Each worker is held to the settings it was started with. A reload from a
# slow heartbeat and a long drain to a fast heartbeat and a short drain must
# not make the manager kill the old worker as hung (it still beats every 5 s)
# nor cut its drain after the new 1 s: the download it serves finishes.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
head -c $((3 * 1024 * 1024)) /dev/urandom >"$ROOT/big.bin"
notify_start
PORT=$(free_port)
printf 'root = %s\nworkers = 1\nheartbeat-interval = 5s\nheartbeat-timeout = 20s\ndrain-timeout = 30s\n' \
        "$ROOT" >"$CONF"
LOG=$TMP/clusterd.log
: >"$LOG"
spawn "$LOG" env "NOTIFY_SOCKET=$NOTIFY_PATH" "$CLUSTERD" --config "$CONF" \
        --listen "127.0.0.1:$PORT"
CD_PID=$SPAWNED
wait_serving 1
old=$(worker_pids)

slow_get "$PORT" /big.bin "$TMP/big.out" $((512 * 1024)) 2>"$TMP/slow_get.log" &
slow_pid=$!
track "$slow_pid"
# shellcheck disable=SC2317 # called through wait_for
under_way() { [[ -s $TMP/big.out ]] && (($(stat -c %s "$TMP/big.out") >= 300000)); }
wait_for 20 under_way || die "the download did not start"

printf 'root = %s\nworkers = 1\nheartbeat-interval = 100ms\nheartbeat-timeout = 1s\ndrain-timeout = 1s\n' \
        "$ROOT" >"$CONF"
kill -HUP "$CD_PID"
check_cmd "the reload finishes" wait_log 'reload finished' 10
check_cmd "the old worker drains, with the download in flight" \
        wait_log "worker 1 pid $old replaced by pid [0-9]+, draining it" 5

status=0
wait "$slow_pid" || status=$?
why=$(tail -n1 "$TMP/slow_get.log")
check_eq "the download finished without error${why:+ ($why)}" 0 "$status"
check_eq "the download is intact (sha256)" "$(sha256sum <"$ROOT/big.bin")" \
        "$(sha256sum <"$TMP/big.out")"
check_cmd "the old worker drained and exited" wait_log "worker 1 pid $old drained and exited" 10
check_no_match "no worker was killed as hung" 'killing it as hung' "$(cat "$LOG")"
check_no_match "no drain was cut at the new 1 s timeout" 'drain timeout' "$(cat "$LOG")"

# the new worker is held to the new settings: SIGSTOPped, it is hung within
# its own 1 s
new=$(worker_pids)
t0=$(now_ms)
kill -STOP "$new"
if wait_for 10 dead "$new"; then
        check_le "the new worker, stopped, is killed as hung by its own 1 s timeout" 2500 \
                $(($(now_ms) - t0))
else
        fail "the new worker, stopped, is still there 10 s later"
fi

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
