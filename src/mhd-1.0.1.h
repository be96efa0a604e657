/* Workarounds for libmicrohttpd 1.0.1 (the bundled one, and Debian 13's),
 * all in one place: each says what of that version it works around, so that
 * a move to another version can keep or drop it here. Each was also needed
 * with 0.9.75, and each was checked again on 1.0.1 by taking it out: see
 * the comment at each. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* The second-call rule. MHD 1.0.1 (as 0.9.75 did) sends "Connection: close"
 * with any response queued on the handler's first call for a request (its
 * context still NULL): MHD_queue_response() then sets discard_request, so
 * that no more of the connection is read. Without the rule, two pipelined
 * GETs got one answer and a close. That costs keep-alive clients a new
 * connection per request.
 * So the first call only looks at the request and marks it; the answer is
 * queued on the second. */
static inline bool mhd_first_call(void *const *req_cls) {
        return !*req_cls;
}

/* Marks the request so that the next call queues; marker is anything but NULL. */
static inline void mhd_await_second_call(void **req_cls, void *marker) {
        *req_cls = marker;
}

/* Whether the connection's pool of pool_size bytes (connection-memory)
 * still has room for an answer's header, with extra bytes beside what any
 * answer but a redirect needs. */
bool mhd_room_for_answer(struct MHD_Connection *c, size_t pool_size, size_t extra);

/* Answers 431 on the socket itself, for a request mhd_room_for_answer()
 * refused, and returns MHD_NO so that MHD closes the connection. head: a
 * HEAD request, whose answer only announces its body. */
enum MHD_Result mhd_refuse_headers_too_large(struct MHD_Connection *c, bool head);

/* A 304 response for a file of size bytes, whose Content-Length MHD takes
 * from it. NULL on ENOMEM. */
struct MHD_Response *mhd_response_not_modified(uint64_t size);

/* Connections whose TCP_CORK comes off after the current run. */
#define MHD_UNCORK_MAX 64
typedef struct MhdUncork {
        Conn *conn[MHD_UNCORK_MAX];
        size_t n;
} MhdUncork;

/* Lists c for uncorking if an fd answer of size bytes will be corked. */
void mhd_uncork_later(MhdUncork *u, struct MHD_Connection *c, uint64_t size);

/* Uncorks what the run just over listed; call after every MHD_run(). */
void mhd_uncork_pending(MhdUncork *u);

/* Unlists a connection that closes before its turn came, if it is listed. */
void mhd_uncork_forget(MhdUncork *u, Conn *conn);

/* Whether daemon d holds its share of connections (limit), with the worker
 * holding connections in all. A run that began full and ends with a slot
 * free must be followed by another. */
bool mhd_daemon_full(struct MHD_Daemon *d, unsigned connections, unsigned limit);
