/* Unit tests for framing.c: Host values, header names as tokens, the scan of
 * a request's header lines, and absolute-form targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "framing.h"

static bool host(const char *v) {
        return framing_host_valid(v, strlen(v));
}

static bool token(const char *v) {
        return framing_token(v, strlen(v));
}

static void test_host_good(void **state) {
        assert_true(host("example.com"));
        assert_true(host("t"));
        assert_true(host("example.com:8080"));
        assert_true(host("a:1"));
        assert_true(host("a:65535"));
        assert_true(host("127.0.0.1"));
        assert_true(host("127.0.0.1:80"));
        assert_true(host("[::1]"));
        assert_true(host("[::1]:443"));
        assert_true(host("[2001:db8::7]"));
        assert_true(host("[::ffff:192.0.2.1]:8080"));
        assert_true(host("xn--bcher-kva.example"));
        assert_true(host("a%2Db.example"));              /* pct-encoded */
        assert_true(host("a-b_c~d!$&'()*+,;=.example")); /* unreserved, sub-delims */
}

static void test_host_bad(void **state) {
        assert_false(host(""));
        assert_false(host("a b"));
        assert_false(host(" a"));
        assert_false(host("a/b"));
        assert_false(host("a\\b"));
        assert_false(host("u@a"));     /* userinfo */
        assert_false(host("a:"));      /* empty port */
        assert_false(host(":80"));     /* empty host */
        assert_false(host("a:65536")); /* port past 16 bits */
        assert_false(host("a:99999"));
        assert_false(host("a:000080")); /* more than 5 digits */
        assert_false(host("a:8o"));
        assert_false(host("a:-1"));
        assert_false(host("a:80:81"));
        assert_false(host("a:+80"));
        assert_false(host("[::1")); /* unclosed */
        assert_false(host("::1"));  /* unbracketed: a colon then no port */
        assert_false(host("[::1]x"));
        assert_false(host("[::1]:"));
        assert_false(host("[nope]"));
        assert_false(host("[v1.x]")); /* IPvFuture: not taken */
        assert_false(host("[]"));
        assert_false(host("a%2")); /* cut pct-encoding */
        assert_false(host("a%zz"));
        assert_false(host("a\x7f"));
        assert_false(host("a\tb"));
        assert_false(host("a?b"));
        assert_false(host("a#b"));
        assert_false(host("\xc3\xa9.example")); /* raw UTF-8 */
        /* a NUL inside the value's length */
        assert_false(framing_host_valid("a\0b", 3));
}

static void test_token(void **state) {
        assert_true(token("Host"));
        assert_true(token("X-Forwarded-For"));
        assert_true(token("!#$%&'*+-.^_`|~09azAZ"));
        assert_false(token(""));
        assert_false(token("X A"));
        assert_false(token("X-A "));
        assert_false(token("X\x7f"
                           "A"));
        assert_false(token("X:A"));
        assert_false(token("X\tA"));
        assert_false(token("X(A)"));
        assert_false(token("X\"A"));
        assert_false(token("\xc3\xa9"));
        assert_false(framing_token("X\0A", 3));
}

static void line(FramingScan *s, const char *name, const char *value) {
        framing_scan_line(s, name, strlen(name), value, strlen(value));
}

static void test_scan_good(void **state) {
        FramingScan s = { 0 };

        line(&s, "host", "t:80");
        line(&s, "Content-Length", "3");
        line(&s, "content-length", "3"); /* the same again: one length */
        line(&s, "Accept", "*/*");
        assert_true(framing_scan_ok(&s, true));
        assert_true(framing_scan_ok(&s, false));

        FramingScan none = { 0 };
        assert_false(framing_scan_ok(&none, true)); /* HTTP/1.1 needs a Host */
        assert_true(framing_scan_ok(&none, false)); /* HTTP/1.0 does not */
}

static void test_scan_bad(void **state) {
        FramingScan two = { 0 }, bad = { 0 }, name = { 0 }, lengths = { 0 };

        line(&two, "Host", "t");
        line(&two, "HOST", "t");
        assert_false(framing_scan_ok(&two, true));
        assert_false(framing_scan_ok(&two, false));

        line(&bad, "Host", "a/b");
        assert_false(framing_scan_ok(&bad, true));
        assert_false(framing_scan_ok(&bad, false));

        line(&name, "Host", "t");
        line(&name,
             "X\x7f"
             "A",
             "1");
        assert_false(framing_scan_ok(&name, true));

        line(&lengths, "Host", "t");
        line(&lengths, "Content-Length", "0");
        line(&lengths, "Content-Length", "37");
        assert_false(framing_scan_ok(&lengths, true));
}

static void test_absolute_form(void **state) {
        const char *a = NULL;
        size_t n = 0;

        assert_string_equal(framing_absolute_path("http://t/hello.txt", &a, &n), "/hello.txt");
        assert_int_equal(n, 1);
        assert_memory_equal(a, "t", 1);
        assert_string_equal(framing_absolute_path("HTTPS://a.example:8080/d/", &a, &n), "/d/");
        assert_int_equal(n, 14);
        assert_memory_equal(a, "a.example:8080", 14);
        assert_string_equal(framing_absolute_path("http://t", &a, &n), "/");
        assert_int_equal(n, 1);
        assert_string_equal(framing_absolute_path("http:///x", &a, &n), "/x");
        assert_int_equal(n, 0); /* an empty authority, which the Host check refuses */
        assert_null(framing_absolute_path("/hello.txt", &a, &n));
        assert_null(framing_absolute_path("*", &a, &n));
        assert_null(framing_absolute_path("ftp://t/x", &a, &n));
        assert_null(framing_absolute_path("http:/t/x", &a, &n));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_host_good), cmocka_unit_test(test_host_bad),
                cmocka_unit_test(test_token),     cmocka_unit_test(test_scan_good),
                cmocka_unit_test(test_scan_bad),  cmocka_unit_test(test_absolute_form),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
