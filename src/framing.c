/* The framing checks libmicrohttpd 1.0.1 does not make: Host (one, and a
 * valid host[:port]), header names as tokens, Content-Lengths that agree,
 * and the authority of an absolute-form target. */
#include "framing.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* What each byte may be, looked up in one table rather than tested against
 * a string of punctuation: the checks run on every header of every request.
 * RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. RFC 3986 3.2.2:
 * a reg-name byte is unreserved (ALPHA / DIGIT / "-" / "." / "_" / "~") or
 * a sub-delim ("!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" /
 * "="); "%" starts a pct-encoded triple, checked apart. */
enum {
        TCHAR = 1,
        REG_NAME = 2
};
static const unsigned char char_class[256] = {
        ['0' ... '9'] = TCHAR | REG_NAME,
        ['a' ... 'z'] = TCHAR | REG_NAME,
        ['A' ... 'Z'] = TCHAR | REG_NAME,
        ['-'] = TCHAR | REG_NAME,
        ['.'] = TCHAR | REG_NAME,
        ['_'] = TCHAR | REG_NAME,
        ['~'] = TCHAR | REG_NAME,
        ['!'] = TCHAR | REG_NAME,
        ['$'] = TCHAR | REG_NAME,
        ['&'] = TCHAR | REG_NAME,
        ['\''] = TCHAR | REG_NAME,
        ['*'] = TCHAR | REG_NAME,
        ['+'] = TCHAR | REG_NAME,
        ['#'] = TCHAR,
        ['%'] = TCHAR,
        ['^'] = TCHAR,
        ['`'] = TCHAR,
        ['|'] = TCHAR,
        ['('] = REG_NAME,
        [')'] = REG_NAME,
        [','] = REG_NAME,
        [';'] = REG_NAME,
        ['='] = REG_NAME,
};

static bool is_tchar(unsigned char ch) {
        return char_class[ch] & TCHAR;
}

bool framing_token(const char *name, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_tchar((unsigned char) name[i]))
                        return false;
        return true;
}

static bool is_hex(unsigned char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* RFC 3986 3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ),
 * here at least one byte */
static bool reg_name_valid(const char *v, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char) v[i];
                if (ch == '%') {
                        if (i + 2 >= len || !is_hex((unsigned char) v[i + 1]) ||
                            !is_hex((unsigned char) v[i + 2]))
                                return false;
                        i += 2;
                        continue;
                }
                if (char_class[ch] & REG_NAME)
                        continue;
                return false;
        }
        return true;
}

/* "[" IPv6address "]" (no IPvFuture, no zone) */
static bool ipv6_literal_valid(const char *v, size_t len) {
        char buf[INET6_ADDRSTRLEN];
        unsigned char addr[16];

        if (len < 3 || v[0] != '[' || v[len - 1] != ']' || len - 2 >= sizeof buf)
                return false;
        memcpy(buf, v + 1, len - 2);
        buf[len - 2] = 0;
        return inet_pton(AF_INET6, buf, addr) == 1;
}

static bool port_valid(const char *v, size_t len) {
        unsigned long port = 0;

        if (len == 0 || len > 5)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return false;
                port = port * 10 + (unsigned long) (v[i] - '0');
        }
        return port <= 65535;
}

bool framing_host_valid(const char *v, size_t len) {
        size_t host_len = len;

        if (len > 0 && v[0] == '[') {
                const char *close = memchr(v, ']', len);
                if (!close)
                        return false;
                host_len = (size_t) (close - v) + 1;
                if (!ipv6_literal_valid(v, host_len))
                        return false;
        } else {
                const char *colon = memchr(v, ':', len);
                if (colon)
                        host_len = (size_t) (colon - v);
                if (!reg_name_valid(v, host_len))
                        return false;
        }
        if (host_len == len)
                return true;
        if (v[host_len] != ':')
                return false;
        return port_valid(v + host_len + 1, len - host_len - 1);
}

void framing_scan_line(FramingScan *s, const char *name, size_t name_len, const char *value,
                       size_t value_len) {
        if (!framing_token(name, name_len))
                s->bad_name = true;
        if (name_len == 4 && strncasecmp(name, "Host", 4) == 0) {
                s->hosts++;
                if (!framing_host_valid(value, value_len))
                        s->bad_host = true;
        } else if (name_len == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
                if (!s->length) {
                        s->length = value;
                        s->length_len = value_len;
                } else if (value_len != s->length_len || memcmp(value, s->length, value_len) != 0)
                        s->lengths_differ = true;
        }
}

bool framing_scan_ok(const FramingScan *s, bool http11) {
        if (s->bad_name || s->bad_host || s->lengths_differ || s->hosts > 1)
                return false;
        return s->hosts == 1 || !http11;
}

const char *framing_absolute_path(const char *target, const char **ret_authority, size_t *ret_len) {
        const char *p, *slash;

        if (strncasecmp(target, "http://", 7) == 0)
                p = target + 7;
        else if (strncasecmp(target, "https://", 8) == 0)
                p = target + 8;
        else
                return NULL;
        slash = strchr(p, '/');
        *ret_authority = p;
        *ret_len = slash ? (size_t) (slash - p) : strlen(p);
        return slash ? slash : "/";
}
