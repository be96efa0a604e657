/* The 301 that sends "/docs" to "/docs/", with the query kept. */
#include "redirect.h"

#include <string.h>

#include "mhd-1.0.1.h"
#include "path.h"
#include "uri.h"

/* Room for the query string kept by a directory redirect. */
#define LOCATION_QUERY_MAX 2048

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

/* "/docs" names a directory: send the client to "/docs/" so relative links
 * work, keeping the query. The path is the sanitized one, never the raw URL:
 * "//host" must not become a Location pointing at another host. MHD hands
 * the query over decoded, so it is encoded again; a query too long for the
 * header is dropped rather than cut. */
enum MHD_Result redirect_to_directory(const Request *rq, const char *rel, bool with_body) {
        static const char body[] = "301 Moved Permanently\n";
        char location[3 * PATH_REQUEST_MAX + 2 + LOCATION_QUERY_MAX];
        QueryBuilder q = { .buf = location, .size = sizeof location, .first = true };
        struct MHD_Response *r;

        if (uri_append(location, sizeof location, &q.len, "/") < 0 ||
            (strcmp(rel, ".") != 0 &&
             (uri_append_encoded(location, sizeof location, &q.len, rel, true) < 0 ||
              uri_append(location, sizeof location, &q.len, "/") < 0)))
                return answer_canned(rq, CANNED_URI_TOO_LONG);
        size_t path_len = q.len;
        (void) MHD_get_connection_values(rq->mhd, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
        if (q.r < 0)
                location[path_len] = '\0';
        if (!mhd_room_for_answer(rq->mhd, rq->pool_size, strlen(location)))
                return mhd_refuse_headers_too_large(rq->mhd, !with_body);

        r = MHD_create_response_from_buffer(sizeof body - 1, (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        answer_note_text(rq, sizeof body - 1);
        return answer_once(rq, MHD_HTTP_MOVED_PERMANENTLY, r);
}
