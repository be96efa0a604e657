/* Percent-encoding for the URIs clusterd writes into headers: the path and
 * query it received come decoded from libmicrohttpd, and must be encoded
 * again before they can go back out in a Location header. */
#include "uri.h"

#include <errno.h>
#include <string.h>

static bool unreserved(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
}

int uri_append_encoded(char *buf, size_t size, size_t *len, const char *s, bool keep_slash) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = *len;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                bool plain = unreserved(*p) || (keep_slash && *p == '/');
                size_t need = plain ? 1 : 3;

                if (n + need >= size) {
                        if (*len < size)
                                buf[*len] = '\0';
                        return -ENAMETOOLONG;
                }
                if (plain)
                        buf[n++] = (char) *p;
                else {
                        buf[n++] = '%';
                        buf[n++] = hex[*p >> 4];
                        buf[n++] = hex[*p & 0xf];
                }
        }
        buf[n] = '\0';
        *len = n;
        return 0;
}

int uri_append(char *buf, size_t size, size_t *len, const char *s) {
        size_t add = strlen(s);

        if (*len + add >= size)
                return -ENAMETOOLONG;
        memcpy(buf + *len, s, add + 1);
        *len += add;
        return 0;
}
