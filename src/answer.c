/* Canned answers, built once per worker and shared by every connection, and
 * the queuing of answers built for one request. */
#include "answer.h"

#include <errno.h>
#include <string.h>

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
        [CANNED_OPTIONS] = { MHD_HTTP_OK, "" },
};

int answer_canned_build(CannedSet *set) {
        for (int closing = 0; closing < 2; closing++)
                for (int i = 0; i < _CANNED_MAX; i++) {
                        const char *body = canned_table[i].body;
                        struct MHD_Response *r = MHD_create_response_from_buffer(
                                strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
                        if (!r)
                                return -ENOMEM;
                        if (*body)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                        "text/plain; charset=utf-8");
                        if (i == CANNED_NOT_ALLOWED || i == CANNED_OPTIONS)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, ANSWER_ALLOW);
                        if (i == CANNED_HEALTH_OK || i == CANNED_HEALTH_DRAINING)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                                        "no-store");
                        if (closing)
                                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
                        set->r[closing][i] = r;
                }
        return 0;
}

void answer_canned_free(CannedSet *set) {
        for (int closing = 0; closing < 2; closing++)
                for (int i = 0; i < _CANNED_MAX; i++)
                        if (set->r[closing][i])
                                MHD_destroy_response(set->r[closing][i]);
}

enum MHD_Result answer_canned(const Request *rq, Canned which) {
        answer_note_text(rq, strlen(canned_table[which].body));
        return MHD_queue_response(rq->mhd, canned_table[which].status,
                                  rq->canned->r[rq->draining][which]);
}

enum MHD_Result answer_once(const Request *rq, unsigned status, struct MHD_Response *r) {
        enum MHD_Result ret;

        if (rq->draining)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = MHD_queue_response(rq->mhd, status, r);
        MHD_destroy_response(r);
        return ret;
}
