/* Connection bookkeeping for one worker: every open connection, where its
 * request stands, and the cut of those whose request trickles in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accesslog.h"
#include "sentfile.h"

struct MHD_Connection;

/* What the connection's current request was and what it got, kept for the
 * access log from its request line to its end, then cleared. */
#define CONN_METHOD_MAX 32u
#define CONN_VERSION_MAX 16u
typedef struct ConnRequest {
        char *target; /* the request-target as sent (cut to a log line's room), or NULL */
        size_t target_len, target_size;
        char method[CONN_METHOD_MAX + 1]; /* "" until the handler saw the request */
        char version[CONN_VERSION_MAX + 1];
        bool head;
        /* clusterd queued the answer: then, and only then, are the
         * request's headers sure to be there at its end (an error answer of
         * MHD's own throws them away) */
        bool answered;
        unsigned raw_status; /* an answer written to the socket directly, or 0 */
        uint64_t body_bytes; /* of the answer */
} ConnRequest;

typedef struct Conn {
        struct MHD_Connection *mhd;
        bool uncork;    /* listed in an MhdUncork: see mhd-1.0.1.h */
        bool answering; /* its request was read whole: the answer is queued or going out */
        bool cut;       /* shut down by conn_cut_stalled() */
        /* HTTPS (mhd-tls.c): on a TLS socket; its handshake is done; and
         * counted as done or failed, in the scoreboard */
        bool tls, tls_handshaken, tls_counted;
        /* CLOCK_MONOTONIC usec: accepted, its last request ended, or the
         * request line of the next one came in */
        uint64_t waiting_since;
        ConnRequest rq;
        SentFile file;                   /* what its answer sends from a file, if anything */
        char remote[ACCESSLOG_ADDR_MAX]; /* the client's address as logged, "" until needed */
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
 * connection waits for its next request, briefly while draining. What was
 * noted of the request is cleared. */
void conn_request_done(Conn *conn, uint64_t now, bool draining);

/* For the access log; each takes NULL and does nothing. */

/* The request line came in: keeps a copy of its target, at most max bytes.
 * -ENOMEM leaves the target out of the log line. */
int conn_note_target(Conn *conn, const char *target, size_t max);

/* The handler sees the request for the first time. */
void conn_note_request(Conn *conn, const char *method, const char *version);

/* The handler queued an answer with body_bytes in its body. */
void conn_note_answered(Conn *conn, uint64_t body_bytes);

/* An answer written to the socket without MHD: its status and body. */
void conn_note_raw_answer(Conn *conn, unsigned status, uint64_t body_bytes);

/* The log line of the request ending on c, as of what was noted and what
 * MHD says: false when the request got no answer at all (the client left,
 * it never arrived whole), which has no line. The entry's strings point
 * into conn and into MHD's connection, valid until conn_request_done(). */
bool conn_log_entry(Conn *conn, struct MHD_Connection *c, AccessEntry *ret);

/* Shuts down the connections whose request has not arrived whole within
 * timeout_usec of the time they began waiting (see Conn.waiting_since).
 * Returns how many. */
unsigned conn_cut_stalled(ConnList *l, uint64_t now, uint64_t timeout_usec);

/* Gives every idle connection a short timeout, when the worker starts to drain. */
void conn_drain_idle(ConnList *l);
