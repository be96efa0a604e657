/* What every handler answers with: canned responses built once per worker,
 * and responses built for one request. While the worker drains, every
 * answer carries "Connection: close". */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhd-1.0.1.h"

/* The methods served, as 405 and OPTIONS name them. */
#define ANSWER_ALLOW "GET, HEAD, OPTIONS"

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
        CANNED_OPTIONS, /* 200, no body, Allow */
        _CANNED_MAX,
} Canned;

/* The canned responses twice over: as they are, and with "Connection: close"
 * for a worker that drains. */
typedef struct CannedSet {
        struct MHD_Response *r[2][_CANNED_MAX];
} CannedSet;

/* Fills a zeroed set. On failure what was built stays for answer_canned_free(). */
int answer_canned_build(CannedSet *set);
void answer_canned_free(CannedSet *set);

/* A request being answered, and what of its worker the answer needs. */
typedef struct Request {
        struct MHD_Connection *mhd;
        const CannedSet *canned;
        bool draining;       /* answers carry "Connection: close" */
        size_t pool_size;    /* connection-memory: see mhd_room_for_answer() */
        MhdUncork *uncork;   /* where fd answers list their connection */
        uint64_t body_bytes; /* set by the handler: the file bytes it queued */
        /* where a text answer (canned, a redirect, /metrics) puts the length
         * of its body, for the access log; may be NULL */
        uint64_t *text_bytes;
} Request;

/* Notes the body length of the text answer about to be queued. */
static inline void answer_note_text(const Request *rq, size_t len) {
        if (rq->text_bytes)
                *rq->text_bytes = len;
}

/* Queues a canned answer. */
enum MHD_Result answer_canned(const Request *rq, Canned which);

/* Queues a response built for this request alone and drops the reference to it. */
enum MHD_Result answer_once(const Request *rq, unsigned status, struct MHD_Response *r);
