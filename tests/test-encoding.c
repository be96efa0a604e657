/* Unit tests for encoding.c: Accept-Encoding q-values, "*", identity;q=0,
 * and which coding an answer takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include <cmocka.h>

#include "encoding.h"

static const CodingOrder br_gz = { .coding = { CODING_BR, CODING_GZIP }, .n = 2 };
static const CodingOrder gz_br = { .coding = { CODING_GZIP, CODING_BR }, .n = 2 };
#define ALL (CODING_BIT(CODING_BR) | CODING_BIT(CODING_GZIP))

static Coding choose(const char *accept, unsigned available, const CodingOrder *o) {
        EncodingAccept a;
        encoding_parse_accept(accept, &a);
        return encoding_choose(&a, available, o);
}

static void expect_q(const char *accept, unsigned identity, unsigned br, unsigned gzip) {
        EncodingAccept a;
        encoding_parse_accept(accept, &a);
        assert_int_equal(a.q[CODING_IDENTITY], identity);
        assert_int_equal(a.q[CODING_BR], br);
        assert_int_equal(a.q[CODING_GZIP], gzip);
}

static void test_qvalues(void **state) {
        expect_q(NULL, 1000, 0, 0);
        expect_q("", 1, 0, 0);
        expect_q("gzip", 1, 0, 1000);
        expect_q("gzip, deflate, br", 1, 1000, 1000);
        expect_q("br;q=0.5, gzip;q=0.8", 1, 500, 800);
        expect_q("br;q=0.001,gzip;q=1.000", 1, 1, 1000);
        expect_q("BR ; Q=0.25 , GZip", 1, 250, 1000);
        expect_q("x-gzip", 1, 0, 1000);
        expect_q("gzip;q=0", 1, 0, 0);
}

static void test_star_and_identity(void **state) {
        expect_q("*", 1000, 1000, 1000);
        expect_q("*;q=0.3, br", 300, 1000, 300);
        expect_q("identity;q=0", 0, 0, 0);
        expect_q("gzip, identity;q=0", 0, 0, 1000);
        expect_q("*;q=0", 0, 0, 0);
        expect_q("*;q=0, identity", 1000, 0, 0);
        expect_q("gzip;q=0, *", 1000, 1000, 0);
}

static void test_malformed_skipped(void **state) {
        expect_q("br;q=2, gzip", 1, 0, 1000);      /* q above 1 */
        expect_q("br;q=0.5000, gzip", 1, 0, 1000); /* four decimals */
        expect_q("br;q=, gzip;q=0.5", 1, 0, 500);  /* empty value */
        expect_q("br;q, gzip", 1, 0, 1000);        /* no '=' */
        expect_q(",,, ,br", 1, 1000, 0);           /* empty elements */
        expect_q("compress, zstd;q=1", 1, 0, 0);   /* codings not here */
        expect_q("br;level=5;q=0.4", 1, 400, 0);   /* another parameter */
        expect_q("gzip;q=0.2, gzip;q=0.9", 1, 0, 900);
}

static void test_choose(void **state) {
        /* no header: identity, whatever is at hand */
        assert_int_equal(choose(NULL, ALL, &br_gz), CODING_IDENTITY);
        /* a tie goes to the server's order */
        assert_int_equal(choose("gzip, br", ALL, &br_gz), CODING_BR);
        assert_int_equal(choose("gzip, br", ALL, &gz_br), CODING_GZIP);
        /* the client's q goes first */
        assert_int_equal(choose("br;q=0.5, gzip", ALL, &br_gz), CODING_GZIP);
        /* only what is at hand */
        assert_int_equal(choose("br, gzip", CODING_BIT(CODING_GZIP), &br_gz), CODING_GZIP);
        assert_int_equal(choose("br", CODING_BIT(CODING_GZIP), &br_gz), CODING_IDENTITY);
        /* only what the order lists */
        const CodingOrder gz_only = { .coding = { CODING_GZIP }, .n = 1 };
        assert_int_equal(choose("br", ALL, &gz_only), CODING_IDENTITY);
        const CodingOrder off = { .n = 0 };
        assert_int_equal(choose("br, gzip", ALL, &off), CODING_IDENTITY);
        /* identity rated above the codings */
        assert_int_equal(choose("identity, gzip;q=0.5", ALL, &br_gz), CODING_IDENTITY);
        /* identity unlisted ranks below a listed coding */
        assert_int_equal(choose("gzip;q=0.5", ALL, &br_gz), CODING_GZIP);
        assert_int_equal(choose("br;q=0.001", ALL, &br_gz), CODING_BR);
        /* refused codings are never chosen */
        assert_int_equal(choose("br;q=0, gzip;q=0", ALL, &br_gz), CODING_IDENTITY);
        /* nothing acceptable at hand: identity anyway */
        assert_int_equal(choose("identity;q=0, br", CODING_BIT(CODING_GZIP), &br_gz),
                         CODING_IDENTITY);
        assert_int_equal(choose("identity;q=0, gzip", ALL, &br_gz), CODING_GZIP);
        assert_int_equal(choose("*", ALL, &gz_br), CODING_GZIP);
}

static void test_order(void **state) {
        CodingOrder o;
        char buf[16];

        assert_int_equal(encoding_parse_order("br,gz", &o), 0);
        assert_int_equal(o.n, 2);
        assert_int_equal(o.coding[0], CODING_BR);
        assert_int_equal(o.coding[1], CODING_GZIP);
        encoding_format_order(&o, buf, sizeof buf);
        assert_string_equal(buf, "br,gz");
        assert_int_equal(encoding_parse_order(" gz , br ", &o), 0);
        encoding_format_order(&o, buf, sizeof buf);
        assert_string_equal(buf, "gz,br");
        assert_int_equal(encoding_parse_order("gz", &o), 0);
        assert_int_equal(o.n, 1);
        assert_int_equal(encoding_parse_order("off", &o), 0);
        assert_int_equal(o.n, 0);
        encoding_format_order(&o, buf, sizeof buf);
        assert_string_equal(buf, "off");
        assert_int_equal(encoding_parse_order("br,br", &o), -EINVAL);
        assert_int_equal(encoding_parse_order("gzip", &o), -EINVAL);
        assert_int_equal(encoding_parse_order("", &o), -EINVAL);
        assert_int_equal(encoding_parse_order("br,", &o), -EINVAL);
        assert_int_equal(encoding_parse_order("br gz", &o), -EINVAL);
}

static void test_names(void **state) {
        assert_string_equal(coding_name(CODING_BR), "br");
        assert_string_equal(coding_name(CODING_GZIP), "gzip");
        assert_string_equal(coding_suffix(CODING_GZIP), ".gz");
        assert_null(coding_suffix(CODING_IDENTITY));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_qvalues),
                cmocka_unit_test(test_star_and_identity),
                cmocka_unit_test(test_malformed_skipped),
                cmocka_unit_test(test_choose),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
