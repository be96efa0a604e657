# shellcheck shell=bash
# The checks both install paths share (issue 4), run against clusterd
# installed in the container booted by lib.sh. Each prints what it saw as
# "# ..." lines and returns non-zero on failure.

URL=http://127.0.0.1:8080/
MANAGER=(io.clusterd1 /io/clusterd1 io.clusterd1.Manager)
SCORE_MAX=1.0

main_pid() { ct systemctl show -p MainPID --value clusterd.service; }
worker_pids() { ct pgrep -P "$(main_pid)" | sort -n | tr '\n' ' '; }
n_workers() { ct pgrep -c -P "$(main_pid)"; }
http_code() { ct curl -s -o /dev/null -m 5 -w '%{http_code}' "${1:-$URL}"; }

# Waits up to $1 seconds for "$2..." to succeed.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# Runs ab against the site in the background, writing its report to $1.
# LOAD_URL, LOAD_CONCURRENCY and LOAD_OPTS (say -l, for answers whose length
# varies, which ab otherwise counts as failed) change what it does.
load_start() {
	# shellcheck disable=SC2086 # options, one a word
	ct ab -q -r ${LOAD_OPTS:-} -t "${LOAD_SECONDS:-6}" -n 10000000 -c "${LOAD_CONCURRENCY:-16}" \
		"${LOAD_URL:-$URL}" >"$1" 2>&1 &
	LOAD_PID=$!
	sleep 1
}

# Waits for ab and checks that every request succeeded.
load_check() {
	local report=$1 status=0
	wait "$LOAD_PID" || status=$?
	local complete failed non2xx
	complete=$(sed -n 's/^Complete requests: *//p' "$report")
	failed=$(sed -n 's/^Failed requests: *//p' "$report")
	non2xx=$(sed -n 's/^Non-2xx responses: *//p' "$report")
	say "ab: exit $status, $complete complete, ${failed:-?} failed, ${non2xx:-0} non-2xx," \
		"$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$report") req/s"
	if ((status != 0)) || [[ -z $complete || $failed != 0 || ${non2xx:-0} != 0 ]]; then
		sed 's/^/#   /' "$report"
		return 1
	fi
}

check_first_request_activates() {
	local before code
	before=$(ct systemctl is-active clusterd.service)
	code=$(http_code)
	say "clusterd.service before the first request: $before; GET / -> $code;" \
		"after: $(ct systemctl is-active clusterd.service)"
	[[ $before != active && $code == 200 ]] &&
		[[ $(ct systemctl is-active clusterd.service) == active ]]
}

check_ipv6() {
	local code
	code=$(http_code 'http://[::1]:8080/')
	say "GET http://[::1]:8080/ -> $code"
	[[ $code == 200 ]]
}

check_status_text() {
	local text n
	text=$(ct systemctl show -p StatusText --value clusterd.service)
	n=$(ct nproc)
	say "StatusText: $text (nproc $n)"
	[[ $text == "$n/$n workers"* ]]
}

check_bus_workers() {
	local got n
	got=$(ct busctl get-property "${MANAGER[@]}" Workers 2>&1)
	n=$(ct nproc)
	say "busctl get-property ... Workers: $got (nproc $n)"
	[[ $got == "u $n" ]]
}

check_journal() {
	local lines
	lines=$(ct journalctl -u clusterd.service --no-pager -o cat)
	grep -E '^manager: (worker [0-9]+ pid [0-9]+ started|all [0-9]+ workers serving)$' \
		<<<"$lines" | head -n 3 | sed 's/^/# journal: /'
	grep -qE '^manager: worker 1 pid [0-9]+ started$' <<<"$lines" &&
		grep -qE '^manager: all [0-9]+ workers serving$' <<<"$lines"
}

# clusterd.socket repeats each address 8 times with ReusePort=yes: systemd
# passes 16 sockets and each of the n workers serves 16/n of them.
check_socket_share() {
	local lines n
	lines=$(ct journalctl -u clusterd.service --no-pager -o cat)
	n=$(ct nproc)
	grep -E 'socket\(s\) from systemd|ready on' <<<"$lines" | tail -n 3 | sed 's/^/# journal: /'
	grep -qx 'manager: using 16 socket(s) from systemd on 2 address(es)' <<<"$lines" &&
		grep -qE "^manager: worker [0-9]+ pid [0-9]+ ready on $((16 / n)) socket\(s\)$" <<<"$lines"
}

old_pids_gone() {
	local p
	for p in $1; do
		ct kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

full_house() { [[ $(n_workers) == "$(ct nproc)" ]]; }

check_reload_under_load() {
	local before after t0 state status=0
	before=$(worker_pids)
	load_start "$E2E_DIR/ab-reload"
	t0=$(date +%s%N)
	ct systemctl reload clusterd.service || status=$?
	state=$(ct busctl get-property "${MANAGER[@]}" State 2>&1)
	say "systemctl reload: exit $status after $((($(date +%s%N) - t0) / 1000000))ms;" \
		"State right after: $state"
	# it returns only once the reload has finished
	[[ $state == 's "running"' ]] || status=1
	load_check "$E2E_DIR/ab-reload" || status=1
	wait_for 35 old_pids_gone "$before" || status=1
	wait_for 5 full_house || status=1
	after=$(worker_pids)
	say "workers before: $before; after: $after"
	((status == 0))
}

# A config with an error: systemctl reload fails (clusterd-reload hears the
# refusal over the bus), and nothing else changes: the unit stays active, the
# same workers serve. Fixing the file and reloading again works.
check_reload_bad_config() {
	local before conf=/etc/clusterd/clusterd.conf status=0 out
	before=$(worker_pids)
	ct cp "$conf" "$conf.good"
	ct sh -c "printf 'workers = banana\n' >>$conf"
	if out=$(ct systemctl reload clusterd.service 2>&1); then
		say "systemctl reload with 'workers = banana' succeeded"
		status=1
	fi
	say "systemctl reload with 'workers = banana': $(tr '\n' ' ' <<<"$out")"
	say "LastReload: $(ct busctl get-property "${MANAGER[@]}" LastReload 2>&1)"
	[[ $(ct busctl get-property "${MANAGER[@]}" LastReload 2>&1) == *refused* ]] || status=1
	[[ $(ct systemctl is-active clusterd.service) == active ]] || status=1
	[[ $(http_code) == 200 ]] || status=1
	[[ $(worker_pids) == "$before" ]] || { say "workers changed: $before -> $(worker_pids)"; status=1; }
	ct mv "$conf.good" "$conf"
	ct systemctl reload clusterd.service || { say "reload after the fix failed"; status=1; }
	say "after the fix: $(ct busctl get-property "${MANAGER[@]}" LastReload 2>&1)"
	[[ $(ct busctl get-property "${MANAGER[@]}" LastReload 2>&1) == *done* ]] || status=1
	((status == 0))
}

check_restart_under_load() {
	local before status=0
	before=$(main_pid)
	load_start "$E2E_DIR/ab-restart"
	ct systemctl restart clusterd.service || status=$?
	say "systemctl restart: exit $status; MainPID $before -> $(main_pid)"
	load_check "$E2E_DIR/ab-restart" || status=1
	[[ $(main_pid) != "$before" ]] || status=1
	((status == 0))
}

check_kill_worker() {
	local victim before t0
	before=$(worker_pids)
	victim=${before%% *}
	# an empty or 0 pid would make kill signal our own process group
	[[ $victim =~ ^[1-9][0-9]*$ ]] || { say "no worker to kill"; return 1; }
	t0=$(date +%s%N)
	ct kill -9 "$victim"
	wait_for 10 old_pids_gone "$victim" && wait_for 10 full_house || return 1
	say "killed worker $victim; replaced in $((($(date +%s%N) - t0) / 1000000))ms;" \
		"workers $before -> $(worker_pids); unit $(ct systemctl is-active clusterd.service)"
	[[ $(ct systemctl is-active clusterd.service) == active && $(http_code) == 200 ]]
}

site_answers() { [[ $(http_code) == 200 ]]; }

# status_field PID FIELD: a field of /proc/PID/status in the container
# shellcheck disable=SC2016 # an awk program
status_field() { ct awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# Under the unit, whose SystemCallFilter= refuses seccomp() itself, every
# worker still loads its own filter: one more than the manager, which has
# the unit's alone. gdb (when the container has it) makes a worker call
# socket(): the journal names the call and the worker is replaced.
check_worker_seccomp() {
	local manager filters w victim line status=0
	manager=$(main_pid)
	filters=$(status_field "$manager" Seccomp_filters)
	for w in $(worker_pids); do
		say "worker $w: Seccomp $(status_field "$w" Seccomp), $(status_field "$w" Seccomp_filters)" \
			"filter(s), the manager $filters"
		[[ $(status_field "$w" Seccomp_filters) == $((filters + 1)) ]] || status=1
	done
	if ! ct sh -c 'command -v gdb' >/dev/null; then
		say "no gdb in the container: no call injected"
		return "$status"
	fi
	victim=$(worker_pids)
	victim=${victim%% *}
	[[ $victim =~ ^[1-9][0-9]*$ ]] || { say "no worker"; return 1; }
	ct timeout 60 gdb -p "$victim" -batch -ex 'call (int)socket(2,1,0)' >/dev/null 2>&1 || true
	wait_for 10 old_pids_gone "$victim" && wait_for 10 full_house || status=1
	line=$(ct journalctl -u clusterd.service --no-pager -o cat | grep "pid $victim killed" | tail -n 1)
	say "socket() injected into worker $victim: ${line:-no journal line}"
	[[ $line == *"pid $victim killed by seccomp (syscall socket)"* ]] || status=1
	((status == 0))
}

check_kill_manager() {
	local victim restarts t0 ms
	victim=$(main_pid)
	restarts=$(ct systemctl show -p NRestarts --value clusterd.service)
	[[ $victim =~ ^[1-9][0-9]*$ ]] || { say "no manager to kill (MainPID '$victim')"; return 1; }
	t0=$(date +%s%N)
	ct kill -9 "$victim"
	wait_for 10 old_pids_gone "$victim" || return 1
	wait_for 10 site_answers || return 1
	ms=$((($(date +%s%N) - t0) / 1000000))
	say "killed manager $victim; site answers again after ${ms}ms; MainPID now $(main_pid);" \
		"NRestarts $restarts -> $(ct systemctl show -p NRestarts --value clusterd.service)"
	wait_for 10 full_house || return 1
	[[ $(main_pid) != "$victim" && $(ct systemctl is-active clusterd.service) == active ]] &&
		((ms < 5000))
}

ACCESS_LOG=/var/log/clusterd/access.log

# access_logged PATTERN [FILE]: a line of the access log holds PATTERN
access_logged() { ct grep -qF -- "$1" "${2:-$ACCESS_LOG}" 2>/dev/null; }

# The installed configuration logs to /var/log/clusterd/access.log, in the
# directory the unit's LogsDirectory= makes for the service user, one line
# per request in the combined format, within a second.
check_access_log() {
	local line owners
	ct curl -s -o /dev/null -m 5 -A e2e-agent -e http://ref.example/ "${URL}access-log-probe"
	wait_for 5 access_logged 'access-log-probe' || say "no line for /access-log-probe in $ACCESS_LOG"
	line=$(ct grep -F access-log-probe "$ACCESS_LOG" | tail -n 1)
	owners=$(ct stat -c '%U:%G %a' /var/log/clusterd "$ACCESS_LOG" | xargs)
	say "$ACCESS_LOG: $line"
	say "owner and mode of /var/log/clusterd and the file: $owners"
	[[ $line =~ ^127\.0\.0\.1\ -\ -\ \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}(:[0-9]{2}){3}\ [+-][0-9]{4}\]\ \"GET\ /access-log-probe\ HTTP/1\.1\"\ 404\ 14\ \"http://ref\.example/\"\ \"e2e-agent\"$ ]] &&
		[[ $owners == "clusterd:clusterd 755 clusterd:clusterd "* ]]
}

# What logrotate's postrotate does, by hand: the file moved away, SIGUSR1 to
# the manager alone; every worker writes to a new file from then on.
check_access_log_sigusr1() {
	local status=0 n
	n=$(n_workers)
	ct curl -s -o /dev/null -m 5 "${URL}before-sigusr1"
	wait_for 5 access_logged before-sigusr1 || status=1
	ct mv "$ACCESS_LOG" "$ACCESS_LOG.e2e"
	ct systemctl kill --kill-whom=main --signal=USR1 clusterd.service || status=1
	wait_for 5 ct test -e "$ACCESS_LOG" || status=1
	ct curl -s -o /dev/null -m 5 "${URL}after-sigusr1"
	wait_for 5 access_logged after-sigusr1 || status=1
	say "$(ct journalctl -u clusterd.service -o cat | grep 'SIGUSR1' | tail -n 1);" \
		"the old file has before-sigusr1: $(access_logged before-sigusr1 "$ACCESS_LOG.e2e" && echo yes || echo no)," \
		"the new one after-sigusr1: $(access_logged after-sigusr1 && echo yes || echo no)"
	ct journalctl -u clusterd.service -o cat |
		grep -qx "manager: SIGUSR1: reopening the access log in $n worker(s)" || status=1
	access_logged after-sigusr1 "$ACCESS_LOG.e2e" && status=1
	ct rm -f "$ACCESS_LOG.e2e"
	((status == 0))
}

# journal_404: the journal has the 404 entry of /journal-probe?q=1
journal_404() {
	ct journalctl -u clusterd.service STATUS=404 REQUEST_PATH='/journal-probe?q=1' -o json \
		--no-pager 2>/dev/null | grep -q .
}

# access-log = journal: structured entries that journalctl can select by
# field, from workers forked by the manager, inside the unit's sandbox.
check_access_log_journal() {
	local conf=/etc/clusterd/clusterd.conf status=0 entry
	ct cp "$conf" "$conf.file"
	ct sed -i 's|^access-log = .*|access-log = journal|' "$conf"
	ct systemctl reload clusterd.service || { say "reload to access-log = journal failed"; status=1; }
	ct curl -s -o /dev/null -m 5 -A 'e2e "journal"' "${URL}journal-probe?q=1"
	wait_for 10 journal_404 || status=1
	entry=$(ct journalctl -u clusterd.service STATUS=404 REQUEST_PATH='/journal-probe?q=1' -o json \
		--no-pager | tail -n 1 | python3 -c 'import json, sys
e = json.loads(sys.stdin.read() or "{}")
print(" ".join("%s=%s" % (k, e.get(k)) for k in ("REQUEST_METHOD", "STATUS", "BYTES", "REMOTE_ADDR",
      "USER_AGENT", "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT")))
print(e.get("MESSAGE"))')
	say "journalctl -u clusterd STATUS=404 REQUEST_PATH=/journal-probe?q=1: $(head -n 1 <<<"$entry")"
	say "its MESSAGE: $(tail -n 1 <<<"$entry")"
	[[ $(head -n 1 <<<"$entry") == 'REQUEST_METHOD=GET STATUS=404 BYTES=14 REMOTE_ADDR=127.0.0.1 USER_AGENT=e2e \x22journal\x22 SYSLOG_IDENTIFIER=clusterd _SYSTEMD_UNIT=clusterd.service' ]] ||
		status=1
	[[ $(tail -n 1 <<<"$entry") == *'"GET /journal-probe?q=1 HTTP/1.1" 404 14 "-" "e2e \x22journal\x22"' ]] ||
		status=1
	# what a site that logs to the journal asks
	say "journalctl -u clusterd STATUS=404 -o cat | tail -n 1:" \
		"$(ct journalctl -u clusterd.service STATUS=404 -o cat --no-pager | tail -n 1)"
	ct mv "$conf.file" "$conf"
	ct systemctl reload clusterd.service || { say "reload back to the file failed"; status=1; }
	((status == 0))
}

check_security_score() {
	local line score
	line=$(ct systemd-analyze security clusterd.service --no-pager | tail -n 1)
	say "$line"
	score=$(sed -n 's/.*clusterd.service: *\([0-9.]*\).*/\1/p' <<<"$line")
	[[ -n $score ]] && awk -v s="$score" -v m="$SCORE_MAX" 'BEGIN { exit !(s <= m) }'
}

show_status() {
	ct systemctl status clusterd.service --no-pager --lines=0 | sed 's/^/# /'
	ct busctl get-property "${MANAGER[@]}" State Workers WorkersWanted 2>&1 | sed 's/^/# busctl: /'
}

# meson.build takes libmicrohttpd 1.0 or later: the system's, or the bundled
# 1.0.1 linked in statically (subprojects/libmicrohttpd.wrap).
check_mhd_version() {
	local line version needed
	line=$(ct /usr/sbin/clusterd --version)
	version=$(sed -n 's/.*(libmicrohttpd \([^)]*\))$/\1/p' <<<"$line")
	needed=$(ct readelf -d /usr/sbin/clusterd | sed -n 's/.*NEEDED.*\[\(libmicrohttpd[^]]*\)\]/\1/p')
	say "clusterd --version: $line; libmicrohttpd.so needed: ${needed:-no (linked in statically)}"
	[[ -n $version ]] && dpkg --compare-versions "$version" ge 1.0
}

no_clusterd_process() { ! ct pgrep -x clusterd >/dev/null; }

check_stop() {
	ct systemctl stop clusterd.service || return 1
	wait_for 5 no_clusterd_process || {
		ct pgrep -a clusterd | sed 's/^/# left: /'
		return 1
	}
	say "stopped: $(ct systemctl is-active clusterd.service); no clusterd process"
}

# the addresses clusterd.socket listens on, sorted, one line per socket
listening() { ct ss -Hltn 'sport = :8080' | awk '{ print $4 }' | sort; }
# how many addresses "systemctl status clusterd.socket" lists
# (the first line has "Listen:", each further one only the address)
status_listens() { ct systemctl status clusterd.socket --no-pager | grep -c ' (Stream)$'; }

# The README's order for other addresses where the socket is already
# listening (the package enables and starts it): the drop-in, daemon-reload,
# restart clusterd.socket. A running clusterd.service is restarted with it
# (it Requires= the socket) and serves only the new address. Removing the
# drop-in the same way brings the 16 default sockets back.
check_listen_dropin() {
	local dir=/etc/systemd/system/clusterd.socket.d before pid status=0 line
	[[ $(http_code) == 200 ]] || return 1 # the service runs when the socket restarts
	pid=$(main_pid)
	before=$(status_listens)
	ct mkdir -p "$dir"
	printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:8080\n' |
		ct tee "$dir/listen.conf" >/dev/null
	ct systemctl daemon-reload
	ct systemctl restart clusterd.socket || return 1
	[[ $(http_code) == 200 ]] || status=1
	line=$(ct journalctl -u clusterd.service -o cat | grep 'socket(s) from systemd' | tail -n 1)
	say "systemctl status clusterd.socket listed $before addresses, with listen.conf" \
		"$(status_listens); listening: $(listening | xargs); MainPID $pid -> $(main_pid);" \
		"GET [::1]:8080 -> $(http_code 'http://[::1]:8080/'); $line"
	[[ $before == 16 && $(status_listens) == 1 && $(listening) == 127.0.0.1:8080 ]] || status=1
	[[ $(main_pid) != "$pid" && $(http_code 'http://[::1]:8080/') == 000 ]] || status=1
	[[ $line == "manager: using 1 socket(s) from systemd on 1 address(es)" ]] || status=1
	ct rm -r "$dir"
	ct systemctl daemon-reload
	ct systemctl restart clusterd.socket || return 1
	say "without it: $(listening | uniq -c | xargs)"
	[[ $(listening | grep -c '^0.0.0.0:8080$') == 8 && $(listening | grep -c '^\[::\]:8080$') == 8 ]] ||
		status=1
	((status == 0))
}

# The sequence both install paths run once clusterd.socket is listening.
run_common_checks() {
	check "first request activates the service and gets 200" check_first_request_activates
	check "IPv6 socket answers" check_ipv6
	check "clusterd runs on libmicrohttpd >= 1.0" check_mhd_version
	check "StatusText names the workers" check_status_text
	check "busctl Workers equals nproc" check_bus_workers
	show_status
	check "journal shows the lifecycle lines" check_journal
	check "16 sockets from clusterd.socket, shared out over the workers" check_socket_share
	check "reload under ab load: 0 failed, every worker replaced" check_reload_under_load
	check "reload with a bad config: systemctl reload fails, nothing changes" check_reload_bad_config
	check "restart under ab load: 0 failed" check_restart_under_load
	check "kill -9 of a worker: replaced, unit active" check_kill_worker
	check "workers have their own seccomp filter; a refused call is named" check_worker_seccomp
	check "kill -9 of the manager: restarted, answers within 5s" check_kill_manager
	check "the access log: /var/log/clusterd/access.log, combined format" check_access_log
	check "SIGUSR1 to the manager: every worker reopens the access log" check_access_log_sigusr1
	check "access-log = journal: journalctl -u clusterd STATUS=404 finds a request" \
		check_access_log_journal
	check "systemd-analyze security <= $SCORE_MAX" check_security_score
	check "systemctl stop leaves no clusterd process" check_stop
}

# ---- an application under clusterd@.socket/.service (issue 12): the Python
# example, installed under /usr/share/clusterd/examples by both paths ----

APP=demo
APP_PORT=8081
APP_URL=http://127.0.0.1:$APP_PORT/
APP_BUS=("io.clusterd1.$APP" /io/clusterd1 io.clusterd1.Manager)
APP_DROPIN=/etc/systemd/system/clusterd@$APP.socket.d
APP_SCORE_MAX=1.5

app_main_pid() { ct systemctl show -p MainPID --value "clusterd@$APP.service"; }
app_worker_pids() { ct pgrep -P "$(app_main_pid)" | sort -n | tr '\n' ' '; }
app_full_house() { [[ $(ct pgrep -c -P "$(app_main_pid)") == 2 ]]; }

# The template has no address: an instance without a drop-in is refused.
check_app_needs_dropin() {
	local out line
	out=$(ct systemctl start "clusterd@$APP.socket" 2>&1) && return 1
	line=$(ct journalctl -b -o cat --no-pager | grep -F "clusterd@$APP.socket: Unit has no Listen" |
		tail -n 1)
	say "systemctl start clusterd@$APP.socket with no drop-in: $(head -n 1 <<<"$out")"
	say "journal: $line"
	[[ $out == *"has a bad unit file setting"* && -n $line ]]
}

# The README's steps: the app's conf, the drop-in (one line per worker:
# per-worker SO_REUSEPORT sockets), daemon-reload, enable --now; the first
# request starts the service.
check_app_start() {
	local body before line
	printf 'exec = python3 /usr/share/clusterd/examples/python/app.py\nworkers = 2\n' |
		ct tee "/etc/clusterd/apps/$APP.conf" >/dev/null
	ct mkdir -p "$APP_DROPIN"
	printf '[Socket]\nListenStream=127.0.0.1:%s\nListenStream=127.0.0.1:%s\n' "$APP_PORT" \
		"$APP_PORT" | ct tee "$APP_DROPIN/listen.conf" >/dev/null
	ct systemctl daemon-reload
	ct systemctl enable --now "clusterd@$APP.socket" 2>/dev/null || return 1
	before=$(ct systemctl is-active "clusterd@$APP.service")
	body=$(ct curl -s -m 10 "$APP_URL")
	wait_for 10 app_full_house || return 1
	line=$(ct journalctl -u "clusterd@$APP.service" -o cat | grep 'socket(s) from systemd')
	say "clusterd@$APP.socket $(ct systemctl is-enabled "clusterd@$APP.socket");" \
		"service before the first request: $before; GET $APP_URL -> '$body'; workers" \
		"$(app_worker_pids)as $(ct stat -c %U "/proc/$(app_main_pid)"); $line"
	[[ $before != active && $body == "hello from worker "[12]", pid "* ]] &&
		[[ $line == "manager: using 2 socket(s) from systemd on 1 address(es)" ]] &&
		[[ $(ct stat -c %U "/proc/$(app_main_pid)") == clusterd-app ]]
}

# Each worker's own stderr is in the unit's journal under its own _PID.
check_app_journal() {
	local p line status=0
	for p in $(app_worker_pids); do
		line=$(ct journalctl "_SYSTEMD_UNIT=clusterd@$APP.service" "_PID=$p" -o cat --no-pager |
			head -n 1)
		say "journalctl -u clusterd@$APP _PID=$p: $line"
		[[ $line == "app.py: worker "[12]" pid $p serving 1 socket(s)" ]] || status=1
	done
	((status == 0))
}

check_app_status() {
	local line
	line=$(ct systemctl status "clusterd@$APP" --no-pager --lines=0 | grep 'Status:')
	say "systemctl status clusterd@$APP:$line"
	[[ $line == *'Status: "2/2 workers'* ]]
}

worker_status_set() {
	[[ $(ct busctl --system get-property "io.clusterd1.$APP" /io/clusterd1/worker/1 \
		io.clusterd1.Worker Status 2>&1) =~ ^s\ \"(serving|served\ [0-9]+\ requests)\"$ ]]
}

# The Python example's STATUS= line, per worker, on the instance's bus name;
# beside it clusterd.service owns io.clusterd1, as another user.
check_app_bus() {
	local status=0 static_owner app_owner
	wait_for 10 worker_status_set || status=1
	say "busctl --system get-property io.clusterd1.$APP /io/clusterd1/worker/1" \
		"io.clusterd1.Worker Status: $(ct busctl --system get-property "io.clusterd1.$APP" \
			/io/clusterd1/worker/1 io.clusterd1.Worker Status 2>&1)"
	[[ $(http_code) == 200 ]] || status=1 # starts clusterd.service
	static_owner=$(ct busctl --system status io.clusterd1 | grep -E '^(PID|EUID)=' | xargs)
	app_owner=$(ct busctl --system status "io.clusterd1.$APP" | grep -E '^(PID|EUID)=' | xargs)
	say "io.clusterd1: $static_owner (clusterd.service $(main_pid));" \
		"io.clusterd1.$APP: $app_owner (clusterd@$APP $(app_main_pid))"
	[[ $static_owner == "PID=$(main_pid) EUID=$(ct id -u clusterd)" ]] || status=1
	[[ $app_owner == "PID=$(app_main_pid) EUID=$(ct id -u clusterd-app)" ]] || status=1
	((status == 0))
}

check_app_reload_under_load() {
	local before after static_before status=0 last
	before=$(app_worker_pids)
	static_before=$(worker_pids)
	LOAD_URL=$APP_URL LOAD_CONCURRENCY=4 LOAD_OPTS=-l LOAD_SECONDS=5 load_start "$E2E_DIR/ab-app"
	ct systemctl reload "clusterd@$APP.service" || status=$?
	last=$(ct busctl --system get-property "${APP_BUS[@]}" LastReload 2>&1)
	say "systemctl reload clusterd@$APP: exit $status; LastReload: $last"
	[[ $last == 's "reload 1 done"' ]] || status=1
	load_check "$E2E_DIR/ab-app" || status=1
	wait_for 35 old_pids_gone "$before" || status=1
	wait_for 5 app_full_house || status=1
	after=$(app_worker_pids)
	say "workers before: $before; after: $after; clusterd.service's: $static_before-> $(worker_pids)"
	[[ $(worker_pids) == "$static_before" ]] || status=1
	((status == 0))
}

check_app_security_score() {
	local line score
	line=$(ct systemd-analyze security "clusterd@$APP.service" --no-pager | tail -n 1)
	say "$line"
	score=$(sed -n "s/.*clusterd@$APP.service: *\([0-9.]*\).*/\1/p" <<<"$line")
	[[ -n $score ]] && awk -v s="$score" -v m="$APP_SCORE_MAX" 'BEGIN { exit !(s <= m) }'
}

no_app_process() { ! ct pgrep -f /usr/share/clusterd/examples/python/app.py >/dev/null; }

# Stops and removes the instance, and stops the clusterd.service it started.
check_app_stop() {
	ct systemctl disable --now "clusterd@$APP.socket" 2>/dev/null &&
		ct systemctl stop "clusterd@$APP.service" clusterd.service || return 1
	wait_for 5 no_app_process || return 1
	ct rm -r "$APP_DROPIN" "/etc/clusterd/apps/$APP.conf"
	ct systemctl daemon-reload
	say "stopped: clusterd@$APP $(ct systemctl is-active "clusterd@$APP.service"), no app.py process"
}

run_app_checks() {
	check "clusterd@$APP.socket without a listen drop-in is refused" check_app_needs_dropin
	check "clusterd@$APP: conf, drop-in, enable --now; the first request starts it" check_app_start
	check "journal: each worker's own stderr under its own _PID" check_app_journal
	check "systemctl status clusterd@$APP shows the manager's STATUS" check_app_status
	check "busctl: io.clusterd1.$APP's worker Status, beside io.clusterd1" check_app_bus
	check "reload clusterd@$APP under ab -c 4: 0 failed, every worker replaced" \
		check_app_reload_under_load
	check "systemd-analyze security clusterd@$APP.service <= $APP_SCORE_MAX" check_app_security_score
	check "disable --now clusterd@$APP.socket, stop: no app process left" check_app_stop
}
