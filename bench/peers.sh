# shellcheck shell=bash
# The peer static-file servers of bench/run: nginx, lighttpd and h2o,
# configured the way their own documentation tunes them for static files (see
# bench/README.md, "What runs"), and which processes of each server are its
# workers. Sourced by bench/run, which sets HOST, ROOT, SERVER_PID and
# SERVER_WORKERS.

# write_lighttpd_conf PORT DIR WORKERS
write_lighttpd_conf() {
	local port=$1 dir=$2 workers=$3
	mkdir -p "$dir"
	cat >"$dir/lighttpd.conf" <<EOF
# lighttpd 1.4 as its performance tuning page advises for static files:
# sendfile, epoll, a stat cache, no access log, enough fds, and long
# keep-alive (its defaults of 1000 requests and 5 s would reconnect wrk and
# close the idle connections of scenario d).
server.document-root = "$ROOT"
server.bind = "$HOST"
server.port = $port
server.errorlog = "$dir/error.log"
# one worker: no fork, the process itself serves
server.max-worker = $((workers > 1 ? workers : 0))
server.max-fds = 16384
server.max-connections = 8192
server.event-handler = "linux-sysepoll"
server.network-backend = "sendfile"
server.stat-cache-engine = "simple"
server.max-keep-alive-requests = 10000000
server.max-keep-alive-idle = 75
server.max-read-idle = 75
index-file.names = ( "index.html" )
mimetype.assign = (
    ".html" => "text/html",
    ".txt" => "text/plain",
    ".bin" => "application/octet-stream",
)
EOF
}

# write_h2o_conf PORT DIR WORKERS
write_h2o_conf() {
	local port=$1 dir=$2 workers=$3
	mkdir -p "$dir"
	# h2o runs N threads in one process, and as root switches to this user
	# at start; nothing it writes after that goes into $dir.
	cat >"$dir/h2o.conf" <<EOF
# h2o 2.2 serving a directory with file.dir, one event-loop thread per
# worker (num-threads), no access log, keep-alive as long as nginx's.
user: nobody
num-threads: $workers
max-connections: 8192
http1-request-timeout: 75
error-log: $dir/error.log
listen:
  host: $HOST
  port: $port
file.mime.settypes:
  text/plain: .txt
  text/html: .html
  application/octet-stream: .bin
hosts:
  default:
    paths:
      /:
        file.dir: $ROOT
EOF
}

# write_nginx_conf PORT DIR WORKERS SENDFILE(on|off)
write_nginx_conf() {
	local port=$1 dir=$2 workers=$3 sendfile=$4
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
# Stock nginx with the settings a static-file benchmark calls for.
worker_processes $workers;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 8192;
}
http {
    types {
        text/html html;
        text/plain txt;
        application/octet-stream bin;
    }
    default_type application/octet-stream;
    access_log off;
    sendfile $sendfile;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    server {
        listen $HOST:$port reuseport backlog=4096;
        root $ROOT;
        index index.html;
        location = /healthz {
            default_type text/plain;
            return 200 "ok\n";
        }
    }
}
EOF
}

# The worker processes of server $1: the children of its manager, master or
# primary. h2o's workers are threads of its one process, and lighttpd with
# one worker serves from its one process.
worker_pids() {
	if [[ $1 == h2o* || ($1 == lighttpd* && ${SERVER_WORKERS[$1]} == 1) ]]; then
		echo "${SERVER_PID[$1]}"
		return
	fi
	ps -o pid= --ppid "${SERVER_PID[$1]}" 2>/dev/null | tr -s ' \n' ' '
}

# How many workers server $1 runs: processes, or h2o's threads less its main one.
worker_count() {
	if [[ $1 == h2o* ]]; then
		echo $(($(awk '/^Threads:/ { print $2 }' "/proc/${SERVER_PID[$1]}/status" 2>/dev/null || echo 1) - 1))
		return
	fi
	worker_pids "$1" | wc -w
}

# Every process of server $1 (manager and helpers too): its session, which
# setsid made it lead. Server CPU per request counts all of them.
server_pids() {
	ps -o pid= -s "${SERVER_PID[$1]}" 2>/dev/null | tr -s ' \n' ' '
}
