/* Unit tests for metrics.c: the /metrics body, byte for byte, and its size limit. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static const MetricsSample sample = {
        .worker_id = 3,
        .requests = 12345,
        .bytes_sent = 9876543210,
        .connections = 7,
        .draining = false,
        .stalled_closed = 2,
};

/* What Prometheus scrapes today; a change here is a change for every dashboard. */
static const char sample_body[] = "# TYPE clusterd_worker_requests_total counter\n"
                                  "clusterd_worker_requests_total{worker=\"3\"} 12345\n"
                                  "# TYPE clusterd_worker_sent_bytes_total counter\n"
                                  "clusterd_worker_sent_bytes_total{worker=\"3\"} 9876543210\n"
                                  "# TYPE clusterd_worker_connections gauge\n"
                                  "clusterd_worker_connections{worker=\"3\"} 7\n"
                                  "# TYPE clusterd_worker_draining gauge\n"
                                  "clusterd_worker_draining{worker=\"3\"} 0\n"
                                  "# TYPE clusterd_worker_stalled_closed_total counter\n"
                                  "clusterd_worker_stalled_closed_total{worker=\"3\"} 2\n";

static void test_render_exact(void **state) {
        char buf[METRICS_BODY_MAX];
        size_t len = 0;

        assert_int_equal(metrics_render(&sample, buf, sizeof buf, &len), 0);
        assert_string_equal(buf, sample_body);
        assert_int_equal(len, sizeof sample_body - 1);
}

static void test_render_draining(void **state) {
        MetricsSample m = sample;
        char buf[METRICS_BODY_MAX];
        size_t len = 0;

        m.draining = true;
        assert_int_equal(metrics_render(&m, buf, sizeof buf, &len), 0);
        assert_non_null(strstr(buf, "\nclusterd_worker_draining{worker=\"3\"} 1\n"));
        assert_int_equal(len, strlen(buf));
}

/* The largest values of every field still fit in METRICS_BODY_MAX. */
static void test_render_largest(void **state) {
        const MetricsSample m = {
                .worker_id = UINT_MAX,
                .requests = UINT64_MAX,
                .bytes_sent = UINT64_MAX,
                .connections = UINT32_MAX,
                .draining = true,
                .stalled_closed = UINT64_MAX,
        };
        char buf[METRICS_BODY_MAX];
        size_t len = 0;

        assert_int_equal(metrics_render(&m, buf, sizeof buf, &len), 0);
        assert_int_equal(len, strlen(buf));
        assert_non_null(strstr(buf, "clusterd_worker_requests_total{worker=\"4294967295\"} "
                                    "18446744073709551615\n"));
        assert_non_null(strstr(buf, "clusterd_worker_connections{worker=\"4294967295\"} "
                                    "4294967295\n"));
}

/* A buffer one byte short of the body and its NUL is refused, not cut. */
static void test_render_too_small(void **state) {
        char buf[sizeof sample_body];
        size_t len = 12345;

        assert_int_equal(metrics_render(&sample, buf, sizeof buf - 1, &len), -ENOBUFS);
        assert_int_equal(len, 12345); /* untouched */
        assert_int_equal(metrics_render(&sample, buf, sizeof buf, &len), 0);
        assert_string_equal(buf, sample_body);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_exact),
                cmocka_unit_test(test_render_draining),
                cmocka_unit_test(test_render_largest),
                cmocka_unit_test(test_render_too_small),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
