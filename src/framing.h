/* Checks of a request's framing that libmicrohttpd 1.0.1 leaves to the
 * application (RFC 9110 7.2, RFC 9112 3.2 and 6.3): pure functions over the
 * header lines and the target, no MHD in sight. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether name[0..len) is a token (RFC 9110 5.6.2): one or more tchars, so
 * never empty, and no space, DEL, control, separator or byte above 0x7f. */
bool framing_token(const char *name, size_t len);

/* Whether v[0..len) is a valid Host value: uri-host [ ":" port ], with
 * uri-host a reg-name (unreserved, sub-delims, %XX), an IPv4 address (a
 * reg-name too) or a bracketed IPv6 address, and port 1 to 5 digits up to
 * 65535. Empty, userinfo, a space or a slash: false. */
bool framing_host_valid(const char *v, size_t len);

/* What the header lines of one request showed, fed line by line. */
typedef struct FramingScan {
        unsigned hosts;     /* Host lines */
        bool bad_host;      /* a Host value framing_host_valid() refused */
        bool bad_name;      /* a name that is not a token */
        const char *length; /* the first Content-Length value, or NULL */
        size_t length_len;
        bool lengths_differ; /* another Content-Length said otherwise */
} FramingScan;

/* Takes one header line into the scan. */
void framing_scan_line(FramingScan *s, const char *name, size_t name_len, const char *value,
                       size_t value_len);

/* Whether the request those lines belong to is framed well enough to be
 * answered: exactly one valid Host (at most one, and valid, on HTTP/1.0,
 * where it may be missing), names that are tokens, one Content-Length. */
bool framing_scan_ok(const FramingScan *s, bool http11);

/* The path of an absolute-form target ("http://host[:port]/path",
 * RFC 9112 3.2.2; the scheme http or https in any case): "/" for none. The
 * authority goes to *ret_authority and *ret_len. NULL when target is not in
 * absolute-form. */
const char *framing_absolute_path(const char *target, const char **ret_authority, size_t *ret_len);
