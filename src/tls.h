/* The certificate and key of the HTTPS listeners: read into memory, checked
 * with GnuTLS before any worker is given them. Never logs: what is wrong
 * comes back as an errno and a line of text the caller puts a file name to. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TLS 1.2 and 1.3 only, with GnuTLS's "SECURE" ciphers; tls-priorities
 * replaces it. */
#define TLS_DEFAULT_PRIORITIES "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* A PEM file larger than this is no certificate chain or key. */
#define TLS_FILE_MAX (1024u * 1024u)
/* A certificate that expires sooner than this is warned about. */
#define TLS_EXPIRY_WARN_USEC (14 * 24 * 3600 * UINT64_C(1000000))
#define TLS_REASON_MAX 160

/* A file's bytes, NUL-terminated as libmicrohttpd takes PEM text. */
typedef struct TlsPem {
        char *data;
        size_t size; /* without the NUL */
} TlsPem;

/* What the HTTPS listeners serve: a certificate chain and its key, read
 * and checked, with where they came from for messages. */
typedef struct TlsMaterial {
        TlsPem cert, key;
        char *cert_path, *key_path;
        uint64_t not_after_usec; /* the leaf's expiry, since the epoch; 0: none loaded */
} TlsMaterial;

static inline bool tls_material_loaded(const TlsMaterial *m) {
        return m->cert.data != NULL;
}
/* A copy, bytes and paths. -ENOMEM leaves *ret empty. */
int tls_material_copy(const TlsMaterial *from, TlsMaterial *ret);
/* Wipes the key and frees it all. */
void tls_material_done(TlsMaterial *m);

/* Reads a PEM file whole. -EFBIG beyond TLS_FILE_MAX; a negative errno of
 * open or read otherwise. */
int tls_pem_read(const char *path, TlsPem *ret);
/* The same from an open file (a regular one: -EINVAL otherwise), from its
 * start. The fd stays open. */
int tls_pem_read_fd(int fd, TlsPem *ret);
/* Copies size bytes into a new TlsPem. */
int tls_pem_copy(const TlsPem *from, TlsPem *ret);
/* Wipes the bytes (a key must not linger in freed memory) and frees them. */
void tls_pem_done(TlsPem *p);

/* Checks a certificate chain (leaf first) and its key, as of now_usec
 * (CLOCK_REALTIME):
 *   -EBADMSG      the certificate file holds no PEM certificate
 *   -ENOKEY       the key file holds no unencrypted PEM private key
 *   -EKEYREJECTED the key is not the one of the leaf certificate
 *   -EKEYEXPIRED  a certificate of the chain has expired
 *   -ETIME        a certificate of the chain is not valid yet
 * The first two name the file at fault by the error (tls_error_is_key()).
 * On error why says what is wrong, in a few words; on success
 * *ret_not_after is the leaf's expiry in microseconds since the epoch. */
int tls_check(const TlsPem *cert, const TlsPem *key, uint64_t now_usec, uint64_t *ret_not_after,
              char why[TLS_REASON_MAX]);

/* Whether an error of tls_check() is the key file's, not the certificate's. */
bool tls_error_is_key(int error);

/* Whether GnuTLS accepts a priority string: 0, or -EINVAL with why saying
 * where it stopped. */
int tls_check_priorities(const char *priorities, char why[TLS_REASON_MAX]);

/* "2026-03-01 12:00:00 UTC" */
void tls_format_time(uint64_t usec, char buf[32]);
