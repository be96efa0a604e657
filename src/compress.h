/* Compressing a small file once, in memory, as it enters the file cache:
 * gzip (zlib) and brotli (libbrotlienc) at their highest levels. Helpers
 * only: no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "encoding.h"

/* Whether a Content-Type is worth compressing: text/ types, JavaScript, JSON,
 * XML and SVG (any "+json" or "+xml" type too). Parameters are ignored. */
bool compress_type_is_text(const char *content_type);

/* Compresses n bytes of in with coding (CODING_BR or CODING_GZIP) into a
 * new malloc()ed buffer, *ret_n bytes long. -E2BIG when the result would
 * not be smaller than the input (nothing to keep), -ENOMEM, or -EIO when
 * the library fails. */
int compress_buffer(Coding coding, const void *in, size_t n, void **ret, size_t *ret_n);
