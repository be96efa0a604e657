/* Unit tests for compress.c: which types are compressed, and that what
 * gzip and brotli make decompresses to the input, and is only kept when
 * smaller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <cmocka.h>
#include <zlib.h>

#include "compress.h"

static void test_types(void **state) {
        assert_true(compress_type_is_text("text/html"));
        assert_true(compress_type_is_text("text/css; charset=utf-8"));
        assert_true(compress_type_is_text("application/javascript"));
        assert_true(compress_type_is_text("application/json"));
        assert_true(compress_type_is_text("application/ld+json"));
        assert_true(compress_type_is_text("image/svg+xml"));
        assert_true(compress_type_is_text("application/xml"));
        assert_true(compress_type_is_text("application/atom+xml"));
        assert_false(compress_type_is_text("image/png"));
        assert_false(compress_type_is_text("application/octet-stream"));
        assert_false(compress_type_is_text("application/gzip"));
        assert_false(compress_type_is_text("application/jsonx"));
        assert_false(compress_type_is_text("text"));
}

static char *sample(size_t *n) {
        static const char line[] = "function hello(name) { return 'Hello, ' + name; }\n";
        size_t len = 200 * (sizeof line - 1);
        char *s = malloc(len);
        for (size_t i = 0; i < 200; i++)
                memcpy(s + i * (sizeof line - 1), line, sizeof line - 1);
        *n = len;
        return s;
}

static void test_gzip_roundtrip(void **state) {
        size_t n, out_n;
        char *in = sample(&n);
        void *out;

        assert_int_equal(compress_buffer(CODING_GZIP, in, n, &out, &out_n), 0);
        assert_true(out_n < n / 10);
        assert_int_equal(((uint8_t *) out)[0], 0x1f); /* the gzip magic */
        assert_int_equal(((uint8_t *) out)[1], 0x8b);
        char *back = malloc(n);
        z_stream z = { .next_in = out,
                       .avail_in = (uInt) out_n,
                       .next_out = (Bytef *) back,
                       .avail_out = (uInt) n };
        assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        assert_int_equal(z.total_out, n);
        inflateEnd(&z);
        assert_memory_equal(back, in, n);
        free(back);
        free(out);
        free(in);
}

static void test_brotli_roundtrip(void **state) {
        size_t n, out_n, back_n;
        char *in = sample(&n);
        void *out;

        assert_int_equal(compress_buffer(CODING_BR, in, n, &out, &out_n), 0);
        assert_true(out_n < n / 10);
        back_n = n;
        char *back = malloc(n);
        assert_int_equal(BrotliDecoderDecompress(out_n, out, &back_n, (uint8_t *) back),
                         BROTLI_DECODER_RESULT_SUCCESS);
        assert_int_equal(back_n, n);
        assert_memory_equal(back, in, n);
        free(back);
        free(out);
        free(in);
}

static void test_not_smaller(void **state) {
        /* a few random-looking bytes: neither format gets below them */
        static const uint8_t noise[] = { 0x8f, 0x13, 0xa7, 0x42, 0xee, 0x01, 0x9c, 0x5d };
        void *out = NULL;
        size_t out_n = 0;

        assert_int_equal(compress_buffer(CODING_GZIP, noise, sizeof noise, &out, &out_n), -E2BIG);
        assert_int_equal(compress_buffer(CODING_BR, noise, sizeof noise, &out, &out_n), -E2BIG);
        assert_int_equal(compress_buffer(CODING_BR, "", 0, &out, &out_n), -E2BIG);
        assert_null(out);
        assert_int_equal(compress_buffer(CODING_IDENTITY, noise, sizeof noise, &out, &out_n),
                         -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_gzip_roundtrip),
                cmocka_unit_test(test_brotli_roundtrip),
                cmocka_unit_test(test_not_smaller),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
