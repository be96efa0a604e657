/* Building URI references for response headers such as Location. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Appends s to buf[*len...], percent-encoding every byte outside RFC 3986's
 * unreserved set (and '/' too, unless keep_slash). Keeps buf NUL-terminated
 * and advances *len. -ENAMETOOLONG, with buf unchanged, when it does not fit. */
int uri_append_encoded(char *buf, size_t size, size_t *len, const char *s, bool keep_slash);

/* Appends the literal text s, unencoded. -ENAMETOOLONG when it does not fit. */
int uri_append(char *buf, size_t size, size_t *len, const char *s);
