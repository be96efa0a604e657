/* gzip and brotli through zlib and libbrotlienc: both formats have corner
 * cases (window sizes, block splitting, the gzip trailer) that the
 * reference libraries get right and that nobody should write again. */
#include "compress.h"

#include <brotli/encode.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

bool compress_type_is_text(const char *t) {
        static const char *const exact[] = {
                "application/javascript", "application/x-javascript", "text/javascript",
                "application/json",       "application/xml",          "image/svg+xml",
                "application/wasm", /* compresses well, and browsers take it so */
        };
        size_t n = strcspn(t, "; \t");

        if (n >= 5 && strncasecmp(t, "text/", 5) == 0)
                return true;
        for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
                if (strlen(exact[i]) == n && strncasecmp(t, exact[i], n) == 0)
                        return true;
        return (n > 5 && strncasecmp(t + n - 5, "+json", 5) == 0) ||
               (n > 4 && strncasecmp(t + n - 4, "+xml", 4) == 0);
}

static int compress_gzip(const void *in, size_t n, uint8_t *out, size_t *out_n) {
        z_stream z = { 0 };
        int r;

        /* 15 + 16: a 32 KiB window, with the gzip header and trailer */
        if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
            Z_OK)
                return -ENOMEM;
        z.next_in = (Bytef *) in;
        z.avail_in = (uInt) n;
        z.next_out = out;
        z.avail_out = (uInt) *out_n;
        r = deflate(&z, Z_FINISH);
        *out_n = z.total_out;
        deflateEnd(&z);
        if (r == Z_OK || r == Z_BUF_ERROR) /* the room ran out: not smaller */
                return -E2BIG;
        return r == Z_STREAM_END ? 0 : -EIO;
}

static int compress_brotli(const void *in, size_t n, uint8_t *out, size_t *out_n) {
        /* quality 11 and the default window: the smallest output, for a
         * cost paid once per file and worker */
        if (!BrotliEncoderCompress(BROTLI_MAX_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n,
                                   in, out_n, out))
                return -E2BIG; /* also when out is too small: not smaller */
        return 0;
}

int compress_buffer(Coding coding, const void *in, size_t n, void **ret, size_t *ret_n) {
        size_t room = n > 0 ? n - 1 : 0; /* only a smaller result is kept */
        uint8_t *out;
        int r;

        if (room == 0)
                return -E2BIG;
        out = malloc(room);
        if (!out)
                return -ENOMEM;
        size_t out_n = room;
        if (coding == CODING_GZIP)
                r = compress_gzip(in, n, out, &out_n);
        else if (coding == CODING_BR)
                r = compress_brotli(in, n, out, &out_n);
        else
                r = -EINVAL;
        if (r < 0 || out_n >= n) {
                free(out);
                return r < 0 ? r : -E2BIG;
        }
        *ret = out;
        *ret_n = out_n;
        return 0;
}
