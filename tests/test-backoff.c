/* Unit tests for backoff.c: the restart delay of a crash-looping worker slot. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"
#include "macro.h"

#define MAX_USEC (30 * USEC_PER_SEC)

static void test_first_crash_immediate(void **state) {
        assert_int_equal(backoff_delay(0, MAX_USEC), 0);
        assert_int_equal(backoff_delay(1, MAX_USEC), 0);
}

static void test_doubling(void **state) {
        assert_int_equal(backoff_delay(2, MAX_USEC), 100 * USEC_PER_MSEC);
        assert_int_equal(backoff_delay(3, MAX_USEC), 200 * USEC_PER_MSEC);
        assert_int_equal(backoff_delay(4, MAX_USEC), 400 * USEC_PER_MSEC);
        assert_int_equal(backoff_delay(10, MAX_USEC), 25600 * USEC_PER_MSEC);
}

static void test_capped(void **state) {
        /* 100ms << 9 = 51.2s, past the 30s cap */
        assert_int_equal(backoff_delay(11, MAX_USEC), MAX_USEC);
        assert_int_equal(backoff_delay(3, 150 * USEC_PER_MSEC), 150 * USEC_PER_MSEC);
        assert_int_equal(backoff_delay(2, 0), 0);
        assert_int_equal(backoff_delay(1, 0), 0);
}

static void test_monotonic(void **state) {
        uint64_t prev = 0;

        for (unsigned n = 0; n < 200; n++) {
                uint64_t d = backoff_delay(n, MAX_USEC);

                assert_true(d >= prev);
                assert_true(d <= MAX_USEC);
                prev = d;
        }
}

static void test_large_counts(void **state) {
        /* shifting by 64 or more would be undefined; every large count is the cap */
        static const unsigned counts[] = { 42, 60, 64, 65, 66, 100, 1000, UINT_MAX - 1, UINT_MAX };

        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
                assert_int_equal(backoff_delay(counts[i], MAX_USEC), MAX_USEC);
                assert_int_equal(backoff_delay(counts[i], UINT64_MAX), UINT64_MAX);
        }
        /* even with no effective cap, the delay grows without wrapping up to the
         * largest shift computed (100ms << 39, about 1.7 million years) */
        assert_int_equal(backoff_delay(41, UINT64_MAX), (100 * USEC_PER_MSEC) << 39);
        for (unsigned n = 3; n <= 41; n++)
                assert_int_equal(backoff_delay(n, UINT64_MAX),
                                 2 * backoff_delay(n - 1, UINT64_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_crash_immediate),
                cmocka_unit_test(test_doubling),
                cmocka_unit_test(test_capped),
                cmocka_unit_test(test_monotonic),
                cmocka_unit_test(test_large_counts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
