/* Unit tests for tls.c and config_load_tls(): the certificate checks the
 * manager makes before a config with HTTPS is taken, on certificates made
 * here with GnuTLS (any dates, any key), and the key's bytes wiped when a
 * config is freed. free() is wrapped to look at the bytes as they go. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "macro.h"
#include "tls.h"

#define DAY (24 * 3600 * USEC_PER_SEC)
#define NOW (UINT64_C(1767225600) * USEC_PER_SEC) /* 2026-01-01 00:00:00 UTC */

/* ---- free() that checks a watched buffer is all zeros when freed ---- */

void __real_free(void *p);
static const void *watched;
static size_t watched_size;
static int watched_freed; /* 1: freed wiped, -1: freed with bytes left */

void __wrap_free(void *p) {
        if (p && p == watched) {
                const unsigned char *b = p;
                size_t i = 0;
                while (i < watched_size && b[i] == 0)
                        i++;
                watched_freed = i == watched_size ? 1 : -1;
                watched = NULL;
        }
        __real_free(p);
}

static void watch(const void *p, size_t size) {
        watched = p;
        watched_size = size;
        watched_freed = 0;
}

/* ---- certificates made for the tests ---- */

typedef struct Made {
        gnutls_x509_privkey_t key;
        gnutls_x509_crt_t crt;
        TlsPem key_pem, crt_pem;
} Made;

static TlsPem pem_of(gnutls_datum_t *d) {
        TlsPem p = { .data = malloc(d->size + 1), .size = d->size };
        assert_non_null(p.data);
        memcpy(p.data, d->data, d->size);
        p.data[d->size] = 0;
        gnutls_free(d->data);
        return p;
}

static gnutls_x509_privkey_t make_key(gnutls_pk_algorithm_t algo) {
        gnutls_x509_privkey_t k;
        unsigned bits =
                algo == GNUTLS_PK_RSA ? 2048 : GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);

        assert_int_equal(gnutls_x509_privkey_init(&k), 0);
        assert_int_equal(gnutls_x509_privkey_generate(k, algo, bits, 0), 0);
        return k;
}

/* A certificate for key, valid from..until, signed by issuer (NULL: by itself). */
static void make_cert(Made *m, gnutls_pk_algorithm_t algo, uint64_t from, uint64_t until,
                      const Made *issuer) {
        static unsigned serial;
        unsigned char sn[4];
        gnutls_datum_t d;

        m->key = make_key(algo);
        assert_int_equal(gnutls_x509_crt_init(&m->crt), 0);
        assert_int_equal(gnutls_x509_crt_set_version(m->crt, 3), 0);
        serial++;
        memcpy(sn, &serial, sizeof sn);
        assert_int_equal(gnutls_x509_crt_set_serial(m->crt, sn, sizeof sn), 0);
        assert_int_equal(
                gnutls_x509_crt_set_activation_time(m->crt, (time_t) (from / USEC_PER_SEC)), 0);
        assert_int_equal(
                gnutls_x509_crt_set_expiration_time(m->crt, (time_t) (until / USEC_PER_SEC)), 0);
        assert_int_equal(gnutls_x509_crt_set_dn_by_oid(m->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                       "localhost", 9),
                         0);
        assert_int_equal(gnutls_x509_crt_set_key(m->crt, m->key), 0);
        if (!issuer)
                assert_int_equal(gnutls_x509_crt_set_basic_constraints(m->crt, 1, -1), 0);
        assert_int_equal(gnutls_x509_crt_sign2(m->crt, issuer ? issuer->crt : m->crt,
                                               issuer ? issuer->key : m->key, GNUTLS_DIG_SHA256, 0),
                         0);
        assert_int_equal(gnutls_x509_crt_export2(m->crt, GNUTLS_X509_FMT_PEM, &d), 0);
        m->crt_pem = pem_of(&d);
        assert_int_equal(gnutls_x509_privkey_export2(m->key, GNUTLS_X509_FMT_PEM, &d), 0);
        m->key_pem = pem_of(&d);
}

static void made_done(Made *m) {
        gnutls_x509_privkey_deinit(m->key);
        gnutls_x509_crt_deinit(m->crt);
        tls_pem_done(&m->key_pem);
        tls_pem_done(&m->crt_pem);
}

static TlsPem text(const char *s) {
        TlsPem p = { .data = strdup(s), .size = strlen(s) };
        assert_non_null(p.data);
        return p;
}

/* Two PEM texts, one after the other: a chain. */
static TlsPem concat(const TlsPem *a, const TlsPem *b) {
        TlsPem p = { .data = malloc(a->size + b->size + 1), .size = a->size + b->size };
        assert_non_null(p.data);
        memcpy(p.data, a->data, a->size);
        memcpy(p.data + a->size, b->data, b->size);
        p.data[p.size] = 0;
        return p;
}

/* ---- tls_check ---- */

static void check_valid(gnutls_pk_algorithm_t algo, bool pkcs8) {
        char why[TLS_REASON_MAX] = "";
        uint64_t not_after = 0;
        Made m;

        make_cert(&m, algo, NOW - DAY, NOW + 90 * DAY, NULL);
        if (pkcs8) {
                gnutls_datum_t d;
                tls_pem_done(&m.key_pem);
                assert_int_equal(gnutls_x509_privkey_export2_pkcs8(m.key, GNUTLS_X509_FMT_PEM, NULL,
                                                                   GNUTLS_PKCS_PLAIN, &d),
                                 0);
                m.key_pem = pem_of(&d);
                assert_non_null(strstr(m.key_pem.data, "BEGIN PRIVATE KEY"));
        }
        assert_int_equal(tls_check(&m.crt_pem, &m.key_pem, NOW, &not_after, why), 0);
        assert_true(not_after == NOW + 90 * DAY);
        made_done(&m);
}

static void test_valid_ec_pair(void **state) {
        check_valid(GNUTLS_PK_ECDSA, false);
}

static void test_valid_ec_pair_pkcs8(void **state) {
        check_valid(GNUTLS_PK_ECDSA, true);
}

static void test_valid_rsa_pair(void **state) {
        check_valid(GNUTLS_PK_RSA, true);
}

static void test_key_of_another_certificate(void **state) {
        char why[TLS_REASON_MAX] = "";
        uint64_t not_after = 0;
        Made a, b;
        int r;

        make_cert(&a, GNUTLS_PK_ECDSA, NOW - DAY, NOW + DAY, NULL);
        make_cert(&b, GNUTLS_PK_ECDSA, NOW - DAY, NOW + DAY, NULL);
        r = tls_check(&a.crt_pem, &b.key_pem, NOW, &not_after, why);
        assert_int_equal(r, -EKEYREJECTED);
        assert_true(tls_error_is_key(r));
        assert_string_equal(why, "the key does not match the certificate");
        /* an RSA key against an EC certificate is no match either */
        made_done(&b);
        make_cert(&b, GNUTLS_PK_RSA, NOW - DAY, NOW + DAY, NULL);
        assert_int_equal(tls_check(&a.crt_pem, &b.key_pem, NOW, &not_after, why), -EKEYREJECTED);
        assert_true(not_after == 0);
        made_done(&a);
        made_done(&b);
}

static void test_expired(void **state) {
        char why[TLS_REASON_MAX] = "";
        uint64_t not_after = 0;
        Made m;
        int r;

        make_cert(&m, GNUTLS_PK_ECDSA, NOW - 30 * DAY, NOW - DAY, NULL);
        r = tls_check(&m.crt_pem, &m.key_pem, NOW, &not_after, why);
        assert_int_equal(r, -EKEYEXPIRED);
        assert_false(tls_error_is_key(r));
        assert_string_equal(why, "the certificate expired on 2025-12-31 00:00:00 UTC");
        /* the same certificate the day before it expired */
        assert_int_equal(tls_check(&m.crt_pem, &m.key_pem, NOW - 2 * DAY, &not_after, why), 0);
        made_done(&m);
}

static void test_not_yet_valid(void **state) {
        char why[TLS_REASON_MAX] = "";
        uint64_t not_after = 0;
        Made m;

        make_cert(&m, GNUTLS_PK_ECDSA, NOW + DAY, NOW + 30 * DAY, NULL);
        assert_int_equal(tls_check(&m.crt_pem, &m.key_pem, NOW, &not_after, why), -ETIME);
        assert_string_equal(why, "the certificate is not valid before 2026-01-02 00:00:00 UTC");
        made_done(&m);
}

/* A full chain, leaf first: the leaf's key matches, and the chain's
 * certificates are checked for their dates too. */
static void test_chain(void **state) {
        char why[TLS_REASON_MAX] = "";
        uint64_t not_after = 0;
        Made ca, leaf, old_ca, leaf2;
        TlsPem chain;

        make_cert(&ca, GNUTLS_PK_ECDSA, NOW - DAY, NOW + 365 * DAY, NULL);
        make_cert(&leaf, GNUTLS_PK_ECDSA, NOW - DAY, NOW + 10 * DAY, &ca);
        chain = concat(&leaf.crt_pem, &ca.crt_pem);
        assert_int_equal(tls_check(&chain, &leaf.key_pem, NOW, &not_after, why), 0);
        assert_true(not_after == NOW + 10 * DAY); /* the leaf's, not the CA's */
        /* the CA's key is not the leaf's */
        assert_int_equal(tls_check(&chain, &ca.key_pem, NOW, &not_after, why), -EKEYREJECTED);
        tls_pem_done(&chain);

        make_cert(&old_ca, GNUTLS_PK_ECDSA, NOW - 9 * DAY, NOW - 3 * DAY, NULL);
        make_cert(&leaf2, GNUTLS_PK_ECDSA, NOW - 4 * DAY, NOW + 10 * DAY, &old_ca);
        chain = concat(&leaf2.crt_pem, &old_ca.crt_pem);
        assert_int_equal(tls_check(&chain, &leaf2.key_pem, NOW, &not_after, why), -EKEYEXPIRED);
        assert_string_equal(why, "a certificate of its chain (number 2) expired on "
                                 "2025-12-29 00:00:00 UTC");
        tls_pem_done(&chain);
        made_done(&ca);
        made_done(&leaf);
        made_done(&old_ca);
        made_done(&leaf2);
}

static void test_not_pem(void **state) {
        char why[TLS_REASON_MAX] = "";
        uint64_t not_after = 0;
        Made m;
        TlsPem junk = text("hello\n"), empty = text("");
        gnutls_datum_t d;
        TlsPem encrypted;
        int r;

        make_cert(&m, GNUTLS_PK_ECDSA, NOW - DAY, NOW + DAY, NULL);
        r = tls_check(&junk, &m.key_pem, NOW, &not_after, why);
        assert_int_equal(r, -EBADMSG);
        assert_false(tls_error_is_key(r));
        assert_non_null(strstr(why, "no PEM certificate"));
        assert_int_equal(tls_check(&empty, &m.key_pem, NOW, &not_after, why), -EBADMSG);
        r = tls_check(&m.crt_pem, &junk, NOW, &not_after, why);
        assert_int_equal(r, -ENOKEY);
        assert_true(tls_error_is_key(r));
        assert_non_null(strstr(why, "no unencrypted PEM private key"));
        /* the two files swapped */
        assert_int_equal(tls_check(&m.key_pem, &m.crt_pem, NOW, &not_after, why), -EBADMSG);
        assert_int_equal(tls_check(&m.crt_pem, &m.crt_pem, NOW, &not_after, why), -ENOKEY);
        /* a key with a passphrase: nobody would be there to type it */
        assert_int_equal(gnutls_x509_privkey_export2_pkcs8(m.key, GNUTLS_X509_FMT_PEM, "secret",
                                                           GNUTLS_PKCS_PBES2_AES_256, &d),
                         0);
        encrypted = pem_of(&d);
        assert_int_equal(tls_check(&m.crt_pem, &encrypted, NOW, &not_after, why), -ENOKEY);
        tls_pem_done(&encrypted);
        tls_pem_done(&junk);
        tls_pem_done(&empty);
        made_done(&m);
}

/* ---- reading files ---- */

static char tmpdir[64];

static int setup_dir(void **state) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/clusterd-test-tls.XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const TlsPem *p, char path[128]) {
        FILE *f;

        snprintf(path, 128, "%s/%s", tmpdir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(p->data, 1, p->size, f), p->size);
        assert_int_equal(fclose(f), 0);
}

static void test_pem_read(void **state) {
        char path[128];
        TlsPem in = text("-----BEGIN X-----\nabc\n-----END X-----\n"), out = {};
        int fd;

        write_file("a.pem", &in, path);
        assert_int_equal(tls_pem_read(path, &out), 0);
        assert_int_equal(out.size, in.size);
        assert_string_equal(out.data, in.data); /* NUL-terminated */
        tls_pem_done(&out);
        assert_null(out.data);

        snprintf(path, sizeof path, "%s/missing.pem", tmpdir);
        assert_int_equal(tls_pem_read(path, &out), -ENOENT);
        assert_int_equal(tls_pem_read(tmpdir, &out), -EISDIR);
        assert_int_equal(tls_pem_read("/dev/null", &out), -EINVAL); /* not a regular file */

        snprintf(path, sizeof path, "%s/big.pem", tmpdir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, TLS_FILE_MAX + 1), 0);
        close(fd);
        assert_int_equal(tls_pem_read(path, &out), -EFBIG);
        tls_pem_done(&in);
}

static void test_pem_done_wipes(void **state) {
        TlsPem p = text("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n");

        watch(p.data, p.size);
        tls_pem_done(&p);
        assert_int_equal(watched_freed, 1);
}

static void test_priorities(void **state) {
        char why[TLS_REASON_MAX] = "";

        assert_int_equal(tls_check_priorities(TLS_DEFAULT_PRIORITIES, why), 0);
        assert_int_equal(tls_check_priorities("NORMAL:-VERS-ALL:+VERS-TLS1.3", why), 0);
        assert_int_equal(tls_check_priorities("SECURE:+BANANA", why), -EINVAL);
        assert_non_null(strstr(why, "BANANA"));
}

/* ---- config_load_tls ---- */

typedef struct Files {
        Made m, other;
        char cert[128], key[128], other_key[128], expired_cert[128], expired_key[128];
} Files;

static void files_make(Files *f) {
        Made old;
        uint64_t now = now_usec(CLOCK_REALTIME);

        make_cert(&f->m, GNUTLS_PK_ECDSA, now - DAY, now + 30 * DAY, NULL);
        make_cert(&f->other, GNUTLS_PK_ECDSA, now - DAY, now + 30 * DAY, NULL);
        make_cert(&old, GNUTLS_PK_ECDSA, now - 30 * DAY, now - DAY, NULL);
        write_file("tls.crt", &f->m.crt_pem, f->cert);
        write_file("tls.key", &f->m.key_pem, f->key);
        write_file("other.key", &f->other.key_pem, f->other_key);
        write_file("old.crt", &old.crt_pem, f->expired_cert);
        write_file("old.key", &old.key_pem, f->expired_key);
        made_done(&old);
}

static void files_done(Files *f) {
        made_done(&f->m);
        made_done(&f->other);
}

static void config_with(Config *c, const char *cert, const char *key) {
        const char *reason = NULL;

        assert_int_equal(config_init(c), 0);
        if (cert)
                assert_int_equal(config_set(c, "tls-certificate", cert, &reason), 0);
        if (key)
                assert_int_equal(config_set(c, "tls-key", key, &reason), 0);
}

static void test_load_files(void **state) {
        char err[CONFIG_ERROR_MAX] = "";
        uint64_t now = now_usec(CLOCK_REALTIME);
        Files f;
        Config c;

        files_make(&f);
        config_with(&c, f.cert, f.key);
        assert_int_equal(config_load_tls(&c, NULL, now, err), 0);
        assert_true(tls_material_loaded(&c.tls));
        assert_int_equal(c.tls.cert.size, f.m.crt_pem.size);
        assert_memory_equal(c.tls.key.data, f.m.key_pem.data, f.m.key_pem.size);
        assert_string_equal(c.tls.cert_path, f.cert);
        assert_true(c.tls.not_after_usec > now + 29 * DAY);
        /* freeing the config wipes the key's bytes */
        watch(c.tls.key.data, c.tls.key.size);
        config_done(&c);
        assert_int_equal(watched_freed, 1);
        files_done(&f);
}

static void expect_refused(const char *cert, const char *key, int error, const char *err_is) {
        char err[CONFIG_ERROR_MAX] = "";
        Config c;

        config_with(&c, cert, key);
        assert_int_equal(config_load_tls(&c, NULL, now_usec(CLOCK_REALTIME), err), error);
        assert_string_equal(err, err_is);
        assert_false(tls_material_loaded(&c.tls));
        config_done(&c);
}

/* One line that names the file at fault. */
static void test_load_refusals(void **state) {
        char want[CONFIG_ERROR_MAX], missing[160];
        Files f;

        files_make(&f);
        snprintf(want, sizeof want, "key %s: does not match the certificate %s", f.other_key,
                 f.cert);
        expect_refused(f.cert, f.other_key, -EKEYREJECTED, want);

        snprintf(missing, sizeof missing, "%s/nope.key", tmpdir);
        snprintf(want, sizeof want, "key %s: No such file or directory", missing);
        expect_refused(f.cert, missing, -ENOENT, want);
        snprintf(want, sizeof want, "certificate %s: No such file or directory", missing);
        expect_refused(missing, f.key, -ENOENT, want);

        /* unreadable: root reads any file, so the test drops to nobody */
        if (geteuid() != 0) {
                chmod(f.key, 0);
                snprintf(want, sizeof want, "key %s: Permission denied", f.key);
                expect_refused(f.cert, f.key, -EACCES, want);
                chmod(f.key, 0600);
        }

        snprintf(want, sizeof want, "certificate %s: the certificate expired on ", f.expired_cert);
        {
                char err[CONFIG_ERROR_MAX] = "";
                Config c;
                config_with(&c, f.expired_cert, f.expired_key);
                assert_int_equal(config_load_tls(&c, NULL, now_usec(CLOCK_REALTIME), err),
                                 -EKEYEXPIRED);
                assert_true(strncmp(err, want, strlen(want)) == 0);
                config_done(&c);
        }

        expect_refused(f.cert, NULL, -EINVAL, "tls-certificate is set without tls-key: give both");
        expect_refused(NULL, f.key, -EINVAL, "tls-key is set without tls-certificate: give both");
        files_done(&f);
}

/* Without tls-certificate and tls-key: systemd's credentials, and none at
 * all unless listen-tls asks for HTTPS. */
static void test_load_credentials(void **state) {
        char err[CONFIG_ERROR_MAX] = "", want[CONFIG_ERROR_MAX], path[128];
        const char *reason = NULL;
        uint64_t now = now_usec(CLOCK_REALTIME);
        Files f;
        Config c;

        files_make(&f); /* tls.crt and tls.key in tmpdir */
        unsetenv("CREDENTIALS_DIRECTORY");
        config_with(&c, NULL, NULL);
        assert_int_equal(config_load_tls(&c, NULL, now, err), 0);
        assert_false(tls_material_loaded(&c.tls));
        assert_int_equal(config_set(&c, "listen-tls", "127.0.0.1:8443", &reason), 0);
        assert_int_equal(config_load_tls(&c, NULL, now, err), -ENOKEY);
        assert_non_null(strstr(err, "listen-tls needs a certificate"));

        setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
        assert_int_equal(config_load_tls(&c, NULL, now, err), 0);
        assert_true(tls_material_loaded(&c.tls));
        assert_string_equal(c.tls.key_path, f.key);

        /* what the reload helper passed wins over the credentials */
        {
                TlsMaterial passed = {};
                passed.cert = f.other.crt_pem;
                passed.key = f.other.key_pem;
                passed.cert_path = (char *) "/etc/ssl/new.crt";
                passed.key_path = (char *) "/etc/ssl/private/new.key";
                assert_int_equal(config_load_tls(&c, &passed, now, err), 0);
                assert_string_equal(c.tls.key_path, "/etc/ssl/private/new.key");
                assert_memory_equal(c.tls.key.data, f.other.key_pem.data, f.other.key_pem.size);
                /* and is checked like any other */
                passed.key = f.m.key_pem;
                assert_int_equal(config_load_tls(&c, &passed, now, err), -EKEYREJECTED);
                assert_string_equal(err, "key /etc/ssl/private/new.key: does not match the "
                                         "certificate /etc/ssl/new.crt");
        }

        /* one of the two alone is a mistake worth naming */
        snprintf(path, sizeof path, "%s/tls.key", tmpdir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(config_load_tls(&c, NULL, now, err), -ENOENT);
        snprintf(want, sizeof want,
                 "credentials in %s: tls.crt but no tls.key (LoadCredential= both tls.crt and "
                 "tls.key)",
                 tmpdir);
        assert_string_equal(err, want);
        unsetenv("CREDENTIALS_DIRECTORY");

        /* with exec, nothing is read: the program does its own TLS */
        assert_int_equal(config_set(&c, "exec", "/bin/true", &reason), 0);
        assert_int_equal(config_set(&c, "tls-certificate", "/nonexistent", &reason), 0);
        assert_int_equal(config_set(&c, "tls-key", "/nonexistent", &reason), 0);
        assert_int_equal(config_load_tls(&c, NULL, now, err), 0);
        config_done(&c);
        files_done(&f);
}

static void test_config_keys(void **state) {
        const char *reason = NULL;
        Config c;

        assert_int_equal(config_init(&c), 0);
        assert_string_equal(config_tls_priorities(&c), TLS_DEFAULT_PRIORITIES);
        assert_int_equal(config_set(&c, "tls-priorities", "NORMAL:-VERS-ALL:+VERS-TLS1.3", &reason),
                         0);
        assert_string_equal(config_tls_priorities(&c), "NORMAL:-VERS-ALL:+VERS-TLS1.3");
        assert_int_equal(config_set(&c, "tls-priorities", "NORMAL:+NOPE", &reason), -EINVAL);
        assert_non_null(strstr(reason, "GnuTLS cannot parse it"));
        assert_string_equal(config_tls_priorities(&c), "NORMAL:-VERS-ALL:+VERS-TLS1.3");
        assert_int_equal(config_set(&c, "tls-priorities", "", &reason), 0);
        assert_string_equal(config_tls_priorities(&c), TLS_DEFAULT_PRIORITIES);
        assert_int_equal(config_set(&c, "listen-tls", "0.0.0.0:8443", &reason), 0);
        assert_int_equal(config_set(&c, "listen-tls", "[::]:8443", &reason), 0);
        assert_int_equal(c.n_listen_tls, 2);
        assert_int_equal(config_set(&c, "listen-tls", "8443", &reason), -EINVAL);
        config_done(&c);
}

/* listen-tls alone drops the default plain address; with listen, both. */
static void test_build_listen(void **state) {
        static const ConfigOverride tls_only[] = { { "listen-tls", "127.0.0.1:8443" },
                                                   { "root", "/" } };
        static const ConfigOverride both[] = { { "listen-tls", "127.0.0.1:8443" },
                                               { "listen", "127.0.0.1:8080" },
                                               { "root", "/" } };
        char err[CONFIG_ERROR_MAX] = "";
        Config c;

        assert_int_equal(config_build(&c, NULL, false, tls_only, ELEMENTSOF(tls_only), err), 0);
        assert_int_equal(c.n_listen, 0);
        assert_int_equal(c.n_listen_tls, 1);
        config_done(&c);
        assert_int_equal(config_build(&c, NULL, false, both, ELEMENTSOF(both), err), 0);
        assert_int_equal(c.n_listen, 1);
        assert_int_equal(c.n_listen_tls, 1);
        config_done(&c);
}

static void test_format_time(void **state) {
        char buf[32];

        tls_format_time(NOW, buf);
        assert_string_equal(buf, "2026-01-01 00:00:00 UTC");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_ec_pair),
                cmocka_unit_test(test_valid_ec_pair_pkcs8),
                cmocka_unit_test(test_valid_rsa_pair),
                cmocka_unit_test(test_key_of_another_certificate),
                cmocka_unit_test(test_expired),
                cmocka_unit_test(test_not_yet_valid),
                cmocka_unit_test(test_chain),
                cmocka_unit_test(test_not_pem),
                cmocka_unit_test(test_pem_read),
                cmocka_unit_test(test_pem_done_wipes),
                cmocka_unit_test(test_priorities),
                cmocka_unit_test(test_load_files),
                cmocka_unit_test(test_load_refusals),
                cmocka_unit_test(test_load_credentials),
                cmocka_unit_test(test_config_keys),
                cmocka_unit_test(test_build_listen),
                cmocka_unit_test(test_format_time),
        };
        return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
