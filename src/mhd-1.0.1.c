/* What libmicrohttpd 1.0.1 needs worked around: room in the connection's
 * pool, a 304's Content-Length, TCP_CORK on files sent in pieces, and the
 * listening socket at the connection limit. 0.9.75 needed each of them too,
 * and one more that 1.0.1 no longer does: a request line whose query
 * arguments filled the pool hung the connection, where 1.0.1 answers 431. */
#include "mhd-1.0.1.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conditional.h"

/* MHD keeps a request's headers, and a record of each header, cookie and
 * query argument, in the connection's pool of connection-memory bytes, and
 * builds the answer's header in what is left. Headers that fit with too
 * little room to spare make it close the connection without a word: with
 * 0.9.75 and the 32 KiB default, a header value of 32,264 to 32,496 bytes
 * got no answer at all, while a longer one got MHD's own 431. 1.0.1 does the
 * same (tests/integration/big-requests.sh fails without this check). */
#define MHD_VALUE_RECORD 64u /* one record, as the pool aligns it */
#define ANSWER_ROOM 1024u    /* room for any answer's header but a redirect's */

/* MHD sends a file in pieces of this size and sets TCP_CORK on the socket
 * when a file takes more than one (1.0.1: MHD_SENFILE_CHUNK_ in mhd_send.c,
 * as in 0.9.75). See mhd_uncork_later(). */
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

static ssize_t read_nothing(void *cls, uint64_t pos, char *buf, size_t max) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* MHD sends a 304 without its body but with Content-Length set to the
 * response's size (0.9.75, and 1.0.1 as its MHD_queue_response() documents;
 * an empty response got "Content-Length: 0" there), and RFC 9110 (8.6) allows only the 200's length
 * there; so the response has that size, and a reader MHD never calls.
 * (Content-Length: 0 could make an older cache truncate its copy. Clients
 * that wait for a 304's body anyway, as ab and wrk 4.1 do, stall on it:
 * RFC 9112 6.3 ends a 304 at its header, and curl, browsers and Python's
 * http.client do so.) */
struct MHD_Response *mhd_response_not_modified(uint64_t size) {
        return MHD_create_response_from_callback(size, 4096, read_nothing, NULL, NULL);
}

/* TCP_CORK holds back every partly filled segment until the cork comes off.
 * (1.0.1, traced: TCP_CORK set before the first piece of a 1 MiB file, and
 * only TCP_NODELAY after the last, as 0.9.75 did.)
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
 * set, and puts it back only at the start of a run (1.0.1's
 * MHD_epoll() as 0.9.75's; tests/integration/connection-limit.sh fails
 * without this). When a connection
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
