/* The daemon plumbing of a worker: MHD daemons in external epoll mode, their
 * run loop, timeouts, drain and counters, and the dispatch of each request to
 * static.c or metrics.c. Answers are queued on the handler's second call: see
 * mhd-1.0.1.h. */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "accesslog.h"
#include "answer.h"
#include "conn.h"
#include "framing.h"
#include "listen.h"
#include "macro.h"
#include "metrics.h"
#include "mhd-1.0.1.h"
#include "mhd-log.h"
#include "mhd-tls.h"
#include "scoreboard.h"
#include "sentfile.h"
#include "static.h"

/* libmicrohttpd's strictness (>= 1.0 only: 0.9.75 fails to start a daemon
 * given this option, and meson.build refuses it). 1 refuses obs-fold, bare
 * LF line ends, bare CR, and Content-Length beside Transfer-Encoding; 2
 * would also refuse the empty line before a request line that RFC 9112 2.2
 * says a server SHOULD skip, and drop a Cookie header with one bad pair. */
#define HTTP_DISCIPLINE_LVL 1

struct HttpServer {
        struct MHD_Daemon *daemons[LISTEN_MAX_PER_WORKER];
        int epoll_fds[LISTEN_MAX_PER_WORKER];
        size_t n_daemons;
        bool any_tls; /* a daemon speaks TLS: see mhd-tls.h */
        unsigned per_daemon_limit;
        size_t pool_size; /* connection-memory: MHD's pool per connection */
        bool run_again;   /* a daemon freed a slot at its limit: see daemon_run() */
        unsigned worker_id;
        StaticSite *site;
        bool draining;
        uint64_t request_timeout_usec; /* see http_server_cut_stalled() */
        unsigned connections;          /* open now */
        Scoreboard *scoreboard;        /* the cluster's, for /metrics */
        ScoreCounters *counters;       /* this worker's entry in it */
        ConnList conns;
        MhdUncork uncork;
        CannedSet canned;
        AccessLog *log; /* the worker's, or NULL */
        MhdLog mhd_log; /* MHD's messages, and the failed accepts they tell of */
        /* markers for a request's context, their addresses only: its target
         * holds %00 (from on_uri()); clusterd refused its framing */
        char nul_target, refused;
};

/* A TLS connection's handshake is counted once: done as soon as a request
 * comes in on it, and at its close, done or failed. */
static void count_handshake(HttpServer *s, Conn *conn, bool done) {
        if (!conn || !conn->tls || conn->tls_counted)
                return;
        conn->tls_counted = true;
        score_add(done ? &s->counters->tls_handshakes : &s->counters->tls_handshakes_failed, 1);
}

/* The request line is in: MHD hands it over raw, before it parses the rest. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
        HttpServer *s = cls;
        Conn *conn = conn_get(c);

        count_handshake(s, conn, true);
        /* the rest of the request gets a full connection-timeout of its own:
         * a request begun late in an idle spell is not cut half-way */
        conn_request_started(conn, now_usec(CLOCK_MONOTONIC));
        /* as sent: MHD decodes it in place after this call */
        if (s->log)
                (void) conn_note_target(conn, uri, ACCESSLOG_TARGET_MAX);
        /* MHD decodes the path in place, and a %00 in it would cut it short:
         * such a target is marked, and refused in on_request(). Otherwise
         * NULL keeps the request's context NULL, as on_request() expects.
         * Registering this callback also makes MHD call on_completed() for
         * requests it drops after their request line. */
        return memmem(uri, strcspn(uri, "?"), "%00", 3) ? &s->nul_target : NULL;
}

static enum MHD_Result scan_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size) {
        framing_scan_line(cls, key, key_size, value ? value : "", value ? value_size : 0);
        return MHD_YES;
}

/* Whether the request on c may be answered as far as its framing goes (see
 * framing.h; libmicrohttpd checks the rest), and the path its target names:
 * the path of an absolute-form target, whose authority must be a valid
 * host[:port] (it stands for the Host: RFC 9112 3.2.2). The asterisk-form
 * belongs to OPTIONS alone. */
static bool request_framed(struct MHD_Connection *c, const char *method, const char *version,
                           const char *url) {
        FramingScan scan = { 0 };
        const char *authority;
        size_t len;

        (void) MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_line, &scan);
        if (!framing_scan_ok(&scan, strcmp(version, MHD_HTTP_VERSION_1_0) != 0))
                return false;
        if (framing_absolute_path(url, &authority, &len) && !framing_host_valid(authority, len))
                return false;
        return strcmp(url, "*") != 0 || strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0;
}

/* A 400 for a request clusterd refused for its framing: queued on the first
 * call, which makes MHD read no more of the connection and close it after
 * the answer, which says "Connection: close". */
static enum MHD_Result refuse_framing(HttpServer *s, Request *rq, Conn *conn, void **req_cls) {
        uint64_t text_bytes = 0;
        enum MHD_Result ret;

        score_add(&s->counters->framing_refused, 1);
        *req_cls = &s->refused; /* counted: see on_completed() */
        conn_answering(conn);
        rq->draining = true; /* the variant with "Connection: close" */
        rq->text_bytes = &text_bytes;
        ret = answer_canned(rq, CANNED_BAD_REQUEST);
        if (s->log)
                conn_note_answered(conn, text_bytes);
        return ret;
}

/* Whether a request that will be refused should be answered before its body:
 * only when the client waits for "100 Continue" before sending it (RFC 9110
 * 10.1.1). MHD then reads none of it and closes the connection after the
 * answer. Without Expect, the body is already on its way: closing with it
 * unread would make the kernel send a reset, and clients that write the
 * whole body before reading would see that instead of the answer, so such a
 * body is read and dropped. */
static bool refuse_before_body(struct MHD_Connection *c, const char *version) {
        const char *expect =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        /* an HTTP/1.0 client knows no 100 Continue and sends its body at once */
        return expect && strcasecmp(expect, "100-continue") == 0 &&
               strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
}

/* What an answer to a request on c needs of this worker. */
static Request request_make(HttpServer *s, struct MHD_Connection *c) {
        return (Request) {
                .mhd = c,
                .canned = &s->canned,
                .draining = s->draining,
                .pool_size = s->pool_size,
                .uncork = &s->uncork,
        };
}

/* The answer to a request read whole (its body, if any, dropped). */
static enum MHD_Result dispatch_request(HttpServer *s, Request *rq, const char *method,
                                        const char *url, bool get, bool allowed) {
        enum MHD_Result ret;

        if (!allowed)
                return answer_canned(rq, CANNED_NOT_ALLOWED);
        if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
                return answer_canned(rq, CANNED_OPTIONS);
        if (strcmp(url, "/healthz") == 0)
                return metrics_serve_health(rq);
        if (strcmp(url, "/metrics") == 0)
                return metrics_serve(rq, s->scoreboard, s->worker_id);
        ret = static_serve(s->site, rq, url, get);
        score_add(&s->counters->bytes_sent, rq->body_bytes);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
        HttpServer *s = cls;
        uint64_t text_bytes = 0;
        Request rq = request_make(s, c);
        enum MHD_Result ret;
        Conn *conn;

        bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
        bool allowed = get || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ||
                       strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0;
        bool nul_target = *req_cls == &s->nul_target;
        const char *authority, *path;
        size_t authority_len;

        if (nul_target)
                *req_cls = NULL; /* the first call */
        if (mhd_first_call(req_cls)) {
                conn = conn_get(c);
                if (s->log)
                        conn_note_request(conn, method, version);
                if (!mhd_room_for_answer(c, s->pool_size, 0))
                        return mhd_refuse_headers_too_large(
                                c, strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
                if (nul_target || !request_framed(c, method, version, url))
                        return refuse_framing(s, &rq, conn, req_cls);
                if (!allowed && refuse_before_body(c, version)) {
                        conn_answering(conn);
                        rq.text_bytes = &text_bytes;
                        ret = answer_canned(&rq, CANNED_NOT_ALLOWED);
                        if (s->log)
                                conn_note_answered(conn, text_bytes);
                        return ret;
                }
                mhd_await_second_call(req_cls, s);
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* a body is never used; discard it */
                return MHD_YES;
        }
        conn = conn_get(c);
        conn_answering(conn); /* from here on, the stall cut leaves it alone */
        rq.text_bytes = &text_bytes;
        path = framing_absolute_path(url, &authority, &authority_len);
        ret = dispatch_request(s, &rq, method, path ? path : url, get, allowed);
        if (s->log)
                conn_note_answered(conn, rq.body_bytes + text_bytes);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
        HttpServer *s = cls;
        Conn *conn = conn_get(c);
        AccessEntry e;

        if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
                score_add(&s->counters->requests, 1);
        /* a request the handler never saw, which MHD refused with a 400 of
         * its own after the request line (its framing: see framing.h) */
        if (!*req_cls || *req_cls == &s->nul_target) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
                if (ci && ci->http_status == MHD_HTTP_BAD_REQUEST)
                        score_add(&s->counters->framing_refused, 1);
        }
        if (s->log && conn && conn_log_entry(conn, c, &e))
                accesslog_add(s->log, &e, time(NULL));
        sentfile_done(conn);
        conn_request_done(conn, now_usec(CLOCK_MONOTONIC), s->draining);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        HttpServer *s = cls;
        Conn *conn;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                score_set32(&s->counters->connections, ++s->connections);
                s->mhd_log.accept_stalled = false;
                /* without memory for a Conn the connection is counted all
                 * the same, but neither cut when stalled nor hurried in a drain */
                if (conn_add(&s->conns, c, now_usec(CLOCK_MONOTONIC), s->draining, &conn) >= 0) {
                        *socket_context = conn;
                        if (s->any_tls)
                                mhd_tls_watch(c, conn);
                }
                return;
        }
        score_set32(&s->counters->connections, --s->connections);
        conn = *socket_context;
        if (!conn)
                return;
        count_handshake(s, conn, conn->tls_handshaken);
        mhd_uncork_forget(&s->uncork, conn);
        conn_remove(&s->conns, conn);
        *socket_context = NULL;
}

int http_server_new(const Config *c, unsigned worker_id, const int *fds, const bool *tls,
                    size_t n_fds, Scoreboard *sb, unsigned score_index, HttpServer **ret) {
        struct MHD_OptionItem tls_ops[MHD_TLS_OPTIONS],
                plain_ops[] = { { MHD_OPTION_END, 0, NULL } };
        HttpServer *s;
        int r;

        if (n_fds == 0 || n_fds > LISTEN_MAX_PER_WORKER || !scoreboard_counters(sb, score_index))
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->worker_id = worker_id;
        s->scoreboard = sb;
        s->counters = scoreboard_counters(sb, score_index);
        mhd_log_init(&s->mhd_log, &s->counters->accept_failed);
        s->pool_size = c->connection_memory;
        s->request_timeout_usec = (uint64_t) c->connection_timeout_sec * 1000000u;
        r = static_new(c, &s->site);
        if (r < 0)
                goto fail;
        r = answer_canned_build(&s->canned);
        if (r < 0)
                goto fail;

        /* connection-limit is per worker; MHD counts per daemon, and the
         * kernel spreads connections evenly over a worker's sockets */
        s->per_daemon_limit = (c->connection_limit + (unsigned) n_fds - 1) / (unsigned) n_fds;
        mhd_tls_options(c, tls_ops);
        for (size_t i = 0; i < n_fds; i++) {
                bool tls_i = tls && tls[i];
                if (tls_i && (!tls_material_loaded(&c->tls) || !mhd_tls_supported())) {
                        r = -ENOKEY;
                        goto fail;
                }
                s->any_tls |= tls_i;
                /* MHD_USE_TURBO reads a new connection at once instead of a
                 * loop round later, adds it to epoll only once it would
                 * block, and closes without a shutdown() first: fewer
                 * syscalls per one-request connection (bench/README.md,
                 * "Syscalls per request"). */
                /* option, value pairs, one per line */
                /* clang-format off */
                s->daemons[i] = MHD_start_daemon(
                        MHD_USE_ERROR_LOG |
                                (tls_i ? MHD_TLS_DAEMON_FLAGS : MHD_USE_EPOLL | MHD_USE_TURBO),
                        0, NULL, NULL,
                        on_request, s,
                        /* first, or MHD logs to stderr until it comes */
                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log_message, &s->mhd_log,
                        MHD_OPTION_ARRAY, tls_i ? tls_ops : plain_ops,
                        MHD_OPTION_LISTEN_SOCKET, fds[i],
                        MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout_sec,
                        MHD_OPTION_CONNECTION_LIMIT, s->per_daemon_limit,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->connection_memory,
                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
                        MHD_OPTION_CLIENT_DISCIPLINE_LVL, HTTP_DISCIPLINE_LVL,
                        MHD_OPTION_END);
                /* clang-format on */
                if (!s->daemons[i]) {
                        r = -EIO;
                        goto fail;
                }
                s->n_daemons++;
                const union MHD_DaemonInfo *info =
                        MHD_get_daemon_info(s->daemons[i], MHD_DAEMON_INFO_EPOLL_FD);
                if (!info) {
                        r = -EIO;
                        goto fail;
                }
                s->epoll_fds[i] = info->epoll_fd;
        }
        *ret = s;
        return 0;
fail:
        http_server_free(s);
        return r;
}

void http_server_set_access_log(HttpServer *s, AccessLog *log) {
        s->log = log;
}

size_t http_server_n_daemons(const HttpServer *s) {
        return s->n_daemons;
}

int http_server_epoll_fd(const HttpServer *s, size_t i) {
        return s->epoll_fds[i];
}

/* MHD sends a file 128 KiB at a time and leaves a connection that can take
 * more on its "ready" list, asking to be run again at once. Going round
 * sd-event for that costs four syscalls per piece (timerfd, two epoll_wait,
 * read); running MHD again costs one epoll_wait. The bound gives the IPC
 * channel and the timers their turn under sustained load. */
#define RUN_AGAIN_MAX 16

static bool daemon_full(const HttpServer *s, struct MHD_Daemon *d) {
        return mhd_daemon_full(d, s->connections, s->per_daemon_limit);
}

/* Runs d until it has nothing more to do at once, and once more when the run
 * freed a slot at the connection limit (see mhd_daemon_full()) or closed a
 * connection while accepts were stalled for want of fds (see
 * MhdLog.accept_stalled): MHD takes its listening socket back into its
 * epoll set only at the start of a run, and with no connection left nothing
 * would wake it for one. -EIO when MHD says it cannot run: the daemon is
 * broken, and so is the worker. */
static int daemon_run(HttpServer *s, struct MHD_Daemon *d) {
        for (unsigned i = 0; i < RUN_AGAIN_MAX; i++) {
                bool was_full = daemon_full(s, d);
                unsigned open_before = s->connections;
                MHD_UNSIGNED_LONG_LONG ms;

                if (MHD_run(d) != MHD_YES)
                        return -EIO;
                mhd_uncork_pending(&s->uncork);
                if ((was_full && !daemon_full(s, d)) ||
                    (s->mhd_log.accept_stalled && s->connections < open_before)) {
                        if (i + 1 == RUN_AGAIN_MAX)
                                s->run_again = true; /* the next loop round does it */
                        continue;
                }
                if (MHD_get_timeout(d, &ms) != MHD_YES || ms != 0)
                        return 0;
        }
        return 0;
}

int http_server_run(HttpServer *s) {
        s->run_again = false;
        for (size_t i = 0; i < s->n_daemons; i++) {
                int r = daemon_run(s, s->daemons[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int http_server_run_fd(HttpServer *s, int epoll_fd) {
        for (size_t i = 0; i < s->n_daemons; i++)
                if (s->epoll_fds[i] == epoll_fd)
                        return daemon_run(s, s->daemons[i]);
        return 0;
}

unsigned http_server_cut_stalled(HttpServer *s, uint64_t now) {
        unsigned cut = conn_cut_stalled(&s->conns, now, s->request_timeout_usec);

        score_add(&s->counters->stalled_closed, cut);
        return cut;
}

void http_server_tick(HttpServer *s, uint64_t now) {
        mhd_log_flush(&s->mhd_log, now);
}

unsigned http_server_cut_shrunk(HttpServer *s) {
        return sentfile_cut_shrunk(&s->conns);
}

bool http_server_timeout(HttpServer *s, uint64_t *ret_usec) {
        bool any = false;
        uint64_t best = UINT64_MAX;

        if (s->run_again) {
                *ret_usec = 0;
                return true;
        }

        for (size_t i = 0; i < s->n_daemons; i++) {
                MHD_UNSIGNED_LONG_LONG ms;
                if (MHD_get_timeout(s->daemons[i], &ms) == MHD_YES) {
                        any = true;
                        if ((uint64_t) ms * USEC_PER_MSEC < best)
                                best = (uint64_t) ms * USEC_PER_MSEC;
                }
        }
        *ret_usec = best;
        return any;
}

void http_server_drain(HttpServer *s) {
        if (s->draining)
                return;
        s->draining = true;
        score_set32(&s->counters->draining, 1);
        /* quiesce hands the listening fd back without closing it: siblings and
         * systemd keep sharing it. This worker's copy goes away when it exits. */
        for (size_t i = 0; i < s->n_daemons; i++)
                (void) MHD_quiesce_daemon(s->daemons[i]);
        conn_drain_idle(&s->conns);
}

bool http_server_draining(const HttpServer *s) {
        return s->draining;
}

unsigned http_server_connections(const HttpServer *s) {
        return s->connections;
}

void http_server_free(HttpServer *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_daemons; i++)
                MHD_stop_daemon(s->daemons[i]);
        answer_canned_free(&s->canned);
        static_free(s->site);
        free(s);
}
