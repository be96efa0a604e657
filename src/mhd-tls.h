/* libmicrohttpd 1.0's HTTPS, all in one place: what a TLS daemon is started
 * with, and how its handshakes are told apart from the failed ones, which
 * MHD reports to nobody. Written against MHD 1.0.1 built with GnuTLS. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>

#include "config.h"
#include "conn.h"

/* The flags of a TLS daemon, in external epoll mode. Not MHD_USE_TURBO:
 * with it, MHD 1.0.1 closes a TLS connection without sending close_notify
 * (MHD_connection_mark_closed_() skips gnutls_bye()), which a client that
 * reads to the end takes for a truncation: OpenSSL 3 says "unexpected eof
 * while reading", and ab counted every HTTP/1.0 request as failed. */
#define MHD_TLS_DAEMON_FLAGS (MHD_USE_EPOLL | MHD_USE_TLS)

/* Whether this libmicrohttpd was built with HTTPS. */
bool mhd_tls_supported(void);

/* The options of a TLS daemon, for MHD_OPTION_ARRAY: the key and chain
 * from memory (c->tls), and the GnuTLS priorities. The strings stay c's:
 * c must outlive MHD_start_daemon(). */
#define MHD_TLS_OPTIONS 4
void mhd_tls_options(const Config *c, struct MHD_OptionItem ops[MHD_TLS_OPTIONS]);

/* At MHD_CONNECTION_NOTIFY_STARTED on a TLS daemon: marks conn as TLS and
 * has GnuTLS say when its handshake is done (conn->tls_handshaken). */
void mhd_tls_watch(struct MHD_Connection *c, Conn *conn);
