/* HTTPS with libmicrohttpd 1.0.1 and GnuTLS. MHD calls no callback of ours
 * for a handshake, done or failed, and frees the GnuTLS session before it
 * tells of the close. So a GnuTLS hook on the client's Finished message
 * marks the connection's Conn; the hook finds the Conn through the
 * session's pointer, which MHD 1.0 sets to its connection (daemon.c,
 * new_connection_prepare_; its PSK callback reads it back the same way). */
#include "mhd-tls.h"

#include <gnutls/gnutls.h>

bool mhd_tls_supported(void) {
        return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

void mhd_tls_options(const Config *c, struct MHD_OptionItem ops[MHD_TLS_OPTIONS]) {
        ops[0] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0, c->tls.key.data };
        ops[1] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0, c->tls.cert.data };
        ops[2] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_PRIORITIES, 0,
                                           (void *) config_tls_priorities(c) };
        ops[3] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };
}

/* The client's Finished came in: in TLS 1.3, and in a TLS 1.2 resumption,
 * the last message of the handshake; in a full TLS 1.2 handshake only the
 * server's own Finished is left to send. */
static int on_finished(gnutls_session_t session, unsigned htype, unsigned when, unsigned incoming,
                       const gnutls_datum_t *msg) {
        struct MHD_Connection *c = gnutls_session_get_ptr(session);
        Conn *conn;

        if (!incoming || !c)
                return 0;
        conn = conn_get(c);
        if (conn)
                conn->tls_handshaken = true;
        return 0;
}

void mhd_tls_watch(struct MHD_Connection *c, Conn *conn) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

        if (!ci || !ci->tls_session)
                return;
        conn->tls = true;
        gnutls_handshake_set_hook_function(ci->tls_session, GNUTLS_HANDSHAKE_FINISHED,
                                           GNUTLS_HOOK_POST, on_finished);
}
