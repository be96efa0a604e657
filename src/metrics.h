/* Health and metrics: /healthz, and /metrics in Prometheus' text format,
 * rendered from a sample of counters that needs no server to test. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"

/* What /metrics reports for one worker. */
typedef struct MetricsSample {
        unsigned worker_id;
        uint64_t requests;
        uint64_t bytes_sent;
        uint32_t connections;
        bool draining;
        uint64_t stalled_closed; /* connections cut for a request that trickled in */
} MetricsSample;

/* Room enough for any sample's body. */
#define METRICS_BODY_MAX 1024

/* Writes the /metrics body for m into buf, NUL-terminated, and its length
 * without the NUL to *ret_len. -ENOBUFS when it does not fit in size bytes. */
int metrics_render(const MetricsSample *m, char *buf, size_t size, size_t *ret_len);

/* Answers /metrics with m. */
enum MHD_Result metrics_serve(const Request *rq, const MetricsSample *m);

/* Answers /healthz: 200 "ok", or 503 "draining" once the worker drains. */
enum MHD_Result metrics_serve_health(const Request *rq);
