/* The list of a worker's open connections, kept from MHD's connection and
 * request callbacks, and the stall cut and drain that walk it. */
#include "conn.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "accesslog.h"

/* The idle timeout, in seconds, of a connection while the worker drains */
#define DRAIN_IDLE_TIMEOUT 1u

int conn_add(ConnList *l, struct MHD_Connection *c, uint64_t now, bool draining, Conn **ret) {
        Conn *conn = calloc(1, sizeof *conn);

        if (!conn)
                return -ENOMEM;
        conn->mhd = c;
        conn->waiting_since = now;
        conn->next = l->head;
        if (l->head)
                l->head->prev = conn;
        l->head = conn;
        if (draining)
                MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, DRAIN_IDLE_TIMEOUT);
        *ret = conn;
        return 0;
}

void conn_remove(ConnList *l, Conn *conn) {
        if (conn->prev)
                conn->prev->next = conn->next;
        else
                l->head = conn->next;
        if (conn->next)
                conn->next->prev = conn->prev;
        free(conn->rq.target);
        free(conn);
}

Conn *conn_get(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci ? ci->socket_context : NULL;
}

void conn_request_started(Conn *conn, uint64_t now) {
        if (conn)
                conn->waiting_since = now;
}

void conn_answering(Conn *conn) {
        if (conn)
                conn->answering = true;
}

/* Cleared for the next request, keeping the target's buffer. */
static void request_clear(ConnRequest *rq) {
        *rq = (ConnRequest) { .target = rq->target, .target_size = rq->target_size };
}

void conn_request_done(Conn *conn, uint64_t now, bool draining) {
        if (!conn)
                return;
        request_clear(&conn->rq);
        conn->answering = false;
        conn->waiting_since = now;
        /* while draining, an idle connection should not linger */
        if (draining)
                MHD_set_connection_option(conn->mhd, MHD_CONNECTION_OPTION_TIMEOUT,
                                          DRAIN_IDLE_TIMEOUT);
}

int conn_note_target(Conn *conn, const char *target, size_t max) {
        ConnRequest *rq;
        size_t n;

        if (!conn)
                return 0;
        rq = &conn->rq;
        n = strnlen(target, max);
        if (n + 1 > rq->target_size) {
                char *p = realloc(rq->target, n + 1);
                if (!p) {
                        rq->target_len = 0;
                        return -ENOMEM;
                }
                rq->target = p;
                rq->target_size = n + 1;
        }
        memcpy(rq->target, target, n);
        rq->target_len = n;
        return 0;
}

/* Copies at most max bytes of s into buf[max + 1]. */
static void copy_cut(char *buf, const char *s, size_t max) {
        size_t n = s ? strnlen(s, max) : 0;

        if (n)
                memcpy(buf, s, n);
        buf[n] = '\0';
}

void conn_note_request(Conn *conn, const char *method, const char *version) {
        if (!conn)
                return;
        copy_cut(conn->rq.method, method, CONN_METHOD_MAX);
        copy_cut(conn->rq.version, version, CONN_VERSION_MAX);
        conn->rq.head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

void conn_note_answered(Conn *conn, uint64_t body_bytes) {
        if (!conn)
                return;
        conn->rq.answered = true;
        conn->rq.body_bytes = conn->rq.head ? 0 : body_bytes;
}

void conn_note_raw_answer(Conn *conn, unsigned status, uint64_t body_bytes) {
        if (!conn)
                return;
        conn->rq.raw_status = status;
        conn->rq.body_bytes = body_bytes;
}

static const char *header(struct MHD_Connection *c, const char *name, size_t len) {
        const char *v = NULL;
        size_t n;

        return MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, name, len, &v, &n) == MHD_YES
                       ? v
                       : NULL;
}

bool conn_log_entry(Conn *conn, struct MHD_Connection *c, AccessEntry *ret) {
        const ConnRequest *rq = &conn->rq;
        const union MHD_ConnectionInfo *ci;
        bool headers;

        *ret = (AccessEntry) {
                .target = rq->target,
                .target_len = rq->target ? rq->target_len : 0,
                .method = rq->method[0] ? rq->method : NULL,
                .version = rq->version[0] ? rq->version : NULL,
                .remote = conn->remote,
        };
        if (rq->raw_status) {
                ret->status = rq->raw_status;
                ret->bytes_known = true;
                ret->bytes = rq->body_bytes;
                /* written on the first call at the latest, or at the request
                 * line (method unknown), never after an error of MHD's */
                headers = rq->method[0];
        } else {
                ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
                if (!ci)
                        return false; /* no answer */
                ret->status = ci->http_status;
                /* unless clusterd answered, MHD did, with a body of its own */
                ret->bytes_known = rq->answered;
                ret->bytes = rq->body_bytes;
                headers = rq->answered;
        }
        if (headers) {
                ret->referer = header(c, MHD_HTTP_HEADER_REFERER, strlen(MHD_HTTP_HEADER_REFERER));
                ret->user_agent =
                        header(c, MHD_HTTP_HEADER_USER_AGENT, strlen(MHD_HTTP_HEADER_USER_AGENT));
        }
        if (!conn->remote[0]) {
                ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
                accesslog_format_addr(ci ? ci->client_addr : NULL, conn->remote);
        }
        return true;
}

/* MHD's connection timeout counts from the last byte received, so a client
 * that sends a request a byte at a time ("slowloris") would hold its
 * connection for ever. One whose request has not arrived whole in time is
 * cut: the socket is shut down, and MHD closes the connection when it sees
 * that. A request being answered is never cut. */
unsigned conn_cut_stalled(ConnList *l, uint64_t now, uint64_t timeout_usec) {
        unsigned cut = 0;

        for (Conn *conn = l->head; conn; conn = conn->next) {
                if (conn->answering || conn->cut || now - conn->waiting_since < timeout_usec)
                        continue;
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
                if (ci && shutdown(ci->connect_fd, SHUT_RDWR) == 0) {
                        conn->cut = true;
                        cut++;
                }
        }
        return cut;
}

void conn_drain_idle(ConnList *l) {
        for (Conn *c = l->head; c; c = c->next)
                if (!c->answering)
                        MHD_set_connection_option(c->mhd, MHD_CONNECTION_OPTION_TIMEOUT,
                                                  DRAIN_IDLE_TIMEOUT);
}
