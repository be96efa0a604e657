/* Unit tests for metrics.c: the /metrics body rendered from a scoreboard
 * snapshot: every worker id's series, the totals, the manager's figures,
 * and counters that go on across a worker id's processes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static char *render(const ScoreSnapshot *snap) {
        char *body = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&body, &len);

        assert_non_null(f);
        assert_int_equal(metrics_render(snap, f), 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(strlen(body), len);
        return body;
}

static void assert_line(const char *body, const char *line) {
        char want[256];

        snprintf(want, sizeof want, "\n%s\n", line);
        if (!strstr(body, want))
                fail_msg("no line '%s' in:\n%s", line, body);
}

static void assert_no_line_with(const char *body, const char *part) {
        if (strstr(body, part))
                fail_msg("'%s' should not be in:\n%s", part, body);
}

static ScoreSnapshot *two_workers(void) {
        ScoreSnapshot *s = calloc(1, sizeof *s);

        assert_non_null(s);
        s->manager = (ScoreManager) {
                .restarts = 4,
                .reloads = 2,
                .reloads_failed = 1,
                .workers_wanted = 2,
                .workers_serving = 2,
        };
        /* worker 1: one process, never replaced */
        s->live[0] = (ScoreCounters) {
                .requests = 100, .bytes_sent = 5000, .connections = 3, .tls_handshakes = 40
        };
        s->live_processes[0] = 1;
        /* worker 2: three processes before this one, which drains beside
         * its replacement */
        s->retired[1] = (ScoreRetired) { .requests = 900,
                                         .bytes_sent = 1,
                                         .restarts = 4,
                                         .stalled_closed = 2,
                                         .accept_failed = 7,
                                         .tls_handshakes = 60,
                                         .tls_handshakes_failed = 5,
                                         .access_log_errors = 30 };
        s->live[1] = (ScoreCounters) {
                .requests = 11, .connections = 1, .draining = 1, .access_log_errors = 2
        };
        s->live_processes[1] = 2;
        return s;
}

static void test_every_worker_and_the_totals(void **state) {
        ScoreSnapshot *s = two_workers();
        char *body = render(s);

        assert_true(strncmp(body, "# HELP clusterd_worker_requests_total ", 38) == 0);
        assert_line(body, "# TYPE clusterd_worker_requests_total counter");
        assert_line(body, "clusterd_worker_requests_total{worker=\"1\"} 100");
        assert_line(body, "clusterd_worker_requests_total{worker=\"2\"} 911");
        assert_line(body, "clusterd_requests_total 1011");
        assert_line(body, "clusterd_worker_sent_bytes_total{worker=\"2\"} 1");
        assert_line(body, "clusterd_sent_bytes_total 5001");
        assert_line(body, "clusterd_worker_connections{worker=\"1\"} 3");
        assert_line(body, "clusterd_connections 4");
        assert_line(body, "clusterd_worker_draining{worker=\"1\"} 0");
        assert_line(body, "clusterd_worker_draining{worker=\"2\"} 1");
        assert_line(body, "clusterd_worker_stalled_closed_total{worker=\"2\"} 2");
        assert_line(body, "clusterd_worker_accept_failed_total{worker=\"2\"} 7");
        assert_line(body, "clusterd_accept_failed_total 7");
        assert_line(body, "# TYPE clusterd_worker_tls_handshakes_total counter");
        assert_line(body, "clusterd_worker_tls_handshakes_total{worker=\"1\"} 40");
        assert_line(body, "clusterd_worker_tls_handshakes_total{worker=\"2\"} 60");
        assert_line(body, "clusterd_tls_handshakes_total 100");
        assert_line(body, "clusterd_worker_tls_handshakes_failed_total{worker=\"2\"} 5");
        assert_line(body, "clusterd_tls_handshakes_failed_total 5");
        assert_line(body, "# TYPE clusterd_worker_access_log_errors_total counter");
        assert_line(body, "clusterd_worker_access_log_errors_total{worker=\"1\"} 0");
        assert_line(body, "clusterd_worker_access_log_errors_total{worker=\"2\"} 32");
        assert_line(body, "clusterd_access_log_errors_total 32");
        assert_line(body, "clusterd_worker_restarts_total{worker=\"2\"} 4");
        assert_line(body, "clusterd_restarts_total 4");
        assert_line(body, "clusterd_worker_processes{worker=\"2\"} 2");
        assert_line(body, "clusterd_reloads_total 2");
        assert_line(body, "clusterd_reloads_failed_total 1");
        assert_line(body, "clusterd_workers_wanted 2");
        assert_line(body, "clusterd_workers_serving 2");
        assert_no_line_with(body, "worker=\"3\"");
        assert_no_line_with(body, "clusterd_draining ");
        free(body);
        free(s);
}

/* A worker id scaled away keeps its series: Prometheus would read a
 * counter that vanished and came back as a reset. Lost access log lines
 * alone are enough to keep one. */
static void test_id_scaled_away_keeps_its_counters(void **state) {
        ScoreSnapshot *s = two_workers();
        char *body;

        s->retired[1].requests += s->live[1].requests;
        s->live[1] = (ScoreCounters) {};
        s->live_processes[1] = 0;
        body = render(s);
        assert_line(body, "clusterd_worker_requests_total{worker=\"2\"} 911");
        assert_line(body, "clusterd_worker_processes{worker=\"2\"} 0");
        assert_line(body, "clusterd_requests_total 1011");
        free(body);
        s->retired[1] = (ScoreRetired) { .access_log_errors = 1 };
        body = render(s);
        assert_line(body, "clusterd_worker_access_log_errors_total{worker=\"2\"} 1");
        free(body);
        free(s);
}

static void test_largest_values(void **state) {
        ScoreSnapshot *s = calloc(1, sizeof *s);
        char *body;

        assert_non_null(s);
        s->live[CONFIG_MAX_WORKERS - 1].requests = UINT64_MAX;
        s->live_processes[CONFIG_MAX_WORKERS - 1] = 1;
        body = render(s);
        assert_line(body, "clusterd_worker_requests_total{worker=\"256\"} 18446744073709551615");
        free(body);
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_worker_and_the_totals),
                cmocka_unit_test(test_id_scaled_away_keeps_its_counters),
                cmocka_unit_test(test_largest_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
