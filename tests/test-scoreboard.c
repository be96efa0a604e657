/* Unit tests for scoreboard.c: counters written in one process are read in
 * another, and what a worker process served moves to its id's retired
 * totals when it is retired, so that no total ever goes backwards. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scoreboard.h"

static void test_counts_cross_a_fork(void **state) {
        Scoreboard *sb;
        unsigned index;
        ScoreCounters c;
        unsigned id;
        pid_t pid;
        int status;

        assert_int_equal(scoreboard_new(&sb), 0);
        assert_int_equal(scoreboard_claim(sb, 2, &index), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                ScoreCounters *mine = scoreboard_counters(sb, index);
                for (int i = 0; i < 1000; i++)
                        score_add(&mine->requests, 1);
                score_add(&mine->bytes_sent, 12345);
                score_add(&mine->access_log_errors, 3);
                score_set32(&mine->connections, 7);
                _exit(0);
        }
        scoreboard_set_pid(sb, index, pid);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(scoreboard_read_entry(sb, index, &c, &id, &pid));
        assert_int_equal(id, 2);
        assert_int_equal(c.requests, 1000);
        assert_int_equal(c.bytes_sent, 12345);
        assert_int_equal(c.access_log_errors, 3);
        assert_int_equal(c.connections, 7);
        scoreboard_free(sb);
}

static void test_retired_totals_never_go_back(void **state) {
        ScoreSnapshot *snap = calloc(1, sizeof *snap);
        ScoreCounters total, final;
        Scoreboard *sb;
        unsigned a, b;

        assert_non_null(snap);
        assert_int_equal(scoreboard_new(&sb), 0);
        assert_int_equal(scoreboard_claim(sb, 1, &a), 0);
        assert_int_equal(scoreboard_claim(sb, 1, &b), 0);
        assert_int_not_equal(a, b);
        score_add(&scoreboard_counters(sb, a)->requests, 10);
        score_add(&scoreboard_counters(sb, b)->requests, 5);
        score_add(&scoreboard_counters(sb, a)->access_log_errors, 4);
        scoreboard_snapshot(sb, snap);
        assert_int_equal(snap->live[0].requests, 15);
        assert_int_equal(snap->live_processes[0], 2);
        assert_int_equal(snap->retired[0].requests, 0);

        scoreboard_retire(sb, a, &final);
        assert_int_equal(final.requests, 10);
        scoreboard_snapshot(sb, snap);
        assert_int_equal(snap->live[0].requests + snap->retired[0].requests, 15);
        assert_int_equal(snap->live_processes[0], 1);
        scoreboard_total(sb, &total);
        assert_int_equal(total.requests, 15);
        assert_int_equal(snap->retired[0].access_log_errors, 4);
        assert_int_equal(total.access_log_errors, 4);

        /* the freed entry is handed out again, zeroed */
        assert_int_equal(scoreboard_claim(sb, 1, &a), 0);
        assert_int_equal(scoreboard_counters(sb, a)->requests, 0);
        scoreboard_total(sb, &total);
        assert_int_equal(total.requests, 15);
        /* retiring twice counts once */
        scoreboard_retire(sb, b, NULL);
        scoreboard_retire(sb, b, NULL);
        scoreboard_total(sb, &total);
        assert_int_equal(total.requests, 15);
        scoreboard_count_restart(sb, 1);
        scoreboard_snapshot(sb, snap);
        assert_int_equal(snap->retired[0].restarts, 1);
        scoreboard_free(sb);
        free(snap);
}

/* The TLS handshake counters go the same way as the others: live, then
 * retired, and summed in the totals. */
static void test_tls_counters_retire(void **state) {
        ScoreSnapshot *snap = calloc(1, sizeof *snap);
        ScoreCounters total, final;
        Scoreboard *sb;
        unsigned a, b;

        assert_non_null(snap);
        assert_int_equal(scoreboard_new(&sb), 0);
        assert_int_equal(scoreboard_claim(sb, 3, &a), 0);
        assert_int_equal(scoreboard_claim(sb, 3, &b), 0);
        score_add(&scoreboard_counters(sb, a)->tls_handshakes, 7);
        score_add(&scoreboard_counters(sb, a)->tls_handshakes_failed, 2);
        score_add(&scoreboard_counters(sb, b)->tls_handshakes, 1);
        scoreboard_snapshot(sb, snap);
        assert_int_equal(snap->live[2].tls_handshakes, 8);
        assert_int_equal(snap->live[2].tls_handshakes_failed, 2);
        scoreboard_retire(sb, a, &final);
        assert_int_equal(final.tls_handshakes, 7);
        assert_int_equal(final.tls_handshakes_failed, 2);
        scoreboard_snapshot(sb, snap);
        assert_int_equal(snap->retired[2].tls_handshakes, 7);
        assert_int_equal(snap->retired[2].tls_handshakes_failed, 2);
        assert_int_equal(snap->live[2].tls_handshakes, 1);
        scoreboard_total(sb, &total);
        assert_int_equal(total.tls_handshakes, 8);
        assert_int_equal(total.tls_handshakes_failed, 2);
        scoreboard_free(sb);
        free(snap);
}

static void test_full_and_bad_ids(void **state) {
        Scoreboard *sb;
        unsigned index;

        assert_int_equal(scoreboard_new(&sb), 0);
        assert_int_equal(scoreboard_claim(sb, 0, &index), -EINVAL);
        assert_int_equal(scoreboard_claim(sb, CONFIG_MAX_WORKERS + 1, &index), -EINVAL);
        for (unsigned i = 0; i < SCOREBOARD_ENTRIES; i++)
                assert_int_equal(scoreboard_claim(sb, 1 + i % CONFIG_MAX_WORKERS, &index), 0);
        assert_int_equal(scoreboard_claim(sb, 1, &index), -ENOSPC);
        assert_null(scoreboard_counters(sb, SCOREBOARD_ENTRIES));
        scoreboard_retire(sb, SCOREBOARD_ENTRIES, NULL); /* ignored */
        scoreboard_free(sb);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_counts_cross_a_fork),
                cmocka_unit_test(test_retired_totals_never_go_back),
                cmocka_unit_test(test_tls_counters_retire),
                cmocka_unit_test(test_full_and_bad_ids),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
