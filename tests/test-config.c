/* Unit tests for config.c: defaults, every key's good and bad values, the INI
 * file with its error messages, and the full build with command-line overrides. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "macro.h"

/* Every test gets a fresh temporary directory holding a document root "www". */
typedef struct Fixture {
        char dir[64];
        char www[96];
        char path[128]; /* scratch config file */
        Config c;
        char err[CONFIG_ERROR_MAX];
} Fixture;

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);

        if (!f)
                return -1;
        snprintf(f->dir, sizeof f->dir, "/tmp/clusterd-test-config-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        snprintf(f->www, sizeof f->www, "%s/www", f->dir);
        snprintf(f->path, sizeof f->path, "%s/clusterd.conf", f->dir);
        if (mkdir(f->www, 0755) < 0)
                return -1;
        config_init(&f->c);
        *state = f;
        return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;

        if (!f)
                return 0;
        config_done(&f->c);
        nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void write_text(const char *path, const char *text) {
        FILE *out = fopen(path, "we");

        assert_non_null(out);
        fputs(text, out);
        assert_int_equal(fclose(out), 0);
}

/* "PATH:LINE:" as the error message should start. */
static void expect_prefix(const Fixture *f, int line) {
        char want[160];

        snprintf(want, sizeof want, "%s:%d:", f->path, line);
        if (strncmp(f->err, want, strlen(want)) != 0)
                fail_msg("error \"%s\" does not start with \"%s\"", f->err, want);
}

static void expect_in_err(const Fixture *f, const char *s) {
        if (!strstr(f->err, s))
                fail_msg("error \"%s\" does not mention \"%s\"", f->err, s);
}

/* ---- defaults and config_set ---- */

static void test_defaults(void **state) {
        Fixture *f = *state;
        const Config *c = &f->c;

        assert_string_equal(c->root, CONFIG_DEFAULT_ROOT);
        assert_int_equal(c->n_listen, 1);
        assert_string_equal(c->listen[0], CONFIG_DEFAULT_LISTEN);
        assert_false(c->listen_given);
        assert_int_equal(c->workers, 0);
        assert_string_equal(c->mime_types, "/etc/mime.types");
        assert_int_equal(c->heartbeat_interval_usec, 1 * USEC_PER_SEC);
        assert_int_equal(c->heartbeat_timeout_usec, 10 * USEC_PER_SEC);
        assert_int_equal(c->drain_timeout_usec, 30 * USEC_PER_SEC);
        assert_int_equal(c->restart_backoff_max_usec, 30 * USEC_PER_SEC);
        assert_int_equal(c->crash_loop_limit, 5);
        assert_int_equal(c->connection_timeout_sec, 30);
        assert_int_equal(c->connection_limit, 4096);
        assert_int_equal(c->connection_memory, 32 * 1024);
        assert_int_equal(c->log_level, LOG_INFO);
        assert_false(c->dotfiles); /* .env and .git are not served unless asked */
        assert_int_equal(c->access_log, CONFIG_ACCESS_LOG_OFF);
        assert_null(c->access_log_path);
        assert_string_equal(config_access_log_name(c), "off");
        assert_int_equal(c->worker_seccomp, CONFIG_SECCOMP_YES); /* confined unless asked */
        assert_string_equal(c->bus_name, "io.clusterd1");
        /* the defaults themselves pass validation, apart from the root */
        assert_true(c->heartbeat_interval_usec * 2 <= c->heartbeat_timeout_usec);
}

static void test_done_twice(void **state) {
        Config c;

        config_init(&c);
        config_done(&c);
        assert_null(c.root);
        assert_null(c.mime_types);
        assert_int_equal(c.n_listen, 0);
        config_done(&c);
}

/* Out of memory on purpose: tests/meson.build links this test with
 * --wrap=strdup and --wrap=free, so the calls config.c makes come here. While
 * strdup_fail_at is N > 0, the Nth strdup fails; every string strdup hands
 * out meanwhile is counted until it is freed. */
static unsigned strdup_fail_at, strdup_calls, strdup_live;
static void *strdup_given[8];

char *__real_strdup(const char *s);
void __real_free(void *p);

char *__wrap_strdup(const char *s) {
        char *p;

        if (!strdup_fail_at)
                return __real_strdup(s);
        if (++strdup_calls == strdup_fail_at)
                return NULL;
        p = __real_strdup(s);
        for (size_t i = 0; p && i < ELEMENTSOF(strdup_given); i++)
                if (!strdup_given[i]) {
                        strdup_given[i] = p;
                        strdup_live++;
                        break;
                }
        return p;
}

void __wrap_free(void *p) {
        for (size_t i = 0; p && i < ELEMENTSOF(strdup_given); i++)
                if (strdup_given[i] == p) {
                        strdup_given[i] = NULL;
                        strdup_live--;
                }
        __real_free(p);
}

static void strdup_fail(unsigned n) {
        strdup_fail_at = n;
        strdup_calls = 0;
}

/* Each of config_init's allocations in turn fails: -ENOMEM, with what it
 * had allocated freed and the config left empty, which config_done takes
 * (twice, too); the first call past the last allocation succeeds. */
static void test_init_out_of_memory(void **state) {
        unsigned n;
        Config c;

        for (n = 1;; n++) {
                strdup_fail(n);
                int r = config_init(&c);
                strdup_fail(0);
                if (r == 0) {
                        config_done(&c);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_int_equal(strdup_live, 0);
                assert_null(c.root);
                assert_null(c.mime_types);
                assert_null(c.bus_name);
                assert_int_equal(c.n_listen, 0);
                config_done(&c);
                config_done(&c);
        }
        /* root, mime-types, bus-name and the default listen address */
        assert_int_equal(n, 5);
}

/* config_build says so, and leaves nothing to free */
static void test_build_out_of_memory(void **state) {
        char err[CONFIG_ERROR_MAX] = "";
        Config c;

        strdup_fail(1);
        assert_int_equal(config_build(&c, NULL, false, NULL, 0, err), -ENOMEM);
        strdup_fail(0);
        assert_string_equal(err, "out of memory");
        assert_int_equal(strdup_live, 0);
        config_done(&c);
}

/* Sets key=value and expects rejection with the given error and a reason. */
static void expect_bad(Config *c, const char *key, const char *value, int want) {
        const char *reason = NULL;
        int r = config_set(c, key, value, &reason);

        if (r != want)
                fail_msg("config_set(%s, \"%s\") = %d, expected %d", key, value ? value : "(null)",
                         r, want);
        assert_non_null(reason);
        assert_true(strlen(reason) > 0);
}

static void expect_good(Config *c, const char *key, const char *value) {
        const char *reason = NULL;
        int r = config_set(c, key, value, &reason);

        if (r != 0)
                fail_msg("config_set(%s, \"%s\") = %d (%s)", key, value, r,
                         reason ? reason : "no reason");
}

static void test_set_workers(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        expect_good(c, "workers", "1");
        assert_int_equal(c->workers, 1);
        expect_good(c, "workers", "256");
        assert_int_equal(c->workers, 256);
        expect_good(c, "workers", "auto");
        assert_int_equal(c->workers, 0);

        c->workers = 7;
        expect_bad(c, "workers", "0", -EINVAL);
        expect_bad(c, "workers", "257", -EINVAL);
        expect_bad(c, "workers", "banana", -EINVAL);
        expect_bad(c, "workers", "", -EINVAL);
        expect_bad(c, "workers", NULL, -EINVAL);
        expect_bad(c, "workers", "-1", -EINVAL);
        expect_bad(c, "workers", " 4", -EINVAL);
        expect_bad(c, "workers", "4 ", -EINVAL);
        expect_bad(c, "workers", "4x", -EINVAL);
        expect_bad(c, "workers", "AUTO", -EINVAL);
        expect_bad(c, "workers", "99999999999999999999999", -EINVAL);
        /* a rejected value leaves the old one */
        assert_int_equal(c->workers, 7);
}

static void test_set_durations(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        expect_good(c, "heartbeat-interval", "500ms");
        assert_int_equal(c->heartbeat_interval_usec, 500 * USEC_PER_MSEC);
        expect_good(c, "heartbeat-timeout", "10s");
        assert_int_equal(c->heartbeat_timeout_usec, 10 * USEC_PER_SEC);
        expect_good(c, "drain-timeout", "2min");
        assert_int_equal(c->drain_timeout_usec, 120 * USEC_PER_SEC);
        expect_good(c, "restart-backoff-max", "750000us");
        assert_int_equal(c->restart_backoff_max_usec, 750 * USEC_PER_MSEC);
        /* a bare number is seconds */
        expect_good(c, "drain-timeout", "5");
        assert_int_equal(c->drain_timeout_usec, 5 * USEC_PER_SEC);
        expect_good(c, "drain-timeout", "0");
        assert_int_equal(c->drain_timeout_usec, 0);

        static const char *const keys[] = { "heartbeat-interval", "heartbeat-timeout",
                                            "drain-timeout", "restart-backoff-max" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                expect_bad(c, keys[i], "banana", -EINVAL);
                expect_bad(c, keys[i], "", -EINVAL);
                expect_bad(c, keys[i], "10 s", -EINVAL);
                expect_bad(c, keys[i], "10h", -EINVAL);
                expect_bad(c, keys[i], "-1s", -EINVAL);
                expect_bad(c, keys[i], "2hours", -EINVAL);
                expect_bad(c, keys[i], "99999999999999999min", -EINVAL); /* overflows */
        }
        /* outside each key's limits */
        expect_bad(c, "heartbeat-interval", "5ms", -EINVAL);
        expect_bad(c, "heartbeat-interval", "2min", -EINVAL);
        expect_bad(c, "heartbeat-timeout", "50ms", -EINVAL);
        expect_bad(c, "drain-timeout", "61min", -EINVAL);
        assert_int_equal(c->drain_timeout_usec, 0);
}

static void test_set_sizes(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        expect_good(c, "connection-memory", "64K");
        assert_int_equal(c->connection_memory, 64 * 1024);
        expect_good(c, "connection-memory", "1M");
        assert_int_equal(c->connection_memory, 1024 * 1024);
        expect_good(c, "connection-memory", "4096");
        assert_int_equal(c->connection_memory, 4096);
        expect_good(c, "connection-memory", "16M");
        assert_int_equal(c->connection_memory, 16 * 1024 * 1024);

        expect_bad(c, "connection-memory", "banana", -EINVAL);
        expect_bad(c, "connection-memory", "2K", -EINVAL);
        expect_bad(c, "connection-memory", "17M", -EINVAL);
        expect_bad(c, "connection-memory", "1G", -EINVAL);
        expect_bad(c, "connection-memory", "64KB", -EINVAL);
        expect_bad(c, "connection-memory", "K", -EINVAL);
        assert_int_equal(c->connection_memory, 16 * 1024 * 1024);
}

static void test_set_numbers(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        expect_good(c, "connection-timeout", "60");
        assert_int_equal(c->connection_timeout_sec, 60);
        expect_good(c, "connection-limit", "100");
        assert_int_equal(c->connection_limit, 100);
        expect_good(c, "crash-loop-limit", "1");
        assert_int_equal(c->crash_loop_limit, 1);

        expect_bad(c, "connection-timeout", "0", -EINVAL);
        expect_bad(c, "connection-timeout", "3601", -EINVAL);
        expect_bad(c, "connection-timeout", "30s", -EINVAL);
        expect_bad(c, "connection-limit", "0", -EINVAL);
        expect_bad(c, "connection-limit", "1000001", -EINVAL);
        expect_bad(c, "crash-loop-limit", "0", -EINVAL);
        expect_bad(c, "crash-loop-limit", "many", -EINVAL);
}

static void test_set_listen(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        /* config_set appends; replacing the default is config_build's job */
        expect_good(c, "listen", "127.0.0.1:8080");
        assert_int_equal(c->n_listen, 2);
        assert_string_equal(c->listen[1], "127.0.0.1:8080");
        expect_good(c, "listen", "[::1]:8080");
        assert_int_equal(c->n_listen, 3);
        assert_string_equal(c->listen[2], "[::1]:8080");
        expect_good(c, "listen", "*:80");
        assert_int_equal(c->n_listen, 4);

        expect_bad(c, "listen", "nope", -EINVAL);
        expect_bad(c, "listen", "", -EINVAL);
        expect_bad(c, "listen", "localhost:80", -EINVAL);
        expect_bad(c, "listen", "127.0.0.1:0", -EINVAL);
        assert_int_equal(c->n_listen, 4);
}

static void test_set_listen_limit(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;
        char a[32];

        while (c->n_listen < CONFIG_MAX_LISTEN) {
                snprintf(a, sizeof a, "127.0.0.1:%zu", 9000 + c->n_listen);
                expect_good(c, "listen", a);
        }
        assert_true(config_set(c, "listen", "127.0.0.1:1", &reason) < 0);
        assert_non_null(reason);
        assert_non_null(strstr(reason, "16"));
        assert_int_equal(c->n_listen, CONFIG_MAX_LISTEN);
}

static void test_set_strings(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        expect_good(c, "root", "/srv/www");
        assert_string_equal(c->root, "/srv/www");
        expect_bad(c, "root", "", -EINVAL);
        assert_string_equal(c->root, "/srv/www");
        expect_good(c, "mime-types", "/opt/mime.types");
        assert_string_equal(c->mime_types, "/opt/mime.types");
}

static void test_set_log_level(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        expect_good(c, "log-level", "debug");
        assert_int_equal(c->log_level, LOG_DEBUG);
        expect_good(c, "log-level", "err");
        assert_int_equal(c->log_level, LOG_ERR);
        expect_good(c, "log-level", "warning");
        assert_int_equal(c->log_level, LOG_WARNING);
        expect_bad(c, "log-level", "loud", -EINVAL);
        expect_bad(c, "log-level", "DEBUG", -EINVAL);
        expect_bad(c, "log-level", "7", -EINVAL);
        assert_int_equal(c->log_level, LOG_WARNING);
}

static void test_set_worker_seccomp(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        expect_good(c, "worker-seccomp", "log");
        assert_int_equal(c->worker_seccomp, CONFIG_SECCOMP_LOG);
        assert_string_equal(config_seccomp_name(c->worker_seccomp), "log");
        expect_good(c, "worker-seccomp", "no");
        assert_int_equal(c->worker_seccomp, CONFIG_SECCOMP_NO);
        assert_string_equal(config_seccomp_name(c->worker_seccomp), "no");
        expect_good(c, "worker-seccomp", "yes");
        assert_int_equal(c->worker_seccomp, CONFIG_SECCOMP_YES);
        assert_string_equal(config_seccomp_name(c->worker_seccomp), "yes");
        expect_bad(c, "worker-seccomp", "on", -EINVAL);
        expect_bad(c, "worker-seccomp", "YES", -EINVAL);
        expect_bad(c, "worker-seccomp", "", -EINVAL);
        expect_bad(c, "worker-seccomp", NULL, -EINVAL);
        /* a bad value leaves the setting as it was */
        assert_int_equal(c->worker_seccomp, CONFIG_SECCOMP_YES);
        assert_int_equal(config_set(c, "worker-seccomp", "off", &reason), -EINVAL);
        assert_string_equal(reason, "expected yes, no or log");
}

static void test_set_dotfiles(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        expect_good(c, "dotfiles", "allow");
        assert_true(c->dotfiles);
        expect_good(c, "dotfiles", "deny");
        assert_false(c->dotfiles);
        expect_good(c, "dotfiles", "allow");
        expect_bad(c, "dotfiles", "maybe", -EINVAL);
        expect_bad(c, "dotfiles", "ALLOW", -EINVAL);
        expect_bad(c, "dotfiles", "yes", -EINVAL);
        expect_bad(c, "dotfiles", "1", -EINVAL);
        expect_bad(c, "dotfiles", "", -EINVAL);
        expect_bad(c, "dotfiles", NULL, -EINVAL);
        /* a bad value leaves the setting as it was */
        assert_true(c->dotfiles);
        /* the reason names both values */
        assert_int_equal(config_set(c, "dotfiles", "maybe", &reason), -EINVAL);
        assert_non_null(strstr(reason, "allow"));
        assert_non_null(strstr(reason, "deny"));
}

static void test_set_compression(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        /* on by default: siblings br first, then gz; cached text compressed */
        assert_int_equal(c->precompressed.n, 2);
        assert_int_equal(c->precompressed.coding[0], CODING_BR);
        assert_true(c->compress);
        expect_good(c, "precompressed", "gz,br");
        assert_int_equal(c->precompressed.coding[0], CODING_GZIP);
        expect_good(c, "precompressed", "off");
        assert_int_equal(c->precompressed.n, 0);
        expect_good(c, "precompressed", "br");
        expect_bad(c, "precompressed", "gzip", -EINVAL);
        expect_bad(c, "precompressed", "br,br", -EINVAL);
        expect_bad(c, "precompressed", "", -EINVAL);
        assert_int_equal(c->precompressed.n, 1); /* left as it was */
        assert_int_equal(config_set(c, "precompressed", "zstd", &reason), -EINVAL);
        assert_non_null(strstr(reason, "br,gz"));
        expect_good(c, "compress", "off");
        assert_false(c->compress);
        expect_good(c, "compress", "on");
        assert_true(c->compress);
        expect_bad(c, "compress", "yes", -EINVAL);
        assert_true(c->compress);
}

static void test_set_access_log(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        expect_good(c, "access-log", "/var/log/clusterd/access.log");
        assert_int_equal(c->access_log, CONFIG_ACCESS_LOG_FILE);
        assert_string_equal(c->access_log_path, "/var/log/clusterd/access.log");
        assert_string_equal(config_access_log_name(c), "/var/log/clusterd/access.log");
        expect_good(c, "access-log", "journal");
        assert_int_equal(c->access_log, CONFIG_ACCESS_LOG_JOURNAL);
        assert_null(c->access_log_path);
        assert_string_equal(config_access_log_name(c), "journal");
        expect_good(c, "access-log", "/a");
        expect_good(c, "access-log", "off");
        assert_int_equal(c->access_log, CONFIG_ACCESS_LOG_OFF);
        assert_null(c->access_log_path);
        expect_good(c, "access-log", "/srv/log/x.log");
        /* a relative path would depend on where clusterd was started */
        expect_bad(c, "access-log", "access.log", -EINVAL);
        expect_bad(c, "access-log", "./access.log", -EINVAL);
        expect_bad(c, "access-log", "/var/log/", -EINVAL);
        expect_bad(c, "access-log", "/", -EINVAL);
        expect_bad(c, "access-log", "OFF", -EINVAL);
        expect_bad(c, "access-log", "", -EINVAL);
        expect_bad(c, "access-log", NULL, -EINVAL);
        /* a bad value leaves the setting as it was */
        assert_int_equal(c->access_log, CONFIG_ACCESS_LOG_FILE);
        assert_string_equal(c->access_log_path, "/srv/log/x.log");
        assert_int_equal(config_set(c, "access-log", "x", &reason), -EINVAL);
        assert_non_null(strstr(reason, "off"));
        assert_non_null(strstr(reason, "journal"));
        assert_non_null(strstr(reason, "absolute"));
}

static void test_set_unknown_key(void **state) {
        Fixture *f = *state;

        expect_bad(&f->c, "no-such-key", "1", -ENOENT);
        expect_bad(&f->c, "Workers", "1", -ENOENT);
        expect_bad(&f->c, "", "1", -ENOENT);
}

/* ---- config_load_file ---- */

static void test_load_good_with_section(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        write_text(f->path, "# clusterd test configuration\n"
                            "[clusterd]\n"
                            "root = /srv/www\n"
                            "listen = 127.0.0.1:9000\n"
                            "listen = [::1]:9000\n"
                            "workers = 4 ; inline comment\n"
                            "heartbeat-interval = 500ms\n"
                            "heartbeat-timeout = 5s\n"
                            "\n"
                            "; another comment\n"
                            "drain-timeout=2min\n"
                            "connection-memory = 64K\n"
                            "log-level = debug\n"
                            "dotfiles = allow\n"
                            "mime-types = /opt/mime.types\n");
        assert_int_equal(config_load_file(c, f->path, f->err), 0);
        assert_string_equal(c->root, "/srv/www");
        /* the file's listen lines replace the default */
        assert_int_equal(c->n_listen, 2);
        assert_string_equal(c->listen[0], "127.0.0.1:9000");
        assert_string_equal(c->listen[1], "[::1]:9000");
        assert_int_equal(c->workers, 4);
        assert_int_equal(c->heartbeat_interval_usec, 500 * USEC_PER_MSEC);
        assert_int_equal(c->heartbeat_timeout_usec, 5 * USEC_PER_SEC);
        assert_int_equal(c->drain_timeout_usec, 120 * USEC_PER_SEC);
        assert_int_equal(c->connection_memory, 64 * 1024);
        assert_int_equal(c->log_level, LOG_DEBUG);
        assert_true(c->dotfiles);
        assert_string_equal(c->mime_types, "/opt/mime.types");
}

static void test_load_good_without_section(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        write_text(f->path, "workers = auto\n"
                            "drain-timeout = 10s\n"
                            "crash-loop-limit = 3\n");
        c->workers = 9;
        assert_int_equal(config_load_file(c, f->path, f->err), 0);
        assert_int_equal(c->workers, 0);
        assert_int_equal(c->drain_timeout_usec, 10 * USEC_PER_SEC);
        assert_int_equal(c->crash_loop_limit, 3);
        /* no listen line: the default stays */
        assert_int_equal(c->n_listen, 1);
        assert_string_equal(c->listen[0], CONFIG_DEFAULT_LISTEN);
}

static void test_load_empty(void **state) {
        Fixture *f = *state;

        write_text(f->path, "");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), 0);
        assert_string_equal(f->c.root, CONFIG_DEFAULT_ROOT);
}

static void test_load_unknown_key(void **state) {
        Fixture *f = *state;

        write_text(f->path, "[clusterd]\n"
                            "workers = 2\n"
                            "frobnicate = yes\n"
                            "drain-timeout = 1s\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 3);
        expect_in_err(f, "frobnicate");
}

static void test_load_bad_value(void **state) {
        Fixture *f = *state;

        write_text(f->path, "workers = banana\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 1);
        expect_in_err(f, "workers");
        expect_in_err(f, "banana");

        write_text(f->path, "[clusterd]\n\n# listen on\nlisten = nope:80\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 4);
        expect_in_err(f, "listen");
        expect_in_err(f, "nope:80");
}

static void test_load_first_error_wins(void **state) {
        Fixture *f = *state;

        write_text(f->path, "workers = 2\n"
                            "drain-timeout = forever\n"
                            "bogus = 1\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 2);
        expect_in_err(f, "drain-timeout");
        expect_in_err(f, "forever");
}

static void test_load_unknown_section(void **state) {
        Fixture *f = *state;

        write_text(f->path, "[clusterd]\n"
                            "workers = 2\n"
                            "[server]\n"
                            "workers = 3\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 4);
        expect_in_err(f, "server");
}

static void test_load_syntax_error(void **state) {
        Fixture *f = *state;

        write_text(f->path, "workers = 2\n"
                            "this line has no equals sign\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 2);

        write_text(f->path, "[clusterd\nworkers = 2\n");
        assert_int_equal(config_load_file(&f->c, f->path, f->err), -EINVAL);
        expect_prefix(f, 1);
}

/* Lines around the parser's internal line buffer (200 bytes in Debian's inih)
 * must either be read whole or refused, and every error must name the line it
 * is on. A long line is never cut into a second, made-up line. */
static void test_load_long_lines(void **state) {
        Fixture *f = *state;
        char value[600], text[800];

        for (size_t len = 150; len < sizeof value; len += (len >= 180 && len < 230) ? 1 : 25) {
                Config c;

                memset(value, 'm', len);
                value[0] = '/';
                value[len] = 0;
                snprintf(text, sizeof text, "workers = 2\nmime-types = %s\nbogus = 1\n", value);
                write_text(f->path, text);
                config_init(&c);
                assert_int_equal(config_load_file(&c, f->path, f->err), -EINVAL);
                if (strstr(f->err, "too long")) {
                        expect_prefix(f, 2);
                } else {
                        expect_prefix(f, 3);
                        expect_in_err(f, "bogus");
                        assert_string_equal(c.mime_types, value);
                }
                config_done(&c);
        }
}

static void test_load_missing(void **state) {
        Fixture *f = *state;
        char path[160];

        snprintf(path, sizeof path, "%s/nonexistent.conf", f->dir);
        f->c.workers = 3;
        assert_int_equal(config_load_file(&f->c, path, f->err), -ENOENT);
        expect_in_err(f, path);
        /* untouched */
        assert_int_equal(f->c.workers, 3);
        assert_string_equal(f->c.root, CONFIG_DEFAULT_ROOT);
}

/* fopen() opens a directory; the read error must not pass for an empty file */
static void test_load_directory(void **state) {
        Fixture *f = *state;

        f->c.workers = 3;
        assert_int_equal(config_load_file(&f->c, f->dir, f->err), -EISDIR);
        expect_in_err(f, "Is a directory");
        assert_int_equal(f->c.workers, 3);
}

/* ---- config_build ---- */

static void test_build_overrides_win(void **state) {
        Fixture *f = *state;
        char text[512];
        Config c;

        snprintf(text, sizeof text,
                 "root = %s\nworkers = 2\nlisten = 127.0.0.1:9000\n"
                 "listen = 127.0.0.1:9001\ndrain-timeout = 5s\n",
                 f->www);
        write_text(f->path, text);

        const ConfigOverride o[] = {
                { "workers", "8" },
                { "drain-timeout", "1min" },
        };
        assert_int_equal(config_build(&c, f->path, true, o, ELEMENTSOF(o), f->err), 0);
        assert_string_equal(c.root, f->www);
        assert_int_equal(c.workers, 8);
        assert_int_equal(c.drain_timeout_usec, 60 * USEC_PER_SEC);
        /* no listen override: the file's list stands */
        assert_int_equal(c.n_listen, 2);
        assert_string_equal(c.listen[0], "127.0.0.1:9000");
        assert_string_equal(c.listen[1], "127.0.0.1:9001");
        config_done(&c);
}

static void test_build_listen_override_replaces(void **state) {
        Fixture *f = *state;
        char text[512];
        Config c;

        snprintf(text, sizeof text, "root = %s\nlisten = 127.0.0.1:9000\nlisten = 127.0.0.1:9001\n",
                 f->www);
        write_text(f->path, text);

        const ConfigOverride one[] = { { "listen", "[::1]:7000" } };
        assert_int_equal(config_build(&c, f->path, true, one, 1, f->err), 0);
        assert_int_equal(c.n_listen, 1);
        assert_string_equal(c.listen[0], "[::1]:7000");
        config_done(&c);

        /* several overrides accumulate among themselves */
        const ConfigOverride two[] = {
                { "listen", "[::1]:7000" },
                { "workers", "1" },
                { "listen", "*:7001" },
        };
        assert_int_equal(config_build(&c, f->path, true, two, ELEMENTSOF(two), f->err), 0);
        assert_int_equal(c.n_listen, 2);
        assert_string_equal(c.listen[0], "[::1]:7000");
        assert_string_equal(c.listen[1], "*:7001");
        config_done(&c);
}

/* the manager warns about listen addresses that socket activation leaves
 * unused: the default given on purpose counts as given */
static void test_build_listen_given(void **state) {
        Fixture *f = *state;
        char text[512];
        Config c;

        snprintf(text, sizeof text, "root = %s\n", f->www);
        write_text(f->path, text);
        assert_int_equal(config_build(&c, f->path, true, NULL, 0, f->err), 0);
        assert_false(c.listen_given);
        config_done(&c);

        const ConfigOverride dflt[] = { { "listen", CONFIG_DEFAULT_LISTEN } };
        assert_int_equal(config_build(&c, f->path, true, dflt, 1, f->err), 0);
        assert_true(c.listen_given);
        config_done(&c);

        snprintf(text, sizeof text, "root = %s\nlisten = %s\n", f->www, CONFIG_DEFAULT_LISTEN);
        write_text(f->path, text);
        assert_int_equal(config_build(&c, f->path, true, NULL, 0, f->err), 0);
        assert_true(c.listen_given);
        config_done(&c);
}

static void test_check_mime_types(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        char missing[PATH_MAX];

        write_text(f->path, "text/plain txt\n");
        assert_int_equal(config_set(c, "mime-types", f->path, &(const char *) { NULL }), 0);
        assert_int_equal(config_check_mime_types(c), 0);
        snprintf(missing, sizeof missing, "%s/no-such-mime.types", f->www);
        assert_int_equal(config_set(c, "mime-types", missing, &(const char *) { NULL }), 0);
        assert_int_equal(config_check_mime_types(c), -ENOENT);
}

/* bus-name takes any string; config_check_bus_name judges it, as sd-bus
 * would, and says why it refuses one. */
static void test_check_bus_name(void **state) {
        Fixture *f = *state;
        char longest[257];
        const char *reason = NULL;

        static const char *const good[] = {
                "io.clusterd1",
                "io.clusterd1.demo",
                "io.clusterd1.my-app",
                "io.clusterd1.my_app",
                "io.clusterd1.a.b",
                "io.clusterd1.app2",
                "_a.B",
                "a-.-b",
        };
        static const struct {
                const char *name, *reason;
        } bad[] = {
                { "", "empty" },
                { "io", "a single element" },
                { "io.clusterd1.", "an empty element" },
                { ".io.clusterd1", "an empty element" },
                { "io..clusterd1", "an empty element" },
                { "io.clusterd1.2app", "begins with a digit" },
                { "1io.clusterd1", "begins with a digit" },
                { "io.clusterd1.my app", "only letters, digits" },
                { "io.clusterd1.my:app", "only letters, digits" },
                { "io.clusterd1.my\\x2dapp", "only letters, digits" }, /* systemd-escape */
                { "io.clusterd1.my@app", "only letters, digits" },
                { ":1.42", "only letters, digits" }, /* a unique name, not to be owned */
                { "io.clusterd1.caf\xc3\xa9", "only letters, digits" },
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                if (config_check_bus_name(good[i], &reason) != 0)
                        fail_msg("'%s' refused: %s", good[i], reason);
                assert_true(sd_bus_service_name_is_valid(good[i]) > 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                reason = NULL;
                if (config_check_bus_name(bad[i].name, &reason) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i].name);
                if (!reason || !strstr(reason, bad[i].reason))
                        fail_msg("'%s': reason '%s', expected '%s'", bad[i].name,
                                 reason ?: "(none)", bad[i].reason);
                if (bad[i].name[0] != ':') /* sd-bus takes unique names too */
                        assert_false(sd_bus_service_name_is_valid(bad[i].name) > 0);
        }

        /* 255 bytes at most */
        memset(longest, 'a', sizeof longest - 1);
        longest[1] = '.';
        longest[255] = 0;
        assert_int_equal(config_check_bus_name(longest, &reason), 0);
        assert_true(sd_bus_service_name_is_valid(longest) > 0);
        longest[255] = 'a';
        longest[256] = 0;
        assert_int_equal(config_check_bus_name(longest, &reason), -EINVAL);
        assert_non_null(strstr(reason, "255"));
        assert_false(sd_bus_service_name_is_valid(longest) > 0);

        /* the key takes the value as it is, valid or not: the bus refuses it */
        assert_int_equal(config_set(&f->c, "bus-name", "io.clusterd1.demo", &reason), 0);
        assert_string_equal(f->c.bus_name, "io.clusterd1.demo");
        assert_int_equal(config_set(&f->c, "bus-name", "io.clusterd1.2app", &reason), 0);
        assert_string_equal(f->c.bus_name, "io.clusterd1.2app");
}

static void test_build_no_file(void **state) {
        Fixture *f = *state;
        char path[160];
        Config c;

        const ConfigOverride o[] = { { "root", f->www } };
        /* no path at all */
        assert_int_equal(config_build(&c, NULL, false, o, 1, f->err), 0);
        assert_string_equal(c.root, f->www);
        assert_int_equal(c.n_listen, 1);
        assert_string_equal(c.listen[0], CONFIG_DEFAULT_LISTEN);
        config_done(&c);

        /* the default path, missing, is fine when not required */
        snprintf(path, sizeof path, "%s/absent.conf", f->dir);
        assert_int_equal(config_build(&c, path, false, o, 1, f->err), 0);
        config_done(&c);

        /* ... and fatal when the operator named it */
        assert_int_equal(config_build(&c, path, true, o, 1, f->err), -ENOENT);
        expect_in_err(f, path);
        config_done(&c);
}

static void test_build_missing_root(void **state) {
        Fixture *f = *state;
        char text[512], root[160];
        Config c;

        snprintf(root, sizeof root, "%s/no-such-root", f->dir);
        snprintf(text, sizeof text, "root = %s\n", root);
        write_text(f->path, text);
        assert_true(config_build(&c, f->path, true, NULL, 0, f->err) < 0);
        expect_in_err(f, root);
        config_done(&c);

        /* the same from the command line */
        const ConfigOverride o[] = { { "root", root } };
        assert_true(config_build(&c, NULL, false, o, 1, f->err) < 0);
        expect_in_err(f, root);
        expect_in_err(f, "--root");
        config_done(&c);

        /* a root that is a file */
        const ConfigOverride file_root[] = { { "root", f->path } };
        assert_int_equal(config_build(&c, NULL, false, file_root, 1, f->err), -ENOTDIR);
        expect_in_err(f, f->path);
        config_done(&c);
}

static void test_build_bad_override(void **state) {
        Fixture *f = *state;
        Config c;

        const ConfigOverride bad[] = { { "root", f->www }, { "workers", "banana" } };
        assert_int_equal(config_build(&c, NULL, false, bad, ELEMENTSOF(bad), f->err), -EINVAL);
        expect_in_err(f, "--workers");
        expect_in_err(f, "banana");
        config_done(&c);

        const ConfigOverride unknown[] = { { "worker", "2" } };
        assert_int_equal(config_build(&c, NULL, false, unknown, 1, f->err), -ENOENT);
        expect_in_err(f, "--worker");
        config_done(&c);

        const ConfigOverride dotfiles[] = { { "root", f->www }, { "dotfiles", "maybe" } };
        assert_int_equal(config_build(&c, NULL, false, dotfiles, ELEMENTSOF(dotfiles), f->err),
                         -EINVAL);
        expect_in_err(f, "--dotfiles 'maybe': expected allow or deny");
        config_done(&c);
}

static void test_build_file_error(void **state) {
        Fixture *f = *state;
        Config c;

        write_text(f->path, "[clusterd]\nworkers = 2\nnot-a-key = 1\n");
        const ConfigOverride o[] = { { "root", f->www } };
        assert_int_equal(config_build(&c, f->path, false, o, 1, f->err), -EINVAL);
        expect_prefix(f, 3);
        expect_in_err(f, "not-a-key");
        config_done(&c);
}

static void test_build_heartbeat_check(void **state) {
        Fixture *f = *state;
        Config c;

        const ConfigOverride o[] = {
                { "root", f->www },
                { "heartbeat-interval", "10s" },
                { "heartbeat-timeout", "15s" },
        };
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), -EINVAL);
        expect_in_err(f, "heartbeat");
        config_done(&c);
}

/* The workers must be able to append to the access log: checked at start
 * and at each reload, without creating the file. */
static void test_build_access_log(void **state) {
        Fixture *f = *state;
        char log[160], text[512];
        struct stat st;
        Config c;

        /* missing, in a directory it can be created in: fine, and not created */
        snprintf(log, sizeof log, "%s/access.log", f->dir);
        const ConfigOverride o[] = { { "root", f->www }, { "access-log", log } };
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), 0);
        assert_int_equal(c.access_log, CONFIG_ACCESS_LOG_FILE);
        assert_int_equal(stat(log, &st), -1);
        config_done(&c);
        /* there, and writable */
        write_text(log, "old line\n");
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), 0);
        config_done(&c);

        /* a directory that does not exist, a parent that is a file, a
         * directory in the file's place: refused, naming the key and path */
        snprintf(log, sizeof log, "%s/no-dir/access.log", f->dir);
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), -ENOENT);
        snprintf(text, sizeof text, "access-log '%s': No such file or directory", log);
        assert_string_equal(f->err, text);
        config_done(&c);
        snprintf(log, sizeof log, "%s/access.log/x.log", f->dir);
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), -ENOTDIR);
        config_done(&c);
        snprintf(log, sizeof log, "%s", f->www);
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), -EISDIR);
        snprintf(text, sizeof text, "access-log '%s': Is a directory", f->www);
        assert_string_equal(f->err, text);
        config_done(&c);

        /* the same from the file */
        snprintf(text, sizeof text, "root = %s\naccess-log = %s/no-dir/a.log\n", f->www, f->dir);
        write_text(f->path, text);
        assert_int_equal(config_build(&c, f->path, true, NULL, 0, f->err), -ENOENT);
        expect_in_err(f, "access-log '");
        expect_in_err(f, "/no-dir/a.log': No such file or directory");
        config_done(&c);

        /* the journal: only where journald listens */
        const ConfigOverride j[] = { { "root", f->www }, { "access-log", "journal" } };
        if (stat(CONFIG_JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
                assert_int_equal(config_build(&c, NULL, false, j, ELEMENTSOF(j), f->err), 0);
        else {
                assert_true(config_build(&c, NULL, false, j, ELEMENTSOF(j), f->err) < 0);
                expect_in_err(f,
                              "access-log journal: no journal to send to: " CONFIG_JOURNAL_SOCKET);
        }
        config_done(&c);

        /* an application worker logs its own way: not checked */
        snprintf(log, sizeof log, "%s/no-dir/access.log", f->dir);
        const ConfigOverride e[] = { { "exec", "/bin/true" }, { "access-log", log } };
        assert_int_equal(config_build(&c, NULL, false, e, ELEMENTSOF(e), f->err), 0);
        config_done(&c);
}

/* ---- application workers: exec, exec-ready, exec-ready-timeout ---- */

static void expect_argv(char **argv, const char *const *want, size_t n) {
        assert_non_null(argv);
        for (size_t i = 0; i < n; i++) {
                if (!argv[i] || strcmp(argv[i], want[i]) != 0)
                        fail_msg("argv[%zu] is \"%s\", expected \"%s\"", i,
                                 argv[i] ? argv[i] : "(null)", want[i]);
        }
        assert_null(argv[n]);
}

static void test_exec_defaults(void **state) {
        Fixture *f = *state;
        const Config *c = &f->c;

        /* the built-in server, until exec says otherwise */
        assert_null(c->exec);
        assert_null(c->exec_argv);
        assert_null(c->exec_path);
        assert_false(c->exec_ready_started);
        assert_int_equal(c->exec_ready_timeout_usec, 30 * USEC_PER_SEC);
}

static void test_set_exec(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        expect_good(c, "exec", "/usr/bin/node 'my app.js' --port=\"80 80\" \\x41\\s");
        assert_string_equal(c->exec, "/usr/bin/node 'my app.js' --port=\"80 80\" \\x41\\s");
        static const char *const node[] = { "/usr/bin/node", "my app.js", "--port=80 80", "A " };
        expect_argv(c->exec_argv, node, ELEMENTSOF(node));
        /* the program is found by config_build, not here */
        assert_null(c->exec_path);

        /* a second value replaces the first */
        expect_good(c, "exec", "python3 -m http.server");
        static const char *const py[] = { "python3", "-m", "http.server" };
        expect_argv(c->exec_argv, py, ELEMENTSOF(py));

        /* a bad value says why, and leaves the one before */
        static const struct {
                const char *value, *about;
        } bad[] = {
                { "prog \"unterminated", "quote" }, { "prog 'unterminated", "quote" },
                { "prog \\q", "escape" },           { "prog \\x00", "escape" },
                { "prog \\", "backslash" },         { "   ", "command" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                reason = NULL;
                assert_int_equal(config_set(c, "exec", bad[i].value, &reason), -EINVAL);
                if (!reason || !strstr(reason, bad[i].about))
                        fail_msg("exec '%s': reason \"%s\" does not mention \"%s\"", bad[i].value,
                                 reason ? reason : "(none)", bad[i].about);
        }
        char *long_value = malloc(8192);
        assert_non_null(long_value);
        memset(long_value, 'x', 8191);
        long_value[8191] = 0;
        assert_int_equal(config_set(c, "exec", long_value, &reason), -EINVAL);
        assert_non_null(strstr(reason, "long"));
        free(long_value);
        assert_string_equal(c->exec, "python3 -m http.server");
        expect_argv(c->exec_argv, py, ELEMENTSOF(py));

        /* an empty value goes back to the built-in server */
        expect_good(c, "exec", "");
        assert_null(c->exec);
        assert_null(c->exec_argv);
        assert_null(c->exec_path);
        expect_good(c, "exec", "prog");
        expect_good(c, "exec", NULL);
        assert_null(c->exec);
        assert_null(c->exec_argv);
}

static void test_set_exec_ready(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        expect_good(c, "exec-ready", "started");
        assert_true(c->exec_ready_started);
        expect_good(c, "exec-ready", "notify");
        assert_false(c->exec_ready_started);
        expect_good(c, "exec-ready", "started");
        expect_bad(c, "exec-ready", "bad", -EINVAL);
        expect_bad(c, "exec-ready", "Notify", -EINVAL);
        expect_bad(c, "exec-ready", "ready", -EINVAL);
        expect_bad(c, "exec-ready", "", -EINVAL);
        expect_bad(c, "exec-ready", NULL, -EINVAL);
        assert_true(c->exec_ready_started);
        assert_int_equal(config_set(c, "exec-ready", "bad", &reason), -EINVAL);
        assert_non_null(strstr(reason, "notify"));
        assert_non_null(strstr(reason, "started"));
}

static void test_set_exec_ready_timeout(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;
        const char *reason = NULL;

        expect_good(c, "exec-ready-timeout", "100ms");
        assert_int_equal(c->exec_ready_timeout_usec, 100 * USEC_PER_MSEC);
        expect_good(c, "exec-ready-timeout", "60min");
        assert_int_equal(c->exec_ready_timeout_usec, 3600 * USEC_PER_SEC);
        expect_good(c, "exec-ready-timeout", "5");
        assert_int_equal(c->exec_ready_timeout_usec, 5 * USEC_PER_SEC);
        expect_bad(c, "exec-ready-timeout", "99ms", -EINVAL);
        expect_bad(c, "exec-ready-timeout", "0", -EINVAL);
        expect_bad(c, "exec-ready-timeout", "61min", -EINVAL);
        expect_bad(c, "exec-ready-timeout", "3601s", -EINVAL);
        expect_bad(c, "exec-ready-timeout", "banana", -EINVAL);
        expect_bad(c, "exec-ready-timeout", "", -EINVAL);
        assert_int_equal(c->exec_ready_timeout_usec, 5 * USEC_PER_SEC);
        assert_int_equal(config_set(c, "exec-ready-timeout", "1h", &reason), -EINVAL);
        assert_non_null(strstr(reason, "100ms"));
        assert_non_null(strstr(reason, "60min"));
}

static void test_load_exec(void **state) {
        Fixture *f = *state;
        Config *c = &f->c;

        write_text(f->path, "[clusterd]\n"
                            "exec = /usr/bin/env python3 'app server.py' --name=\"a b\"\n"
                            "exec-ready = started\n"
                            "exec-ready-timeout = 5s\n");
        assert_int_equal(config_load_file(c, f->path, f->err), 0);
        static const char *const want[] = { "/usr/bin/env", "python3", "app server.py",
                                            "--name=a b" };
        expect_argv(c->exec_argv, want, ELEMENTSOF(want));
        assert_true(c->exec_ready_started);
        assert_int_equal(c->exec_ready_timeout_usec, 5 * USEC_PER_SEC);

        /* the INI file's own rules come first: ';' after a blank starts a
         * comment, so a shell line must not put a blank before it */
        write_text(f->path, "exec = sh -c 'echo a; echo b' ; started by clusterd\n");
        assert_int_equal(config_load_file(c, f->path, f->err), 0);
        static const char *const sh[] = { "sh", "-c", "echo a; echo b" };
        expect_argv(c->exec_argv, sh, ELEMENTSOF(sh));
        write_text(f->path, "exec = sh -c 'echo a ; echo b'\n");
        assert_int_equal(config_load_file(c, f->path, f->err), -EINVAL);
        expect_prefix(f, 1);
        expect_in_err(f, "quote");

        /* a bad value names the file, line, key, value and reason */
        write_text(f->path, "workers = 2\nexec = prog \"oops\n");
        assert_int_equal(config_load_file(c, f->path, f->err), -EINVAL);
        expect_prefix(f, 2);
        expect_in_err(f, "exec = 'prog \"oops': a quote that is not closed");
        write_text(f->path, "exec-ready = maybe\n");
        assert_int_equal(config_load_file(c, f->path, f->err), -EINVAL);
        expect_in_err(f, "exec-ready = 'maybe': expected notify or started");
}

static void test_build_exec_missing_program(void **state) {
        Fixture *f = *state;
        char text[512], p[256];
        Config c;

        const ConfigOverride o[] = { { "root", f->www }, { "exec", "/no/such/program --x" } };
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), -ENOENT);
        assert_string_equal(f->err, "exec '/no/such/program': No such file or directory");
        config_done(&c);

        /* the same from the file, with a root that is missing too: the program
         * is what is wrong */
        snprintf(text, sizeof text, "root = %s/no-root\nexec = /no/such/program\n", f->dir);
        write_text(f->path, text);
        assert_int_equal(config_build(&c, f->path, true, NULL, 0, f->err), -ENOENT);
        assert_string_equal(f->err, "exec '/no/such/program': No such file or directory");
        config_done(&c);

        /* not executable, a directory */
        snprintf(p, sizeof p, "%s/plain", f->dir);
        write_text(p, "#!/bin/sh\n");
        assert_int_equal(chmod(p, 0644), 0);
        const ConfigOverride plain[] = { { "exec", p } };
        assert_int_equal(config_build(&c, NULL, false, plain, 1, f->err), -EACCES);
        snprintf(text, sizeof text, "exec '%s': Permission denied", p);
        assert_string_equal(f->err, text);
        config_done(&c);
        const ConfigOverride dir[] = { { "exec", f->www } };
        assert_int_equal(config_build(&c, NULL, false, dir, 1, f->err), -EISDIR);
        snprintf(text, sizeof text, "exec '%s': Is a directory", f->www);
        assert_string_equal(f->err, text);
        config_done(&c);

        /* a bad exec value from the command line */
        const ConfigOverride bad[] = { { "exec", "prog 'x" } };
        assert_int_equal(config_build(&c, NULL, false, bad, 1, f->err), -EINVAL);
        assert_string_equal(f->err, "--exec 'prog 'x': a quote that is not closed");
        config_done(&c);
}

static void test_build_exec_ignores_root(void **state) {
        Fixture *f = *state;
        char root[160], text[512];
        Config c;

        snprintf(root, sizeof root, "%s/no-such-root", f->dir);
        const ConfigOverride o[] = { { "root", root }, { "exec", "/bin/sh -c 'exit 0'" } };
        assert_int_equal(config_build(&c, NULL, false, o, ELEMENTSOF(o), f->err), 0);
        assert_string_equal(c.exec_path, "/bin/sh");
        static const char *const want[] = { "/bin/sh", "-c", "exit 0" };
        expect_argv(c.exec_argv, want, ELEMENTSOF(want));
        config_done(&c);
        assert_null(c.exec);
        assert_null(c.exec_argv);
        assert_null(c.exec_path);

        /* a root that is a file is not looked at either */
        snprintf(text, sizeof text, "root = %s\nexec = /bin/sh\n", f->path);
        write_text(f->path, text);
        assert_int_equal(config_build(&c, f->path, true, NULL, 0, f->err), 0);
        config_done(&c);

        /* ... but the heartbeat check still is */
        const ConfigOverride hb[] = {
                { "exec", "/bin/sh" },
                { "heartbeat-interval", "10s" },
                { "heartbeat-timeout", "15s" },
        };
        assert_int_equal(config_build(&c, NULL, false, hb, ELEMENTSOF(hb), f->err), -EINVAL);
        expect_in_err(f, "heartbeat");
        config_done(&c);

        /* an empty exec on the command line undoes the file's */
        snprintf(text, sizeof text, "root = %s\nexec = /no/such/program\n", f->www);
        write_text(f->path, text);
        const ConfigOverride off[] = { { "exec", "" } };
        assert_int_equal(config_build(&c, f->path, true, off, 1, f->err), 0);
        assert_null(c.exec);
        config_done(&c);
}

/* A bare name is looked up in PATH at every build: at start and each reload. */
static void test_build_exec_path_lookup(void **state) {
        Fixture *f = *state;
        char bin[160], prog[192], text[512], *old = getenv("PATH");
        char *saved = old ? strdup(old) : NULL;
        Config c;

        snprintf(bin, sizeof bin, "%s/bin", f->dir);
        snprintf(prog, sizeof prog, "%s/myapp", bin);
        assert_int_equal(mkdir(bin, 0755), 0);
        write_text(prog, "#!/bin/sh\nexit 0\n");
        assert_int_equal(chmod(prog, 0755), 0);
        snprintf(text, sizeof text, "%s/none:%s", f->dir, bin);
        assert_int_equal(setenv("PATH", text, 1), 0);

        const ConfigOverride o[] = { { "exec", "myapp --flag" } };
        assert_int_equal(config_build(&c, NULL, false, o, 1, f->err), 0);
        assert_string_equal(c.exec_path, prog);
        assert_string_equal(c.exec_argv[0], "myapp"); /* argv[0] as the user wrote it */
        config_done(&c);

        /* gone by the next reload: refused then, by name */
        assert_int_equal(unlink(prog), 0);
        assert_int_equal(config_build(&c, NULL, false, o, 1, f->err), -ENOENT);
        assert_string_equal(f->err, "exec 'myapp': No such file or directory");
        config_done(&c);

        /* no PATH at all: the usual system directories */
        assert_int_equal(unsetenv("PATH"), 0);
        const ConfigOverride sh[] = { { "exec", "sh" } };
        assert_int_equal(config_build(&c, NULL, false, sh, 1, f->err), 0);
        assert_non_null(c.exec_path);
        assert_true(c.exec_path[0] == '/');
        assert_non_null(strstr(c.exec_path, "/sh"));
        config_done(&c);

        if (saved)
                assert_int_equal(setenv("PATH", saved, 1), 0);
        free(saved);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
        const struct CMUnitTest tests[] = {
                T(test_defaults),
                cmocka_unit_test(test_done_twice),
                cmocka_unit_test(test_init_out_of_memory),
                cmocka_unit_test(test_build_out_of_memory),
                T(test_set_workers),
                T(test_set_durations),
                T(test_set_sizes),
                T(test_set_numbers),
                T(test_set_listen),
                T(test_set_listen_limit),
                T(test_set_strings),
                T(test_set_log_level),
                T(test_set_dotfiles),
                T(test_set_compression),
                T(test_set_access_log),
                T(test_set_worker_seccomp),
                T(test_set_unknown_key),
                T(test_load_good_with_section),
                T(test_load_good_without_section),
                T(test_load_empty),
                T(test_load_unknown_key),
                T(test_load_bad_value),
                T(test_load_first_error_wins),
                T(test_load_unknown_section),
                T(test_load_syntax_error),
                T(test_load_long_lines),
                T(test_load_missing),
                T(test_load_directory),
                T(test_build_overrides_win),
                T(test_build_listen_override_replaces),
                T(test_build_listen_given),
                T(test_check_mime_types),
                T(test_check_bus_name),
                T(test_build_no_file),
                T(test_build_missing_root),
                T(test_build_bad_override),
                T(test_build_file_error),
                T(test_build_heartbeat_check),
                T(test_build_access_log),
                T(test_exec_defaults),
                T(test_set_exec),
                T(test_set_exec_ready),
                T(test_set_exec_ready_timeout),
                T(test_load_exec),
                T(test_build_exec_missing_program),
                T(test_build_exec_ignores_root),
                T(test_build_exec_path_lookup),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
