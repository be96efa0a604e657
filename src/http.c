/* Request handling: static files beneath the root, /healthz and /metrics.
 * Responses are queued on the handler's second call: see mhd-0.9.75.h. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conditional.h"
#include "conn.h"
#include "filecache.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "mhd-0.9.75.h"
#include "mime.h"
#include "path.h"
#include "range.h"
#include "uri.h"

/* Canned answers, built once; the draining set carries "Connection: close". */
typedef enum Canned {
        CANNED_NOT_FOUND,
        CANNED_FORBIDDEN,
        CANNED_BAD_REQUEST,
        CANNED_NOT_ALLOWED,
        CANNED_URI_TOO_LONG,
        CANNED_PRECONDITION_FAILED,
        CANNED_HEALTH_OK,
        CANNED_HEALTH_DRAINING,
        CANNED_SERVER_ERROR,
        _CANNED_MAX,
} Canned;

/* Room for the query string kept by a directory redirect. */
#define LOCATION_QUERY_MAX 2048

struct HttpServer {
        struct MHD_Daemon *daemons[LISTEN_MAX_PER_WORKER];
        int epoll_fds[LISTEN_MAX_PER_WORKER];
        size_t n_daemons;
        unsigned per_daemon_limit;
        size_t pool_size; /* connection-memory: MHD's pool per connection */
        bool run_again;   /* a daemon freed a slot at its limit: see daemon_run() */
        int root_fd;
        unsigned worker_id;
        MimeTable *mime;
        FileCache *cache;
        bool draining;
        bool dotfiles;   /* serve dot segments: see path_is_hidden() */
        char *root_path; /* the root as /proc names it, for dotfile symlinks; NULL: unknown */
        uint64_t request_timeout_usec; /* see http_server_cut_stalled() */
        HttpStats stats;
        ConnList conns;
        MhdUncork uncork;
        struct MHD_Response *canned[2][_CANNED_MAX];
};

static const struct {
        unsigned status;
        const char *body;
} canned_table[_CANNED_MAX] = {
        [CANNED_NOT_FOUND] = { MHD_HTTP_NOT_FOUND, "404 Not Found\n" },
        [CANNED_FORBIDDEN] = { MHD_HTTP_FORBIDDEN, "403 Forbidden\n" },
        [CANNED_BAD_REQUEST] = { MHD_HTTP_BAD_REQUEST, "400 Bad Request\n" },
        [CANNED_NOT_ALLOWED] = { MHD_HTTP_METHOD_NOT_ALLOWED, "405 Method Not Allowed\n" },
        [CANNED_URI_TOO_LONG] = { MHD_HTTP_URI_TOO_LONG, "414 URI Too Long\n" },
        [CANNED_PRECONDITION_FAILED] = { MHD_HTTP_PRECONDITION_FAILED,
                                         "412 Precondition Failed\n" },
        [CANNED_HEALTH_OK] = { MHD_HTTP_OK, "ok\n" },
        [CANNED_HEALTH_DRAINING] = { MHD_HTTP_SERVICE_UNAVAILABLE, "draining\n" },
        [CANNED_SERVER_ERROR] = { MHD_HTTP_INTERNAL_SERVER_ERROR, "500 Internal Server Error\n" },
};

static int canned_build(HttpServer *s) {
        for (int closing = 0; closing < 2; closing++)
                for (int i = 0; i < _CANNED_MAX; i++) {
                        const char *body = canned_table[i].body;
                        struct MHD_Response *r = MHD_create_response_from_buffer(
                                strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
                        if (!r)
                                return -ENOMEM;
                        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                "text/plain; charset=utf-8");
                        if (i == CANNED_NOT_ALLOWED)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
                        if (i == CANNED_HEALTH_OK || i == CANNED_HEALTH_DRAINING)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                                        "no-store");
                        if (closing)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
                        s->canned[closing][i] = r;
                }
        return 0;
}

static enum MHD_Result queue_canned(HttpServer *s, struct MHD_Connection *c, Canned which) {
        return MHD_queue_response(c, canned_table[which].status, s->canned[s->draining][which]);
}

/* Queues a response built for this request alone and drops our reference. */
static enum MHD_Result queue_once(HttpServer *s, struct MHD_Connection *c, unsigned status,
                                  struct MHD_Response *r) {
        enum MHD_Result ret;

        if (s->draining)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result serve_metrics(HttpServer *s, struct MHD_Connection *c) {
        char body[1024];
        struct MHD_Response *r;
        int n = snprintf(body, sizeof body,
                         "# TYPE clusterd_worker_requests_total counter\n"
                         "clusterd_worker_requests_total{worker=\"%u\"} %llu\n"
                         "# TYPE clusterd_worker_sent_bytes_total counter\n"
                         "clusterd_worker_sent_bytes_total{worker=\"%u\"} %llu\n"
                         "# TYPE clusterd_worker_connections gauge\n"
                         "clusterd_worker_connections{worker=\"%u\"} %u\n"
                         "# TYPE clusterd_worker_draining gauge\n"
                         "clusterd_worker_draining{worker=\"%u\"} %d\n"
                         "# TYPE clusterd_worker_stalled_closed_total counter\n"
                         "clusterd_worker_stalled_closed_total{worker=\"%u\"} %llu\n",
                         s->worker_id, (unsigned long long) s->stats.requests, s->worker_id,
                         (unsigned long long) s->stats.bytes_sent, s->worker_id,
                         s->stats.connections, s->worker_id, s->draining, s->worker_id,
                         (unsigned long long) s->stats.stalled_closed);

        if (n < 0 || (size_t) n >= sizeof body)
                return MHD_NO;
        r = MHD_create_response_from_buffer((size_t) n, body, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        return queue_once(s, c, MHD_HTTP_OK, r);
}

typedef struct QueryBuilder {
        char *buf;
        size_t size, len;
        bool first;
        int r;
} QueryBuilder;

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
        QueryBuilder *q = cls;

        if (q->r >= 0)
                q->r = uri_append(q->buf, q->size, &q->len, q->first ? "?" : "&");
        q->first = false;
        if (q->r >= 0)
                q->r = uri_append_encoded(q->buf, q->size, &q->len, key, false);
        if (q->r >= 0 && value) {
                q->r = uri_append(q->buf, q->size, &q->len, "=");
                if (q->r >= 0)
                        q->r = uri_append_encoded(q->buf, q->size, &q->len, value, false);
        }
        return q->r >= 0 ? MHD_YES : MHD_NO;
}

/* The request line is in: MHD hands it over raw, before it parses the rest. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
        const HttpServer *s = cls;

        /* the rest of the request gets a full connection-timeout of its own:
         * a request begun late in an idle spell is not cut half-way */
        conn_request_started(conn_get(c), now_usec(CLOCK_MONOTONIC));
        (void) mhd_refuse_heavy_uri(c, uri, s->pool_size);
        /* NULL keeps the request's context NULL, as on_request() expects.
         * Registering this callback also makes MHD call on_completed() for
         * requests it drops after their request line: harmless there. */
        return NULL;
}

/* "/docs" names a directory: send the client to "/docs/" so relative links
 * work, keeping the query. The path is the sanitized one, never the raw URL:
 * "//host" must not become a Location pointing at another host. MHD hands
 * the query over decoded, so it is encoded again; a query too long for the
 * header is dropped rather than cut. */
static enum MHD_Result redirect_to_directory(HttpServer *s, struct MHD_Connection *c,
                                             const char *rel, bool with_body) {
        static const char body[] = "301 Moved Permanently\n";
        char location[3 * PATH_REQUEST_MAX + 2 + LOCATION_QUERY_MAX];
        QueryBuilder q = { .buf = location, .size = sizeof location, .first = true };
        struct MHD_Response *r;

        if (uri_append(location, sizeof location, &q.len, "/") < 0 ||
            (strcmp(rel, ".") != 0 &&
             (uri_append_encoded(location, sizeof location, &q.len, rel, true) < 0 ||
              uri_append(location, sizeof location, &q.len, "/") < 0)))
                return queue_canned(s, c, CANNED_URI_TOO_LONG);
        size_t path_len = q.len;
        (void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
        if (q.r < 0)
                location[path_len] = '\0';
        if (!mhd_room_for_answer(c, s->pool_size, strlen(location)))
                return mhd_refuse_headers_too_large(c, !with_body);

        r = MHD_create_response_from_buffer(sizeof body - 1, (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        return queue_once(s, c, MHD_HTTP_MOVED_PERMANENTLY, r);
}

/* ETag and Last-Modified, unless the file's mtime could not be written as
 * a date (v is NULL) */
static void add_validators(struct MHD_Response *r, const CondValidators *v) {
        if (!v)
                return;
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, v->etag);
        MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, v->last_modified);
}

/* 304: the client's copy is the current one. Validators only, no body. */
static enum MHD_Result queue_not_modified(HttpServer *s, struct MHD_Connection *c,
                                          const CondValidators *v) {
        struct MHD_Response *r;

        r = mhd_response_not_modified(v->size);
        if (!r)
                return MHD_NO;
        add_validators(r, v);
        return queue_once(s, c, MHD_HTTP_NOT_MODIFIED, r);
}

/* Files a conditional header where the request has one: the first line of
 * a single-value header, every line of a list. MHD keeps names as received,
 * so case is ignored; one cheap test sets aside every other header. */
static enum MHD_Result condition_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value) {
        CondRequest *req = cls;
        CondLines *lines = NULL;
        const char **single = NULL;

        if (strncasecmp(key, "If-", 3) != 0 || !value)
                return MHD_YES;
        if (strcasecmp(key, MHD_HTTP_HEADER_IF_MATCH) == 0)
                lines = &req->if_match;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_NONE_MATCH) == 0)
                lines = &req->if_none_match;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE) == 0)
                single = &req->if_unmodified_since;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_MODIFIED_SINCE) == 0)
                single = &req->if_modified_since;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_RANGE) == 0)
                single = &req->if_range;
        if (lines) {
                if (lines->n < COND_LINES_MAX)
                        lines->line[lines->n] = value;
                lines->n++; /* past the room: the list counts as malformed */
        } else if (single && !*single)
                *single = value;
        return MHD_YES;
}

/* What RFC 9110 section 13.2.2 makes of the request's preconditions. One
 * pass over the headers finds them all, with no allocation. The clock is
 * read only for If-Modified-Since and If-Range, through the vDSO. */
static CondResult conditions_evaluate(struct MHD_Connection *c, bool has_range,
                                      const CondValidators *v) {
        CondRequest req = { .has_range = has_range };

        (void) MHD_get_connection_values(c, MHD_HEADER_KIND, condition_collect, &req);
        if (!has_range)
                req.if_range = NULL;
        return cond_evaluate(&req, v, req.if_modified_since || req.if_range ? time(NULL) : 0);
}

/* Large or uncached files: MHD sends them with sendfile and closes fd. */
static enum MHD_Result queue_fd(HttpServer *s, struct MHD_Connection *c, int fd,
                                const struct stat *st, const CondValidators *v, const char *type) {
        struct MHD_Response *r;

        r = MHD_create_response_from_fd64((uint64_t) st->st_size, fd);
        if (!r) {
                close(fd);
                return queue_canned(s, c, CANNED_SERVER_ERROR);
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        add_validators(r, v);
        mhd_uncork_later(&s->uncork, c, (uint64_t) st->st_size);
        return queue_once(s, c, MHD_HTTP_OK, r);
}

/* 206: len bytes of the file from start. */
static enum MHD_Result queue_range(HttpServer *s, struct MHD_Connection *c, int fd,
                                   const struct stat *st, const CondValidators *v, const char *type,
                                   uint64_t start, uint64_t len) {
        char content_range[80];
        struct MHD_Response *r;

        r = MHD_create_response_from_fd_at_offset64(len, fd, start);
        if (!r) {
                close(fd);
                return queue_canned(s, c, CANNED_SERVER_ERROR);
        }
        snprintf(content_range, sizeof content_range, "bytes %llu-%llu/%llu",
                 (unsigned long long) start, (unsigned long long) (start + len - 1),
                 (unsigned long long) st->st_size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        add_validators(r, v);
        mhd_uncork_later(&s->uncork, c, len);
        return queue_once(s, c, MHD_HTTP_PARTIAL_CONTENT, r);
}

/* 416, naming the file's size so that the client can ask again, and the
 * version that size belongs to. */
static enum MHD_Result queue_unsatisfiable(HttpServer *s, struct MHD_Connection *c,
                                           const struct stat *st, const CondValidators *v) {
        static const char body[] = "416 Range Not Satisfiable\n";
        char content_range[48];
        struct MHD_Response *r;

        r = MHD_create_response_from_buffer(sizeof body - 1, (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        snprintf(content_range, sizeof content_range, "bytes */%llu",
                 (unsigned long long) st->st_size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
        add_validators(r, v);
        return queue_once(s, c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
}

/* Reads the root's path again, for when it was renamed under the workers. */
static int root_path_refresh(HttpServer *s) {
        char buf[PATH_MAX];
        int r = path_of_fd(s->root_fd, buf, sizeof buf);
        char *copy = r < 0 ? NULL : strdup(buf);

        if (!copy)
                return r < 0 ? r : -ENOMEM;
        free(s->root_path);
        s->root_path = copy;
        return 0;
}

/* Whether the file open as fd, reached through a symlink, sits at a hidden
 * path beneath the root; when that cannot be told, it is treated as hidden.
 * One readlink() for each file opened through a symlink; none for the rest,
 * nor for answers from the file cache, which only holds files that passed. */
static bool opened_hidden(HttpServer *s, const char *rel, int fd) {
        char resolved[PATH_MAX];
        int r = path_of_fd(fd, resolved, sizeof resolved);

        if (r >= 0)
                r = path_resolved_is_hidden(resolved, s->root_path);
        if (r == -EXDEV && root_path_refresh(s) >= 0)
                r = path_resolved_is_hidden(resolved, s->root_path);
        if (r < 0)
                log_warning("cannot tell where '%s' leads (%s): answered as not found", rel,
                            strerror(-r));
        return r != 0;
}

/* "/dir/" and "/dir/." ask for a directory: a file so named is not found, as
 * the kernel's ENOTDIR would have it, rather than served under a second URL
 * whose relative links resolve one level too deep */
static bool url_names_directory(const char *url) {
        size_t n = strlen(url);
        return (n >= 1 && url[n - 1] == '/') || (n >= 2 && url[n - 2] == '/' && url[n - 1] == '.');
}

/* body_sent: false for HEAD, whose answers count no bytes as sent */
static enum MHD_Result serve_file(HttpServer *s, struct MHD_Connection *c, const char *url,
                                  bool body_sent) {
        char rel[PATH_REQUEST_MAX + 1], resolved[PATH_REQUEST_MAX + 16];
        struct MHD_Response *r;
        struct stat st;
        CondValidators validators;
        const CondValidators *v;
        const char *type, *range;
        bool is_index = false, names_directory = url_names_directory(url), use_cache;
        bool via_symlink = false;
        int fd;

        range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);

        fd = path_sanitize(url, rel, sizeof rel);
        if (fd == -ENAMETOOLONG)
                return queue_canned(s, c, CANNED_URI_TOO_LONG);
        if (fd < 0)
                return queue_canned(s, c, CANNED_FORBIDDEN);
        /* before the cache, so a dotfile is neither answered from it nor
         * stored in it; 404, not 403, so as not to tell that it exists */
        if (!s->dotfiles && path_is_hidden(rel))
                return queue_canned(s, c, CANNED_NOT_FOUND);

        /* draining responses need "Connection: close", which a shared cached
         * response must not get; a range is cut from the file itself */
        use_cache = !s->draining && !range;
        r = use_cache ? filecache_lookup(s->cache, s->root_fd, rel, &is_index, &v) : NULL;
        if (r) {
                if (is_index && !names_directory)
                        return redirect_to_directory(s, c, rel, body_sent);
                if (!is_index && names_directory)
                        return queue_canned(s, c, CANNED_NOT_FOUND);
                /* v was made from the stat that the lookup just compared */
                switch (conditions_evaluate(c, false, v)) {
                case COND_PRECONDITION_FAILED:
                        return queue_canned(s, c, CANNED_PRECONDITION_FAILED);
                case COND_NOT_MODIFIED:
                        return queue_not_modified(s, c, v);
                case COND_SEND_WHOLE: /* no Range on this path */
                case COND_SEND:
                        break;
                }
                if (body_sent)
                        s->stats.bytes_sent += v->size;
                return MHD_queue_response(c, MHD_HTTP_OK, r);
        }

        fd = path_open(s->root_fd, rel, &st, &is_index, &via_symlink);
        switch (fd) {
        case -ENOENT:
        case -ENOTDIR:
        case -EISDIR:
        case -ENAMETOOLONG: /* a segment longer than the file system allows */
                return queue_canned(s, c, CANNED_NOT_FOUND);
        case -EACCES:
        case -EPERM:
        case -EXDEV:
        case -ENXIO: /* a socket, or a device without a driver */
        case -ENODEV:
        case -EOPNOTSUPP:
                return queue_canned(s, c, CANNED_FORBIDDEN);
        default:
                if (fd < 0) {
                        log_warning("cannot open '%s' for a request: %s", rel, strerror(-fd));
                        return queue_canned(s, c, CANNED_SERVER_ERROR);
                }
        }
        /* a symlink whose own name has no dot may lead to a dotfile; checked
         * before the redirect, which would tell that a directory is there */
        if (via_symlink && !s->dotfiles && s->root_path && opened_hidden(s, rel, fd)) {
                close(fd);
                return queue_canned(s, c, CANNED_NOT_FOUND);
        }
        if (is_index && !names_directory) {
                close(fd);
                return redirect_to_directory(s, c, rel, body_sent);
        }
        if (!is_index && names_directory) {
                close(fd);
                return queue_canned(s, c, CANNED_NOT_FOUND);
        }
        if (is_index)
                (void) path_index(rel, resolved, sizeof resolved);
        else
                snprintf(resolved, sizeof resolved, "%s", rel);
        type = mime_table_lookup(s->mime, resolved);

        /* from the fstat of the fd about to be sent: never stale */
        v = cond_validators_from_stat(&st, time(NULL), &validators) >= 0 ? &validators : NULL;
        switch (conditions_evaluate(c, range != NULL, v)) {
        case COND_PRECONDITION_FAILED:
                close(fd);
                return queue_canned(s, c, CANNED_PRECONDITION_FAILED);
        case COND_NOT_MODIFIED:
                close(fd);
                return queue_not_modified(s, c, v);
        case COND_SEND_WHOLE:
                range = NULL;
                break;
        case COND_SEND:
                break;
        }

        if (range) {
                uint64_t start, len;

                switch (range_parse(range, (uint64_t) st.st_size, &start, &len)) {
                case RANGE_OK:
                        if (body_sent)
                                s->stats.bytes_sent += len;
                        return queue_range(s, c, fd, &st, v, type, start, len);
                case RANGE_UNSATISFIABLE:
                        close(fd);
                        return queue_unsatisfiable(s, c, &st, v);
                case RANGE_IGNORE:
                        break;
                }
        }
        if (body_sent)
                s->stats.bytes_sent += (uint64_t) st.st_size;

        r = use_cache && v ? filecache_store(s->cache, rel, resolved, is_index, fd, &st, v, type)
                           : NULL;
        if (r) {
                close(fd);
                return MHD_queue_response(c, MHD_HTTP_OK, r);
        }
        return queue_fd(s, c, fd, &st, v, type);
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
        HttpServer *s = cls;

        bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
        bool allowed = get || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

        if (mhd_first_call(req_cls)) {
                if (!mhd_room_for_answer(c, s->pool_size, 0))
                        return mhd_refuse_headers_too_large(
                                c, strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
                if (!allowed && refuse_before_body(c, version)) {
                        conn_answering(conn_get(c));
                        return queue_canned(s, c, CANNED_NOT_ALLOWED);
                }
                mhd_await_second_call(req_cls, s);
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* a body is never used; discard it */
                return MHD_YES;
        }
        conn_answering(conn_get(c)); /* from here on, the stall cut leaves it alone */

        if (!allowed)
                return queue_canned(s, c, CANNED_NOT_ALLOWED);
        if (strcmp(url, "/healthz") == 0)
                return queue_canned(s, c, s->draining ? CANNED_HEALTH_DRAINING : CANNED_HEALTH_OK);
        if (strcmp(url, "/metrics") == 0)
                return serve_metrics(s, c);
        return serve_file(s, c, url, get);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
        HttpServer *s = cls;
        Conn *conn = conn_get(c);

        if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
                s->stats.requests++;
        if (conn)
                conn_request_done(conn, now_usec(CLOCK_MONOTONIC), s->draining);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        HttpServer *s = cls;
        Conn *conn;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                s->stats.connections++;
                /* without memory for a Conn the connection is counted all
                 * the same, but neither cut when stalled nor hurried in a drain */
                if (conn_add(&s->conns, c, now_usec(CLOCK_MONOTONIC), s->draining, &conn) >= 0)
                        *socket_context = conn;
                return;
        }
        s->stats.connections--;
        conn = *socket_context;
        if (!conn)
                return;
        if (conn->uncork)
                mhd_uncork_forget(&s->uncork, conn);
        conn_remove(&s->conns, conn);
        *socket_context = NULL;
}

int http_server_new(const Config *c, unsigned worker_id, const int *fds, size_t n_fds,
                    HttpServer **ret) {
        HttpServer *s;
        int r;

        if (n_fds == 0 || n_fds > LISTEN_MAX_PER_WORKER)
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->worker_id = worker_id;
        s->pool_size = c->connection_memory;
        s->dotfiles = c->dotfiles;
        s->request_timeout_usec = (uint64_t) c->connection_timeout_sec * 1000000u;
        s->root_fd = -1;
        s->root_fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        (void) mime_table_load(c->mime_types, &s->mime); /* missing file: octet-stream */
        if (!s->mime) {
                r = -ENOMEM;
                goto fail;
        }
        s->cache = filecache_new();
        if (!s->cache) {
                r = -ENOMEM;
                goto fail;
        }
        r = canned_build(s);
        if (r < 0)
                goto fail;
        if (!s->dotfiles) {
                char root_path[PATH_MAX];
                if (path_of_fd(s->root_fd, root_path, sizeof root_path) >= 0)
                        s->root_path = strdup(root_path);
                if (!s->root_path) /* no /proc: only the path asked for is checked */
                        log_warning("cannot tell where symlinks in %s lead: a symlink to a "
                                    "dotfile will be served",
                                    c->root);
        }

        /* connection-limit is per worker; MHD counts per daemon, and the
         * kernel spreads connections evenly over a worker's sockets */
        s->per_daemon_limit = (c->connection_limit + (unsigned) n_fds - 1) / (unsigned) n_fds;
        for (size_t i = 0; i < n_fds; i++) {
                /* MHD_USE_TURBO reads a new connection at once instead of a
                 * loop round later, adds it to epoll only once it would
                 * block, and closes without a shutdown() first: fewer
                 * syscalls per one-request connection (bench/README.md,
                 * "Syscalls per request"). */
                /* option, value pairs, one per line */
                /* clang-format off */
                s->daemons[i] = MHD_start_daemon(
                        MHD_USE_EPOLL | MHD_USE_TURBO, 0, NULL, NULL,
                        on_request, s,
                        MHD_OPTION_LISTEN_SOCKET, fds[i],
                        MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout_sec,
                        MHD_OPTION_CONNECTION_LIMIT, s->per_daemon_limit,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->connection_memory,
                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
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
        return mhd_daemon_full(d, s->stats.connections, s->per_daemon_limit);
}

/* Runs d until it has nothing more to do at once, and once more when the run
 * freed a slot at the connection limit (see mhd_daemon_full()). */
static void daemon_run(HttpServer *s, struct MHD_Daemon *d) {
        for (unsigned i = 0; i < RUN_AGAIN_MAX; i++) {
                bool was_full = daemon_full(s, d);
                MHD_UNSIGNED_LONG_LONG ms;

                MHD_run(d);
                mhd_uncork_pending(&s->uncork);
                if (was_full && !daemon_full(s, d)) {
                        if (i + 1 == RUN_AGAIN_MAX)
                                s->run_again = true; /* the next loop round does it */
                        continue;
                }
                if (MHD_get_timeout(d, &ms) != MHD_YES || ms != 0)
                        return;
        }
}

void http_server_run(HttpServer *s) {
        s->run_again = false;
        for (size_t i = 0; i < s->n_daemons; i++)
                daemon_run(s, s->daemons[i]);
}

void http_server_run_fd(HttpServer *s, int epoll_fd) {
        for (size_t i = 0; i < s->n_daemons; i++)
                if (s->epoll_fds[i] == epoll_fd) {
                        daemon_run(s, s->daemons[i]);
                        return;
                }
}

unsigned http_server_cut_stalled(HttpServer *s, uint64_t now) {
        unsigned cut = conn_cut_stalled(&s->conns, now, s->request_timeout_usec);

        s->stats.stalled_closed += cut;
        return cut;
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
        /* quiesce hands the listening fd back without closing it: siblings and
         * systemd keep sharing it. This worker's copy goes away when it exits. */
        for (size_t i = 0; i < s->n_daemons; i++)
                (void) MHD_quiesce_daemon(s->daemons[i]);
        conn_drain_idle(&s->conns);
}

bool http_server_draining(const HttpServer *s) {
        return s->draining;
}

HttpStats http_server_stats(const HttpServer *s) {
        return s->stats;
}

void http_server_free(HttpServer *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_daemons; i++)
                MHD_stop_daemon(s->daemons[i]);
        for (int closing = 0; closing < 2; closing++)
                for (int i = 0; i < _CANNED_MAX; i++)
                        if (s->canned[closing][i])
                                MHD_destroy_response(s->canned[closing][i]);
        filecache_free(s->cache);
        mime_table_free(s->mime);
        free(s->root_path);
        if (s->root_fd >= 0)
                close(s->root_fd);
        free(s);
}
