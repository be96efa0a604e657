#!/usr/bin/env bash
# The workers' seccomp filter (worker-seccomp): workers run under it and serve
# as usual, the manager does not; a call outside it kills the worker with
# SIGSYS, the manager logs the call's name once and replaces the worker;
# "log" lets the call go on and "no" installs nothing, nor does clusterd
# filter an application worker (exec). The denied calls are
# made in a real worker from outside, with gdb: it attaches with ptrace
# (root may, PR_SET_DUMPABLE notwithstanding) and calls socket() or kill()
# inside the worker, as an exploited worker would. As root clusterd runs as
# nobody, the way the unit runs it as an unprivileged user.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# status_field PID FIELD: "Seccomp", "Seccomp_filters", "NoNewPrivs"
status_field() {
        awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# inject PID EXPR: evaluates EXPR inside the process with gdb; its output in
# $TMP/gdb.log
inject() {
        timeout 60 gdb -p "$1" -batch -ex "call $2" >"$TMP/gdb.log" 2>&1 || true
}

# sockets PID: how many sockets the process holds open
sockets() {
        find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# shellcheck disable=SC2317 # called through wait_for
# replaced OLD-PID: two workers run, none of them OLD-PID, each reported ready
replaced() {
        local pids p
        pids=$(worker_pids)
        [[ $(count_lines "$pids") == 2 ]] || return 1
        ! grep -qx "$1" <<<"$pids" || return 1
        for p in $pids; do
                log_has "pid $p ready on" || return 1
        done
}

stop() {
        kill -TERM "$CD_PID"
        wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
        check_eq "$1: SIGTERM stops clusterd cleanly (exit status 0)" 0 "$EXIT_STATUS"
}

can_inject=1
if ((EUID != 0)); then
        skip "not root: gdb cannot attach to a worker (PR_SET_DUMPABLE is 0)"
        can_inject=0
elif ! command -v gdb >/dev/null; then
        skip "no gdb (tests/run installs it): nothing can make a worker call socket()"
        can_inject=0
fi

check_match "--check-config shows worker-seccomp = yes by default" '^worker-seccomp = yes$' \
        "$("$CLUSTERD" --config /dev/null --root / --check-config)"
check_match "--worker-seccomp maybe is refused, naming the values" \
        "^clusterd: --worker-seccomp 'maybe': expected yes, no or log$" \
        "$("$CLUSTERD" --config /dev/null --root / --worker-seccomp maybe --check-config 2>&1 || true)"
printf '[clusterd]\nworker-seccomp = log\n' >"$TMP/log.conf"
check_match "worker-seccomp = log in the file is read (--check-config)" '^worker-seccomp = log$' \
        "$("$CLUSTERD" --config "$TMP/log.conf" --root / --check-config)"
printf 'worker-seccomp = off\n' >"$TMP/bad.conf"
check_match "worker-seccomp = off in the file is refused, naming file, line, key and value" \
        "^clusterd: $TMP/bad.conf:1: worker-seccomp = 'off': expected yes, no or log$" \
        "$("$CLUSTERD" --config "$TMP/bad.conf" --root / --check-config 2>&1 || true)"

make_root
chmod 755 "$TMP"
head -c 3000000 /dev/urandom >"$ROOT/big.bin"
printf 'secret\n' >"$ROOT/.env"
ln -s .env "$ROOT/envlink"
chmod -R a+rX "$ROOT"
((EUID != 0)) || WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups)
notify_start
chmod 777 "$NOTIFY_PATH"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# ---- yes, the default ----
clusterd_start --workers 2
wait_serving 2
workers=$(worker_pids)
mine=$(status_field $$ Seccomp_filters)
check_eq "the manager has no filter of its own (Seccomp_filters as this shell's)" "$mine" \
        "$(status_field "$CD_PID" Seccomp_filters)"
check_eq "the manager: NoNewPrivs as this shell's" "$(status_field $$ NoNewPrivs)" \
        "$(status_field "$CD_PID" NoNewPrivs)"
for w in $workers; do
        check_eq "worker pid $w: Seccomp: 2 (a filter)" 2 "$(status_field "$w" Seccomp)"
        check_eq "worker pid $w: one filter more than the manager" $((mine + 1)) \
                "$(status_field "$w" Seccomp_filters)"
        check_eq "worker pid $w: NoNewPrivs: 1" 1 "$(status_field "$w" NoNewPrivs)"
        # a process that is not dumpable has its /proc files owned by root
        if ((EUID == 0)); then
                check_eq "worker pid $w (uid 65534): not dumpable, /proc/$w/status owned by root" 0 \
                        "$(stat -c %u "/proc/$w/status")"
        fi
done

check_eq "serves a page" 200 "$(http_code "$URL/")"
check_eq "serves a range of a big file" 100 \
        "$(curl -s -r 1000-1099 --max-time 5 "$URL/big.bin" | wc -c)"
check_eq "sends a big file whole (sendfile)" "$(sha256sum <"$ROOT/big.bin")" \
        "$(curl -s --max-time 10 "$URL/big.bin" | sha256sum)"
check_eq "a symlink to a dotfile is 404 (readlink of /proc/self/fd)" 404 \
        "$(http_code "$URL/envlink")"
check_match "/metrics answers" '^clusterd_requests_total [0-9]+' \
        "$(curl -s --max-time 5 "$URL/metrics")"
ab_out=$(ab -q -k -n 4000 -c 16 "$URL/" 2>&1 || true)
check_match "4000 keep-alive requests (ab -k), none failed" '^Failed requests: +0$' "$ab_out"
ab_out=$(ab -q -n 1000 -c 8 "$URL/hello.txt" 2>&1 || true)
check_match "1000 requests on new connections (ab), none failed" '^Failed requests: +0$' \
        "$ab_out"
check_eq "no worker was replaced while serving" "$workers" "$(worker_pids)"
check_no_match "nothing was killed" 'killed by' "$(cat "$LOG")"

if ((can_inject)); then
        victim=$(head -1 <<<"$workers")
        inject "$victim" '(int)socket(2,1,0)'
        check_cmd "socket() in worker pid $victim: killed and logged with the call's name" \
                wait_log "worker [0-9]+ pid $victim killed by seccomp \(syscall socket\)" 10
        check_cmd "socket() in worker pid $victim: replaced, the replacement ready" \
                wait_for 10 replaced "$victim"
        check_eq "socket() in worker pid $victim: logged once" 1 \
                "$(grep -c "pid $victim .*seccomp" "$LOG" || true)"
        check_eq "the site answers after it" 200 "$(http_code "$URL/")"

        # kill() of another process than itself: the filter looks at the pid
        victim=$(worker_pids | tail -1)
        inject "$victim" '(int)kill(1,0)'
        check_cmd "kill(1, 0) in worker pid $victim: killed as seccomp (syscall kill)" \
                wait_log "worker [0-9]+ pid $victim killed by seccomp \(syscall kill\)" 10
        check_cmd "kill(1, 0) in worker pid $victim: replaced" wait_for 10 replaced "$victim"

        # SIGSYS from outside is no seccomp trap and is not reported as one
        victim=$(worker_pids | head -1)
        kill -SYS "$victim"
        check_cmd "kill -SYS of worker pid $victim: reported as the signal" \
                wait_log "worker [0-9]+ pid $victim killed by signal SYS" 10
        check_no_match "kill -SYS of worker pid $victim: no seccomp in its line" \
                "pid $victim .*seccomp" "$(cat "$LOG")"
        wait_for 10 replaced "$victim" || fail "kill -SYS of worker pid $victim: not replaced"
        check_cmd "STATUS counts the 3 restarts" \
                wait_for 5 notified '^STATUS=2/2 workers, [0-9]+ requests, 3 restarts$'
fi
stop yes

# ---- log: the kernel logs what the filter would refuse, and it goes on ----
clusterd_start --workers 2 --worker-seccomp log
wait_serving 2
workers=$(worker_pids)
for w in $workers; do
        check_eq "log: worker pid $w: Seccomp: 2" 2 "$(status_field "$w" Seccomp)"
done
check_eq "log: serves" 200 "$(http_code "$URL/")"
if ((can_inject)); then
        victim=$(head -1 <<<"$workers")
        before=$(sockets "$victim")
        inject "$victim" '(int)socket(2,1,0)'
        # the new socket, not gdb's "$1 = FD": on some kernels gdb makes the
        # call but cannot put the registers back ("Couldn't write extended
        # state status"), and prints no result
        check_eq "log: socket() in worker pid $victim opens a socket ($before before; gdb: $(grep -m1 -E '^[$]1 =|Couldn' "$TMP/gdb.log" || echo nothing))" \
                $((before + 1)) "$(sockets "$victim")"
        sleep 0.3
        check_eq "log: worker pid $victim goes on" "$workers" "$(worker_pids)"
        if dmesg >/dev/null 2>&1; then
                check_match "log: the kernel logged the call (dmesg: type=1326, syscall=41)" \
                        "type=1326 .* pid=$victim .*syscall=41 " "$(dmesg | tail -n 200)"
        else
                skip "log: dmesg cannot be read here, so the kernel's line is not checked"
        fi
fi
check_eq "log: the site answers" 200 "$(http_code "$URL/")"
stop log

# ---- no: nothing installed ----
clusterd_start --workers 2 --worker-seccomp no
wait_serving 2
workers=$(worker_pids)
for w in $workers; do
        check_eq "no: worker pid $w: as many filters as the manager" \
                "$(status_field "$CD_PID" Seccomp_filters)" "$(status_field "$w" Seccomp_filters)"
        check_eq "no: worker pid $w: Seccomp as the manager's" \
                "$(status_field "$CD_PID" Seccomp)" "$(status_field "$w" Seccomp)"
        if ((EUID == 0)); then
                check_eq "no: worker pid $w: dumpable, /proc/$w/status owned by its uid 65534" 65534 \
                        "$(stat -c %u "/proc/$w/status")"
        fi
done
if ((can_inject)); then
        victim=$(head -1 <<<"$workers")
        before=$(sockets "$victim")
        inject "$victim" '(int)socket(2,1,0)'
        # the new socket, not gdb's "$1 = FD": on some kernels gdb makes the
        # call but cannot put the registers back ("Couldn't write extended
        # state status"), and prints no result
        check_eq "no: socket() in worker pid $victim opens a socket ($before before; gdb: $(grep -m1 -E '^[$]1 =|Couldn' "$TMP/gdb.log" || echo nothing))" \
                $((before + 1)) "$(sockets "$victim")"
        sleep 0.3
        check_eq "no: worker pid $victim goes on" "$workers" "$(worker_pids)"
fi
check_eq "no: the site answers" 200 "$(http_code "$URL/")"
stop no

# ---- application workers get no filter from clusterd, whatever the setting ----
clusterd_start --workers 1 --exec-ready started --drain-timeout 1s --exec "sleep 3600"
wait_serving 1
app=$(worker_pids)
check_eq "exec: the program (pid $app) has the manager's filters, none more" \
        "$(status_field "$CD_PID" Seccomp_filters)" "$(status_field "$app" Seccomp_filters)"
stop exec
finish
