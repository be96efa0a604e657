#!/usr/bin/env bash
# A full disk never stops serving: the lines that cannot be written are
# counted (clusterd_worker_access_log_errors_total) and logged at most once
# a minute per worker, and no worker is replaced. First with /dev/full as
# the log, then (as root) on a 64 KiB tmpfs that fills up and is emptied
# again: every line in the file is whole, the ones from before it filled
# and the ones from after it had room again, since a worker does not try
# a write the disk has no room for.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

SMALL=$TMP/small
# the tmpfs goes before the temporary directory does
# shellcheck disable=SC2317 # the EXIT trap
unmount_then_cleanup() {
        local status=$?
        trap - ERR
        if mountpoint -q "$SMALL" 2>/dev/null; then
                umount "$SMALL"
        fi
        (exit "$status")
        cleanup
}
trap unmount_then_cleanup EXIT

make_root
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# errors_total: the cluster's lost lines, from /metrics
errors_total() {
        curl -s --max-time 5 "$URL/metrics" | sed -n 's/^clusterd_access_log_errors_total \([0-9]*\)$/\1/p'
}

# get N PATH: N requests, each must get 200
get() {
        local i code
        for ((i = 0; i < $1; i++)); do
                code=$(http_code "$URL$2")
                [[ $code == 200 ]] || return 1
        done
}

losses_logged() { grep -c 'access log .*line(s) lost' "$LOG" || true; }

# ---- /dev/full ----
clusterd_start --workers 2 --access-log /dev/full
wait_serving 2
pids=$(worker_pids)
check_cmd "/dev/full: 40 requests all get 200" get 40 /hello.txt
check_cmd "... and the first loss is logged at once, naming the file and the error" \
        wait_log 'access log /dev/full: No space left on device: [0-9]+ line\(s\) lost; serving goes on' 5
for _ in 1 2 3; do
        get 20 /hello.txt || true
        sleep 1.2 # one more write, and its failure, per worker each time
done
lost=$(errors_total)
check_ge "clusterd_access_log_errors_total counts every line lost (100 requests and more)" 100 "$lost"
check_le "losses were logged once per worker at most, not once per write ($(losses_logged))" 2 \
        "$(losses_logged)"
check_eq "no worker was replaced" "$pids" "$(worker_pids)"
check_no_match "no worker exited" 'exited|killed by signal' "$(cat "$LOG")"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "stops cleanly" 0 "$EXIT_STATUS"
check_match "at exit each worker tells what it lost since its last report" \
        'lost since the last report; serving goes on' "$(cat "$LOG")"

# ---- a small file system that fills up ----
if ((EUID != 0)) || ! mkdir -p "$SMALL" || ! mount -t tmpfs -o size=64k,mode=0755 tmpfs "$SMALL"; then
        skip "cannot mount a 64 KiB tmpfs (needs root): no full-disk case on a real file system"
        finish
fi
ACCESS=$SMALL/access.log
clusterd_start --workers 2 --access-log "$ACCESS"
wait_serving 2
pids=$(worker_pids)
check_cmd "room on the disk: 20 requests get 200" get 20 /hello.txt?before
sleep 1.5
dd if=/dev/zero of="$SMALL/filler" bs=1k count=1024 2>/dev/null || true
check_eq "the tmpfs is full" 0 "$(df --output=avail -B1 "$SMALL" | tail -n 1 | tr -d ' ')"
check_cmd "full: 400 requests still all get 200" get 400 /hello.txt?full
sleep 1.5
lost=$(errors_total)
check_ge "full: lines lost are counted ($lost)" 300 "$lost"
check_cmd "full: the loss is logged" \
        wait_log "access log $ACCESS: No space left on device: [0-9]+ line\(s\) lost" 5
rm -f "$SMALL/filler"
check_cmd "room again: 20 requests get 200" get 20 /hello.txt?after
sleep 1.5
check_eq "room again: no more lines lost" "$lost" "$(errors_total)"
check_eq "no worker was replaced" "$pids" "$(worker_pids)"
python3 - "$ACCESS" >"$TMP/parse.out" <<'EOF' || true
import re, sys
whole = re.compile(rb'127\.0\.0\.1 - - \[[^]]+\] "GET (\S+) HTTP/1\.1" \d{3} \d+ "-" "curl/[^"]+"\n')
counts, cut = {}, 0
for raw in open(sys.argv[1], "rb"):
    m = whole.fullmatch(raw)
    if m:
        counts[m.group(1).decode()] = counts.get(m.group(1).decode(), 0) + 1
    elif raw.endswith(b"\n") and b"127.0.0.1 - - [" in raw[1:]:
        print("a line run into another: %r" % raw[:160])
    else:
        cut += 1
print("before=%d after=%d cut=%d" % (counts.get("/hello.txt?before", 0),
                                     counts.get("/hello.txt?after", 0), cut))
EOF
result=$(tail -n 1 "$TMP/parse.out")
# no write was tried that the disk had no room for, so none was cut short
check_eq "the 20 lines from before are there, the 20 from after too, all whole" \
        "before=20 after=20 cut=0" "$result"
check_no_match "no line was run into another" 'run into' "$(cat "$TMP/parse.out")"
kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "stops cleanly" 0 "$EXIT_STATUS"
finish
