/* Certificate and key checks with GnuTLS, in the manager, before a config
 * that carries them is accepted: the workers' libmicrohttpd would otherwise
 * find out, one failed start after another, or serve an expired chain. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

void tls_pem_done(TlsPem *p) {
        if (p->data) {
                explicit_bzero(p->data, p->size);
                free(p->data);
        }
        *p = (TlsPem) {};
}

int tls_pem_read_fd(int fd, TlsPem *ret) {
        struct stat st;
        TlsPem p = {};
        size_t cap;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (st.st_size > (off_t) TLS_FILE_MAX)
                return -EFBIG;
        /* room for the NUL, and for a file that grew since fstat */
        cap = (size_t) st.st_size + 1;
        p.data = malloc(cap);
        if (!p.data)
                return -ENOMEM;
        for (;;) {
                ssize_t n = pread(fd, p.data + p.size, cap - p.size, (off_t) p.size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = negative_errno();
                        tls_pem_done(&p);
                        return r;
                }
                if (n == 0)
                        break;
                p.size += (size_t) n;
                if (p.size < cap)
                        continue;
                if (cap > TLS_FILE_MAX) {
                        tls_pem_done(&p);
                        return -EFBIG;
                }
                /* grew: take it into a larger buffer, never leaving a copy */
                char *more = malloc(cap * 2);
                if (!more) {
                        tls_pem_done(&p);
                        return -ENOMEM;
                }
                memcpy(more, p.data, p.size);
                explicit_bzero(p.data, p.size);
                free(p.data);
                p.data = more;
                cap *= 2;
        }
        p.data[p.size] = 0;
        *ret = p;
        return 0;
}

int tls_pem_read(const char *path, TlsPem *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        return tls_pem_read_fd(fd, ret);
}

int tls_pem_copy(const TlsPem *from, TlsPem *ret) {
        char *data = malloc(from->size + 1);

        if (!data)
                return -ENOMEM;
        memcpy(data, from->data, from->size);
        data[from->size] = 0;
        *ret = (TlsPem) { .data = data, .size = from->size };
        return 0;
}

void tls_material_done(TlsMaterial *m) {
        tls_pem_done(&m->cert);
        tls_pem_done(&m->key);
        free(m->cert_path);
        free(m->key_path);
        *m = (TlsMaterial) {};
}

int tls_material_copy(const TlsMaterial *from, TlsMaterial *ret) {
        TlsMaterial m = { .not_after_usec = from->not_after_usec };

        if (tls_pem_copy(&from->cert, &m.cert) < 0 || tls_pem_copy(&from->key, &m.key) < 0 ||
            !(m.cert_path = strdup(from->cert_path ?: "")) ||
            !(m.key_path = strdup(from->key_path ?: ""))) {
                tls_material_done(&m);
                *ret = (TlsMaterial) {};
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

bool tls_error_is_key(int error) {
        return error == -ENOKEY || error == -EKEYREJECTED;
}

void tls_format_time(uint64_t usec, char buf[32]) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, 32, "@%llu", (unsigned long long) t);
}

static gnutls_datum_t datum_of(const TlsPem *p) {
        return (gnutls_datum_t) { .data = (unsigned char *) p->data, .size = (unsigned) p->size };
}

/* The key's and the leaf's public key ids are equal exactly when the key
 * is the certificate's. */
static int check_pair(gnutls_x509_crt_t leaf, gnutls_x509_privkey_t key, char *why) {
        unsigned char a[64], b[64];
        size_t na = sizeof a, nb = sizeof b;
        int r;

        r = gnutls_x509_crt_get_key_id(leaf, GNUTLS_KEYID_USE_SHA256, a, &na);
        if (r < 0) {
                snprintf(why, TLS_REASON_MAX, "cannot read the certificate's public key: %s",
                         gnutls_strerror(r));
                return -EBADMSG;
        }
        r = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &nb);
        if (r < 0) {
                snprintf(why, TLS_REASON_MAX, "cannot read the key's public part: %s",
                         gnutls_strerror(r));
                return -ENOKEY;
        }
        if (na != nb || memcmp(a, b, na) != 0) {
                snprintf(why, TLS_REASON_MAX, "the key does not match the certificate");
                return -EKEYREJECTED;
        }
        return 0;
}

/* Each certificate of the chain is valid now. */
static int check_dates(gnutls_x509_crt_t *crts, unsigned n, uint64_t now_usec, char *why) {
        time_t now = (time_t) (now_usec / USEC_PER_SEC);
        char when[32];

        for (unsigned i = 0; i < n; i++) {
                time_t not_after = gnutls_x509_crt_get_expiration_time(crts[i]);
                time_t not_before = gnutls_x509_crt_get_activation_time(crts[i]);
                const char *which = i == 0 ? "the certificate" : "a certificate of its chain";
                char nth[24] = "";

                if (i > 0)
                        snprintf(nth, sizeof nth, " (number %u)", i + 1);
                if (not_after == (time_t) -1 || not_before == (time_t) -1) {
                        snprintf(why, TLS_REASON_MAX, "%s%s has no valid dates", which, nth);
                        return -EBADMSG;
                }
                if (not_after < now) {
                        tls_format_time((uint64_t) not_after * USEC_PER_SEC, when);
                        snprintf(why, TLS_REASON_MAX, "%s%s expired on %s", which, nth, when);
                        return -EKEYEXPIRED;
                }
                if (not_before > now) {
                        tls_format_time((uint64_t) not_before * USEC_PER_SEC, when);
                        snprintf(why, TLS_REASON_MAX, "%s%s is not valid before %s", which, nth,
                                 when);
                        return -ETIME;
                }
        }
        return 0;
}

int tls_check(const TlsPem *cert, const TlsPem *key, uint64_t now_usec, uint64_t *ret_not_after,
              char why[TLS_REASON_MAX]) {
        gnutls_datum_t cd = datum_of(cert), kd = datum_of(key);
        gnutls_x509_crt_t *crts = NULL;
        gnutls_x509_privkey_t pk = NULL;
        unsigned n = 0;
        int g, r;

        g = gnutls_x509_crt_list_import2(&crts, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
        if (g < 0 || n == 0) {
                snprintf(why, TLS_REASON_MAX, "no PEM certificate in it (%s)",
                         g < 0 ? gnutls_strerror(g) : "none found");
                r = -EBADMSG;
                goto out;
        }
        g = gnutls_x509_privkey_init(&pk);
        if (g < 0) {
                snprintf(why, TLS_REASON_MAX, "%s", gnutls_strerror(g));
                r = -ENOMEM;
                goto out;
        }
        g = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
        if (g < 0) {
                snprintf(why, TLS_REASON_MAX, "no unencrypted PEM private key in it (%s)",
                         gnutls_strerror(g));
                r = -ENOKEY;
                goto out;
        }
        r = check_pair(crts[0], pk, why);
        if (r >= 0)
                r = check_dates(crts, n, now_usec, why);
        if (r >= 0)
                *ret_not_after =
                        (uint64_t) gnutls_x509_crt_get_expiration_time(crts[0]) * USEC_PER_SEC;
out:
        if (pk)
                gnutls_x509_privkey_deinit(pk); /* GnuTLS wipes the key's numbers */
        for (unsigned i = 0; i < n; i++)
                gnutls_x509_crt_deinit(crts[i]);
        gnutls_free(crts);
        return r;
}

int tls_check_priorities(const char *priorities, char why[TLS_REASON_MAX]) {
        gnutls_priority_t p = NULL;
        const char *at = NULL;
        int g = gnutls_priority_init(&p, priorities, &at);

        if (g < 0) {
                if (at && g == GNUTLS_E_INVALID_REQUEST)
                        snprintf(why, TLS_REASON_MAX, "GnuTLS cannot parse it from '%.60s' on", at);
                else
                        snprintf(why, TLS_REASON_MAX, "GnuTLS refuses it: %s", gnutls_strerror(g));
                return -EINVAL;
        }
        gnutls_priority_deinit(p);
        return 0;
}
