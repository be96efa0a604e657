/* Connection bookkeeping for one worker: every open connection, where its
 * request stands, and the cut of those whose request trickles in. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct MHD_Connection;

typedef struct Conn {
        struct MHD_Connection *mhd;
        bool uncork;    /* listed in an MhdUncork: see mhd-0.9.75.h */
        bool answering; /* its request was read whole: the answer is queued or going out */
        bool cut;       /* shut down by conn_cut_stalled() */
        /* HTTPS (mhd-tls.c): on a TLS socket; its handshake is done; and
         * counted as done or failed, in the scoreboard */
        bool tls, tls_handshaken, tls_counted;
        /* CLOCK_MONOTONIC usec: accepted, its last request ended, or the
         * request line of the next one came in */
        uint64_t waiting_since;
        struct Conn *prev, *next;
} Conn;

typedef struct ConnList {
        Conn *head;
} ConnList;

/* Lists a connection MHD just accepted, as of now, and hands the new Conn
 * back for MHD to keep as the socket context. While draining it gets a
 * short idle timeout at once. */
int conn_add(ConnList *l, struct MHD_Connection *c, uint64_t now, bool draining, Conn **ret);

/* Unlists and frees conn, as MHD closes it. */
void conn_remove(ConnList *l, Conn *conn);

/* The Conn kept as c's socket context; NULL when there was no memory for one. */
Conn *conn_get(struct MHD_Connection *c);

/* The three below take NULL, a connection without a Conn, and do nothing. */

/* The next request's line came in: the rest of it gets a full timeout. */
void conn_request_started(Conn *conn, uint64_t now);

/* The request was read whole: from now on the stall cut leaves it alone. */
void conn_answering(Conn *conn);

/* The answer went out (or the request was dropped), as of now: the
 * connection waits for its next request, briefly while draining. */
void conn_request_done(Conn *conn, uint64_t now, bool draining);

/* Shuts down the connections whose request has not arrived whole within
 * timeout_usec of the time they began waiting (see Conn.waiting_since).
 * Returns how many. */
unsigned conn_cut_stalled(ConnList *l, uint64_t now, uint64_t timeout_usec);

/* Gives every idle connection a short timeout, when the worker starts to drain. */
void conn_drain_idle(ConnList *l);
