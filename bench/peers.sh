# shellcheck shell=bash
# The peer static-file servers of bench/run: lighttpd and h2o, configured
# the way their own documentation tunes them for static files (see
# bench/README.md, "What runs"). Sourced by bench/run, which sets HOST and ROOT.

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
