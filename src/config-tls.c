/* HTTPS settings: where the certificate and key come from (the files,
 * what the reload helper passed, or systemd's credentials), read and
 * checked by tls.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "tls.h"

const char *config_tls_priorities(const Config *c) {
        return c->tls_priorities ?: TLS_DEFAULT_PRIORITIES;
}

/* tls.crt and tls.key in $CREDENTIALS_DIRECTORY: 1 and their paths when
 * both are there, 0 when neither is (or there are no credentials). */
static int credential_paths(char **ret_cert, char **ret_key, char err[CONFIG_ERROR_MAX]) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_free_ char *cert = NULL, *key = NULL;
        bool have_cert, have_key;

        if (!dir || !*dir)
                return 0;
        /* on failure asprintf leaves its pointer undefined */
        if (asprintf(&cert, "%s/tls.crt", dir) < 0)
                cert = NULL;
        else if (asprintf(&key, "%s/tls.key", dir) < 0)
                key = NULL;
        if (!cert || !key) {
                snprintf(err, CONFIG_ERROR_MAX, "out of memory");
                return -ENOMEM;
        }
        have_cert = access(cert, F_OK) == 0;
        have_key = access(key, F_OK) == 0;
        if (!have_cert && !have_key)
                return 0;
        if (have_cert != have_key) {
                snprintf(err, CONFIG_ERROR_MAX,
                         "credentials in %s: %s but no %s (LoadCredential= both tls.crt and "
                         "tls.key)",
                         dir, have_cert ? "tls.crt" : "tls.key", have_cert ? "tls.key" : "tls.crt");
                return -ENOENT;
        }
        *ret_cert = TAKE_PTR(cert);
        *ret_key = TAKE_PTR(key);
        return 1;
}

static int read_pair(const char *cert, const char *key, TlsMaterial *m,
                     char err[CONFIG_ERROR_MAX]) {
        int r = tls_pem_read(cert, &m->cert);

        if (r < 0) {
                snprintf(err, CONFIG_ERROR_MAX, "certificate %s: %s", cert, strerror(-r));
                return r;
        }
        r = tls_pem_read(key, &m->key);
        if (r < 0) {
                snprintf(err, CONFIG_ERROR_MAX, "key %s: %s", key, strerror(-r));
                return r;
        }
        m->cert_path = strdup(cert);
        m->key_path = strdup(key);
        if (!m->cert_path || !m->key_path) {
                snprintf(err, CONFIG_ERROR_MAX, "out of memory");
                return -ENOMEM;
        }
        return 0;
}

int config_load_tls(Config *c, const TlsMaterial *passed, uint64_t now_usec,
                    char err[CONFIG_ERROR_MAX]) {
        _cleanup_free_ char *cred_cert = NULL, *cred_key = NULL;
        char why[TLS_REASON_MAX];
        TlsMaterial m = {};
        int r;

        tls_material_done(&c->tls);
        if (c->exec)
                return 0; /* the program serves TLS its own way, if at all */
        if (!c->tls_certificate != !c->tls_key) {
                snprintf(err, CONFIG_ERROR_MAX, "%s is set without %s: give both",
                         c->tls_certificate ? "tls-certificate" : "tls-key",
                         c->tls_certificate ? "tls-key" : "tls-certificate");
                return -EINVAL;
        }
        if (c->tls_certificate)
                r = read_pair(c->tls_certificate, c->tls_key, &m, err);
        else if (passed && tls_material_loaded(passed)) {
                r = tls_material_copy(passed, &m);
                if (r < 0)
                        snprintf(err, CONFIG_ERROR_MAX, "out of memory");
        } else {
                r = credential_paths(&cred_cert, &cred_key, err);
                if (r == 0 && c->n_listen_tls > 0) {
                        snprintf(err, CONFIG_ERROR_MAX,
                                 "listen-tls needs a certificate: set tls-certificate and "
                                 "tls-key, or pass tls.crt and tls.key with LoadCredential=");
                        return -ENOKEY;
                }
                if (r <= 0)
                        return r;
                r = read_pair(cred_cert, cred_key, &m, err);
        }
        if (r >= 0) {
                r = tls_check(&m.cert, &m.key, now_usec, &m.not_after_usec, why);
                if (r == -EKEYREJECTED)
                        snprintf(err, CONFIG_ERROR_MAX, "key %s: does not match the certificate %s",
                                 m.key_path, m.cert_path);
                else if (r < 0)
                        snprintf(err, CONFIG_ERROR_MAX, "%s %s: %s",
                                 tls_error_is_key(r) ? "key" : "certificate",
                                 tls_error_is_key(r) ? m.key_path : m.cert_path, why);
        }
        if (r < 0) {
                tls_material_done(&m);
                return r;
        }
        c->tls = m;
        return 0;
}
