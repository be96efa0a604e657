/* Unit tests for range.c: which Range headers get 206, 416 or the whole file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "range.h"

static void expect_ok(const char *value, uint64_t size, uint64_t start, uint64_t len) {
        uint64_t s = 12345, l = 12345;

        assert_int_equal(range_parse(value, size, &s, &l), RANGE_OK);
        assert_int_equal(s, start);
        assert_int_equal(l, len);
}

static void expect(const char *value, uint64_t size, RangeResult want) {
        uint64_t s = 12345, l = 12345;

        assert_int_equal(range_parse(value, size, &s, &l), want);
        assert_int_equal(s, 12345); /* untouched unless RANGE_OK */
        assert_int_equal(l, 12345);
}

static void test_first_last(void **state) {
        expect_ok("bytes=0-9", 100, 0, 10);
        expect_ok("bytes=10-10", 100, 10, 1);
        expect_ok("bytes=90-99", 100, 90, 10);
        expect_ok("bytes= 5-6 ", 100, 5, 2);
}

static void test_last_clamped(void **state) {
        expect_ok("bytes=90-1000", 100, 90, 10);
        expect_ok("bytes=0-18446744073709551615", 100, 0, 100);
}

static void test_open_ended(void **state) {
        expect_ok("bytes=0-", 100, 0, 100);
        expect_ok("bytes=99-", 100, 99, 1);
}

static void test_suffix(void **state) {
        expect_ok("bytes=-5", 100, 95, 5);
        expect_ok("bytes=-100", 100, 0, 100);
        expect_ok("bytes=-1000", 100, 0, 100);
}

static void test_unsatisfiable(void **state) {
        expect("bytes=100-", 100, RANGE_UNSATISFIABLE);
        expect("bytes=100-200", 100, RANGE_UNSATISFIABLE);
        expect("bytes=-0", 100, RANGE_UNSATISFIABLE);
        expect("bytes=0-", 0, RANGE_UNSATISFIABLE);
        expect("bytes=-5", 0, RANGE_UNSATISFIABLE);
}

static void test_ignored(void **state) {
        expect("bytes=0-1,5-6", 100, RANGE_IGNORE); /* several ranges */
        expect("bytes=9-3", 100, RANGE_IGNORE);     /* last before first */
        expect("bytes=-", 100, RANGE_IGNORE);
        expect("bytes=", 100, RANGE_IGNORE);
        expect("bytes=a-b", 100, RANGE_IGNORE);
        expect("bytes=1-2x", 100, RANGE_IGNORE);
        expect("bytes=--5", 100, RANGE_IGNORE);
        expect("items=0-9", 100, RANGE_IGNORE);
        expect("Bytes=0-9x", 100, RANGE_IGNORE);
        expect("", 100, RANGE_IGNORE);
        expect("bytes=99999999999999999999-", 100, RANGE_IGNORE); /* overflows */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_last),    cmocka_unit_test(test_last_clamped),
                cmocka_unit_test(test_open_ended),    cmocka_unit_test(test_suffix),
                cmocka_unit_test(test_unsatisfiable), cmocka_unit_test(test_ignored),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
