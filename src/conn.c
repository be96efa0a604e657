/* The list of a worker's open connections, kept from MHD's connection and
 * request callbacks, and the stall cut and drain that walk it. */
#include "conn.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <sys/socket.h>

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

void conn_request_done(Conn *conn, uint64_t now, bool draining) {
        if (!conn)
                return;
        conn->answering = false;
        conn->waiting_since = now;
        /* while draining, an idle connection should not linger */
        if (draining)
                MHD_set_connection_option(conn->mhd, MHD_CONNECTION_OPTION_TIMEOUT,
                                          DRAIN_IDLE_TIMEOUT);
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
