#!/usr/bin/env bash
# /metrics shows the whole cluster, whichever worker answers the scrape:
# every worker id's series, the totals and the manager's figures, with
# counters that never go backwards when a worker is replaced. Before, each
# scrape showed only the answering worker, and Prometheus saw counters jump
# between workers.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# scrape FILE: one /metrics on a connection of its own; prints the worker
# that answered (X-Clusterd-Worker)
scrape() {
        curl -s --max-time 5 -o "$1" -D "$1.head" -H 'Connection: close' "$URL/metrics" || true
        sed -n 's/^X-Clusterd-Worker: \([0-9]*\)\r\?$/\1/ip' "$1.head" | head -n1
}

# series FILE NAME [WORKER]: the value of a series in a scrape
series() {
        if (($# == 3)); then
                sed -n "s/^$2{worker=\"$3\"} \([0-9]*\)$/\1/p" "$1"
        else
                sed -n "s/^$2 \([0-9]*\)$/\1/p" "$1"
        fi
}

make_root
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 2
wait_serving 2
ab -q -n 400 -c 4 "$URL/hello.txt" >"$TMP/ab.out" 2>&1 || die "ab failed: $(tail -n 3 "$TMP/ab.out")"

declare -A seen=()
for n in $(seq 40); do
        w=$(scrape "$TMP/s$n")
        [[ -n $w ]] || continue
        [[ -n ${seen[$w]:-} ]] && continue
        seen[$w]=$n
        ((${#seen[@]} == 2)) && break
done
check_eq "scrapes on fresh connections reached both workers" "1 2" "$(printf '%s\n' "${!seen[@]}" | sort -n | xargs)"
for w in "${!seen[@]}"; do
        f=$TMP/s${seen[$w]}
        for id in 1 2; do
                check_match "the scrape worker $w answered shows worker $id's requests" '^[0-9]+$' \
                        "$(series "$f" clusterd_worker_requests_total "$id")"
        done
        total=$(series "$f" clusterd_requests_total)
        check_ge "the scrape worker $w answered counts all 400 requests of ab in its total" 400 "${total:-0}"
        check_eq "the scrape worker $w answered: workers serving" 2 "$(series "$f" clusterd_workers_serving)"
        check_eq "the scrape worker $w answered: workers wanted" 2 "$(series "$f" clusterd_workers_wanted)"
done

scrape "$TMP/before" >/dev/null
victim=$(worker_pids | head -n 1)
id=$(grep -oE "worker [0-9]+ pid $victim started" "$LOG" | awk '{ print $2 }')
kill -KILL "$victim"
# shellcheck disable=SC2317 # called through wait_for
replaced() { (($(grep -cE "worker $id pid [0-9]+ ready on" "$LOG") >= 2)); }
wait_for 5 replaced || die "worker $id was not replaced"
scrape "$TMP/after" >/dev/null
before=$(series "$TMP/before" clusterd_worker_requests_total "$id")
after=$(series "$TMP/after" clusterd_worker_requests_total "$id")
check_ge "worker $id's requests did not go backwards when its process was replaced ($before -> $after)" \
        "${before:-999999999}" "${after:-0}"
check_eq "worker $id's restarts are counted" 1 "$(series "$TMP/after" clusterd_worker_restarts_total "$id")"
check_eq "the manager's restarts are counted" 1 "$(series "$TMP/after" clusterd_restarts_total)"
check_match "the scrape is Prometheus text" '^# HELP clusterd_worker_requests_total ' "$(head -n1 "$TMP/after")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
