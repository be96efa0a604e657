/* Unit tests for uri.c: percent-encoding paths and queries for Location. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "uri.h"

static void test_unreserved_kept(void **state) {
        char buf[64];
        size_t len = 0;

        assert_int_equal(uri_append_encoded(buf, sizeof buf, &len, "/docs/A-z_0.9~", true), 0);
        assert_string_equal(buf, "/docs/A-z_0.9~");
        assert_int_equal(len, 14);
}

static void test_reserved_and_bytes_encoded(void **state) {
        char buf[128];
        size_t len = 0;

        /* a decoded path can hold anything, CR and LF included */
        assert_int_equal(uri_append_encoded(buf, sizeof buf, &len, "/my dir/\r\n?#%\xc3\xa9", true),
                         0);
        assert_string_equal(buf, "/my%20dir/%0D%0A%3F%23%25%C3%A9");
}

static void test_slash_encoded_in_query(void **state) {
        char buf[64];
        size_t len = 0;

        assert_int_equal(uri_append_encoded(buf, sizeof buf, &len, "a/b=c&d", false), 0);
        assert_string_equal(buf, "a%2Fb%3Dc%26d");
}

static void test_appends(void **state) {
        char buf[64];
        size_t len = 0;

        assert_int_equal(uri_append_encoded(buf, sizeof buf, &len, "/sub", true), 0);
        assert_int_equal(uri_append(buf, sizeof buf, &len, "/?"), 0);
        assert_int_equal(uri_append_encoded(buf, sizeof buf, &len, "x y", false), 0);
        assert_string_equal(buf, "/sub/?x%20y");
        assert_int_equal(len, 11);
}

static void test_too_long_leaves_buffer(void **state) {
        char buf[8];
        size_t len = 0;

        assert_int_equal(uri_append(buf, sizeof buf, &len, "/ab"), 0);
        /* "/ab" + "%20%20" would need 10 bytes with the NUL */
        assert_int_equal(uri_append_encoded(buf, sizeof buf, &len, "  ", true), -ENAMETOOLONG);
        assert_string_equal(buf, "/ab");
        assert_int_equal(len, 3);
        assert_int_equal(uri_append(buf, sizeof buf, &len, "12345"), -ENAMETOOLONG);
        assert_string_equal(buf, "/ab");
        /* exactly full: 7 characters and the NUL */
        assert_int_equal(uri_append(buf, sizeof buf, &len, "1234"), 0);
        assert_string_equal(buf, "/ab1234");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unreserved_kept),
                cmocka_unit_test(test_reserved_and_bytes_encoded),
                cmocka_unit_test(test_slash_encoded_in_query),
                cmocka_unit_test(test_appends),
                cmocka_unit_test(test_too_long_leaves_buffer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
