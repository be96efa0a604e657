/* What libmicrohttpd 0.9.75 needs worked around: room in the connection's
 * pool, heavy request lines, a 304's Content-Length, TCP_CORK on files sent
 * in pieces, and the listening socket at the connection limit. */
#include "mhd-0.9.75.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conditional.h"

/* MHD 0.9.75 keeps a request's headers, and a record of each header, cookie
 * and query argument, in the connection's pool of connection-memory bytes,
 * and builds the answer's header in what is left. Headers that fit with too
 * little room to spare made it close the connection without a word: with the
 * 32 KiB default, a header value of 32,264 to 32,496 bytes got no answer at
 * all, while a longer one got MHD's own 431. */
#define MHD_VALUE_RECORD 64u /* one record, as the pool aligns it */
#define ANSWER_ROOM 1024u    /* room for any answer's header but a redirect's */

/* MHD 0.9.75 sends a file in pieces of this size and sets TCP_CORK on the
 * socket when a file takes more than one. See mhd_uncork_later(). */
#define MHD_SENDFILE_PIECE (128u * 1024u)

/* Whether the pool has room for the answer beside the request's headers. A
 * header line, cookie or argument takes at least two bytes, so small headers
 * need no counting: the hot path costs one call. */
bool mhd_room_for_answer(struct MHD_Connection *c, size_t pool_size, size_t extra) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        size_t answer = ANSWER_ROOM + extra;
        const char *cookie;
        size_t used;

        if (!ci)
                return true;
        used = ci->header_size;
        if (used * (2 + MHD_VALUE_RECORD / 2) + answer <= pool_size)
                return true;
        used += MHD_VALUE_RECORD *
                (size_t) MHD_get_connection_values(
                        c, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, NULL, NULL);
        cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
        if (cookie)
                used += strlen(cookie) + MHD_VALUE_RECORD; /* MHD's copy, rounded up */
        return used + answer <= pool_size;
}

/* An answer MHD has no room to build, written to the socket directly: a
 * status code and its reason, and `body` (NULL: none), which a HEAD answer
 * only announces. The socket is not waited for: should an earlier answer
 * still fill its send buffer (a client that pipelines and does not read),
 * this one is cut or lost, and the connection closes all the same. MHD
 * knows nothing of it, so it is noted for the access log here. */
static void send_raw_error(struct MHD_Connection *c, unsigned code, const char *status,
                           const char *body, bool head) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        char date[COND_DATE_MAX], buf[512];
        int n;

        if (!ci || cond_format_date(time(NULL), date, sizeof date) < 0)
                return;
        n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %s\r\n"
                     "Date: %s\r\n"
                     "Connection: close\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s",
                     status, date, body ? strlen(body) : 0, body && !head ? body : "");
        if (n > 0 && (size_t) n < sizeof buf)
                (void) send(ci->connect_fd, buf, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
        conn_note_raw_answer(conn_get(c), code, body && !head ? strlen(body) : 0);
}

enum MHD_Result mhd_refuse_headers_too_large(struct MHD_Connection *c, bool head) {
        send_raw_error(c, 431, "431 Request Header Fields Too Large",
                       "431 Request Header Fields Too Large\n", head);
        return MHD_NO; /* MHD closes the connection */
}

/* MHD 0.9.75 stores a record of each query argument at the end of the pool
 * as soon as the request line is in. When they do not fit, it neither
 * answers nor closes: 480 arguments ("?a0&a1&...") hung the connection until
 * its timeout. When they fit but take more than half the pool, headers that
 * follow could hang it the same way (150 arguments and a 6 KiB header, with
 * a 16 KiB pool). MHD hands the raw request line to the URI callback before
 * it stores anything, so one heavier than half the pool is answered with 414
 * there, and the socket shut down so that MHD closes the connection at its
 * next read. The method is not known there: the 414 has no body, which
 * suits GET and HEAD alike. */
bool mhd_refuse_heavy_uri(struct MHD_Connection *c, const char *uri, size_t pool_size) {
        const union MHD_ConnectionInfo *ci;
        size_t len = strlen(uri), args = 1, budget = pool_size / 2;
        const char *query;

        /* an argument takes at least two bytes ("a&") */
        if (len * (1 + MHD_VALUE_RECORD / 2) + ANSWER_ROOM <= budget)
                return false;
        query = strchr(uri, '?');
        if (query)
                for (const char *p = query + 1; *p; p++)
                        args += *p == '&';
        else
                args = 0;
        if (len + args * MHD_VALUE_RECORD + ANSWER_ROOM <= budget)
                return false;
        send_raw_error(c, 414, "414 URI Too Long", NULL, false);
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
                (void) shutdown(ci->connect_fd, SHUT_RDWR);
        return true;
}

static ssize_t read_nothing(void *cls, uint64_t pos, char *buf, size_t max) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* MHD 0.9.75 sends a 304 without its body but with Content-Length set to
 * the response's size, and RFC 9110 (8.6) allows only the 200's length
 * there; so the response has that size, and a reader MHD never calls.
 * (Content-Length: 0 could make an older cache truncate its copy. Clients
 * that wait for a 304's body anyway, as ab and wrk 4.1 do, stall on it:
 * RFC 9112 6.3 ends a 304 at its header, and curl, browsers and Python's
 * http.client do so.) */
struct MHD_Response *mhd_response_not_modified(uint64_t size) {
        return MHD_create_response_from_callback(size, 4096, read_nothing, NULL, NULL);
}

/* TCP_CORK holds back every partly filled segment until the cork comes off.
 * Over loopback, with 64 KiB segments, that made 1 MiB downloads slower and
 * their tail longer (figures in bench/README.md, "TCP_CORK and loopback").
 * MHD corks before the first piece of a file that takes several and then
 * believes the socket stays corked, so taking the cork off once, after the
 * run that sent the first piece, leaves the rest of the file uncorked. The
 * last piece is still pushed: MHD sets TCP_NODELAY after it. */
void mhd_uncork_later(MhdUncork *u, struct MHD_Connection *c, uint64_t size) {
        Conn *conn;

        if (size <= MHD_SENDFILE_PIECE || u->n >= MHD_UNCORK_MAX)
                return;
        conn = conn_get(c);
        if (!conn || conn->uncork)
                return;
        conn->uncork = true;
        u->conn[u->n++] = conn;
}

void mhd_uncork_pending(MhdUncork *u) {
        static const int off = 0;

        for (size_t i = 0; i < u->n; i++) {
                Conn *conn = u->conn[i];
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
                if (ci)
                        (void) setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
                conn->uncork = false;
        }
        u->n = 0;
}

void mhd_uncork_forget(MhdUncork *u, Conn *conn) {
        if (!conn->uncork)
                return;
        for (size_t i = 0; i < u->n; i++)
                if (u->conn[i] == conn) {
                        u->conn[i] = u->conn[--u->n];
                        return;
                }
}

/* At its connection limit MHD takes the listening socket out of its epoll
 * set, and puts it back only at the start of a run. When a connection
 * closes during a run that began at the limit, nothing would wake the
 * worker for the connections waiting in the backlog until some other
 * event came, so such a run is followed by another. */
bool mhd_daemon_full(struct MHD_Daemon *d, unsigned connections, unsigned limit) {
        /* no daemon is full while the whole worker holds fewer connections
         * than one daemon's share: spares MHD's lookup, which takes a lock,
         * on every run in the common case */
        if (connections < limit)
                return false;
        const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        return info && info->num_connections >= limit;
}
