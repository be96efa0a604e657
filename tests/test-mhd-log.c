/* Unit tests for mhd-log.c: libmicrohttpd's messages about failed accepts
 * counted, and logged at most once per interval with their count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "macro.h"
#include "mhd-log.h"

/* The messages libmicrohttpd 1.0.1 logs for one accept() out of fds: the
 * error, then one of two that begin alike (their ends shortened here). */
#define ERROR_FMT "Error accepting connection: %s\n"
#define LIMIT_FMT "Hit process or system resource limit at %u connections, ...\n"
#define FIRST_FMT "Hit process or system resource limit at FIRST connection. ...\n"

static void note(MhdLog *l, uint64_t now, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        mhd_log_note(l, now, fmt, ap);
        va_end(ap);
}

/* One failed accept at now, as libmicrohttpd reports it. */
static void failed_accept(MhdLog *l, uint64_t now) {
        note(l, now, ERROR_FMT, "Too many open files");
        note(l, now, LIMIT_FMT, 54u);
}

static void test_counts_each_failed_accept(void **state) {
        uint64_t counter = 0;
        MhdLog l;

        mhd_log_init(&l, &counter);
        failed_accept(&l, 5 * USEC_PER_SEC);
        assert_int_equal(counter, 1);
        note(&l, 5 * USEC_PER_SEC, FIRST_FMT);
        assert_int_equal(counter, 2);
        assert_string_equal(l.error, "Too many open files");
}

static void test_other_messages_not_counted(void **state) {
        uint64_t counter = 0;
        MhdLog l;

        mhd_log_init(&l, &counter);
        note(&l, 1, ERROR_FMT, "Connection reset by peer");
        note(&l, 1, "Server reached connection limit. Closing inbound connection.\n");
        note(&l, 1, "Failed to send data in request for `%s'.\n", "/x");
        assert_int_equal(counter, 0);
        assert_int_equal(l.pending, 0);
        assert_int_equal(l.last_logged_usec, 0);
}

static void test_logged_once_per_interval(void **state) {
        const uint64_t t0 = 100 * USEC_PER_SEC;
        uint64_t counter = 0;
        MhdLog l;

        mhd_log_init(&l, &counter);
        failed_accept(&l, t0); /* the first is logged at once */
        assert_int_equal(l.pending, 0);
        assert_int_equal(l.last_logged_usec, t0);
        for (unsigned i = 1; i <= 5; i++)
                failed_accept(&l, t0 + i * USEC_PER_SEC);
        assert_int_equal(l.pending, 5); /* within the interval: held */
        mhd_log_flush(&l, t0 + MHD_LOG_ACCEPT_INTERVAL_USEC - 1);
        assert_int_equal(l.pending, 5);
        mhd_log_flush(&l, t0 + MHD_LOG_ACCEPT_INTERVAL_USEC); /* the tick reports them */
        assert_int_equal(l.pending, 0);
        assert_int_equal(l.last_logged_usec, t0 + MHD_LOG_ACCEPT_INTERVAL_USEC);
        mhd_log_flush(&l, t0 + 3 * MHD_LOG_ACCEPT_INTERVAL_USEC); /* nothing pending */
        assert_int_equal(l.last_logged_usec, t0 + MHD_LOG_ACCEPT_INTERVAL_USEC);
        assert_int_equal(counter, 6);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_counts_each_failed_accept),
                cmocka_unit_test(test_other_messages_not_counted),
                cmocka_unit_test(test_logged_once_per_interval),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
