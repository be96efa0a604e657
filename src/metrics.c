/* The answers to /healthz and /metrics. /metrics shows the counters of the
 * worker that answers it, each series labelled with its worker id. */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>

int metrics_render(const MetricsSample *m, char *buf, size_t size, size_t *ret_len) {
        int n = snprintf(buf, size,
                         "# TYPE clusterd_worker_requests_total counter\n"
                         "clusterd_worker_requests_total{worker=\"%u\"} %llu\n"
                         "# TYPE clusterd_worker_sent_bytes_total counter\n"
                         "clusterd_worker_sent_bytes_total{worker=\"%u\"} %llu\n"
                         "# TYPE clusterd_worker_connections gauge\n"
                         "clusterd_worker_connections{worker=\"%u\"} %u\n"
                         "# TYPE clusterd_worker_draining gauge\n"
                         "clusterd_worker_draining{worker=\"%u\"} %d\n"
                         "# TYPE clusterd_worker_stalled_closed_total counter\n"
                         "clusterd_worker_stalled_closed_total{worker=\"%u\"} %llu\n",
                         m->worker_id, (unsigned long long) m->requests, m->worker_id,
                         (unsigned long long) m->bytes_sent, m->worker_id, m->connections,
                         m->worker_id, m->draining, m->worker_id,
                         (unsigned long long) m->stalled_closed);

        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= size)
                return -ENOBUFS;
        *ret_len = (size_t) n;
        return 0;
}

enum MHD_Result metrics_serve(const Request *rq, const MetricsSample *m) {
        char body[METRICS_BODY_MAX];
        struct MHD_Response *r;
        size_t len;

        if (metrics_render(m, body, sizeof body, &len) < 0)
                return MHD_NO;
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        return answer_once(rq, MHD_HTTP_OK, r);
}

enum MHD_Result metrics_serve_health(const Request *rq) {
        return answer_canned(rq, rq->draining ? CANNED_HEALTH_DRAINING : CANNED_HEALTH_OK);
}
