/* Tests for the small-file cache: hits, and invalidation on every kind of change. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "filecache.h"
#include "macro.h"

typedef struct Fixture {
        char dir[64];
        int root_fd;
        FileCache *cache;
} Fixture;

static void write_file(Fixture *f, const char *name, const char *content) {
        char path[256];
        FILE *fp;
        snprintf(path, sizeof path, "%s/%s", f->dir, name);
        fp = fopen(path, "we");
        assert_non_null(fp);
        fputs(content, fp);
        fclose(fp);
}

static const CodingOrder br_gz = { .coding = { CODING_BR, CODING_GZIP }, .n = 2 };
static const FileCacheAsk plain = { .order = &br_gz };

/* The identity answer for rel, as static.c gets it for a client that asks
 * for no coding: its response, and is_index and validators through ret_. */
static struct MHD_Response *lookup(FileCache *c, int root_fd, const char *rel, bool *ret_is_index,
                                   const CondValidators **ret_v) {
        FileCacheHit hit;
        if (!filecache_lookup(c, root_fd, rel, &plain, &hit))
                return NULL;
        assert_int_equal(hit.coding, CODING_IDENTITY);
        *ret_is_index = hit.is_index;
        *ret_v = hit.validators;
        return hit.response;
}

static struct MHD_Response *store_one(FileCache *c, const char *rel, int fd, const struct stat *st,
                                      const CondValidators *v) {
        FileCacheSource src = { .rel = rel,
                                .resolved = rel,
                                .content_type = "text/plain",
                                .fd = fd,
                                .st = st,
                                .v = v };
        FileCacheHit hit;
        return filecache_store(c, &src, &plain, &hit) >= 0 ? hit.response : NULL;
}

static struct MHD_Response *store(Fixture *f, const char *name) {
        struct stat st;
        CondValidators v;
        struct MHD_Response *r;
        int fd = openat(f->root_fd, name, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(cond_validators_from_stat(&st, now_seconds(), &v), 0);
        r = store_one(f->cache, name, fd, &st, &v);
        close(fd);
        return r;
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);
        strcpy(f->dir, "/tmp/test-filecache-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->root_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        f->cache = filecache_new();
        assert_non_null(f->cache);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char cmd[128];
        filecache_free(f->cache);
        close(f->root_fd);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void test_hit_returns_same_response(void **state) {
        Fixture *f = *state;
        bool idx = true;
        const CondValidators *v = NULL;
        CondValidators want;
        struct stat st;
        write_file(f, "a.txt", "hello\n");
        struct MHD_Response *r = store(f, "a.txt");
        assert_non_null(r);
        assert_ptr_equal(lookup(f->cache, f->root_fd, "a.txt", &idx, &v), r);
        assert_false(idx);
        /* the validators and headers of the file as it is now */
        assert_int_equal(fstatat(f->root_fd, "a.txt", &st, 0), 0);
        assert_int_equal(cond_validators_from_stat(&st, now_seconds(), &want), 0);
        assert_non_null(v);
        assert_string_equal(v->etag, want.etag);
        assert_string_equal(v->last_modified, want.last_modified);
        assert_int_equal(v->size, 6); /* what a hit counts as sent */
        assert_string_equal(MHD_get_response_header(r, MHD_HTTP_HEADER_ETAG), want.etag);
        assert_string_equal(MHD_get_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED),
                            want.last_modified);
        assert_int_equal(filecache_bytes(f->cache), 6);
        assert_null(lookup(f->cache, f->root_fd, "other.txt", &idx, &v));
}

static void test_rewrite_same_size_invalidates(void **state) {
        Fixture *f = *state;
        bool idx;
        const CondValidators *v;
        write_file(f, "a.txt", "hello\n");
        assert_non_null(store(f, "a.txt"));
        /* same size, new content: mtime/ctime move on (nanosecond precision) */
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        write_file(f, "a.txt", "HELLO\n");
        assert_null(lookup(f->cache, f->root_fd, "a.txt", &idx, &v));
        assert_int_equal(filecache_bytes(f->cache), 0);
}

/* What cp -p and rsync -t --inplace do: new bytes of the same size written
 * into the same inode, then the old mtime put back. Only the ctime tells. */
static void test_rewrite_same_size_and_mtime_invalidates(void **state) {
        Fixture *f = *state;
        struct stat before, after;
        struct timespec times[2];
        bool idx;
        const CondValidators *v;

        write_file(f, "a.txt", "hello\n");
        assert_int_equal(fstatat(f->root_fd, "a.txt", &before, 0), 0);
        assert_non_null(store(f, "a.txt"));
        /* older kernels stamp ctime from a clock that ticks every few ms */
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        write_file(f, "a.txt", "HELLO\n");
        times[0] = before.st_atim;
        times[1] = before.st_mtim;
        assert_int_equal(utimensat(f->root_fd, "a.txt", times, 0), 0);
        /* the case itself: inode, size and mtime as cached, the ctime not */
        assert_int_equal(fstatat(f->root_fd, "a.txt", &after, 0), 0);
        assert_int_equal(after.st_ino, before.st_ino);
        assert_int_equal(after.st_size, before.st_size);
        assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
        assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
        assert_false(after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
                     after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
        assert_null(lookup(f->cache, f->root_fd, "a.txt", &idx, &v));
        assert_int_equal(filecache_bytes(f->cache), 0);
}

static void test_replace_by_rename_invalidates(void **state) {
        Fixture *f = *state;
        char a[256], b[256];
        bool idx;
        const CondValidators *v;
        write_file(f, "a.txt", "one\n");
        write_file(f, "b.txt", "two\n");
        assert_non_null(store(f, "a.txt"));
        snprintf(a, sizeof a, "%s/a.txt", f->dir);
        snprintf(b, sizeof b, "%s/b.txt", f->dir);
        assert_int_equal(rename(b, a), 0);
        assert_null(lookup(f->cache, f->root_fd, "a.txt", &idx, &v));
}

static void test_deleted_invalidates(void **state) {
        Fixture *f = *state;
        char a[256];
        bool idx;
        const CondValidators *v;
        write_file(f, "a.txt", "one\n");
        assert_non_null(store(f, "a.txt"));
        snprintf(a, sizeof a, "%s/a.txt", f->dir);
        assert_int_equal(unlink(a), 0);
        assert_null(lookup(f->cache, f->root_fd, "a.txt", &idx, &v));
}

static void test_symlink_swap_invalidates(void **state) {
        Fixture *f = *state;
        char a[256];
        bool idx;
        const CondValidators *v;
        write_file(f, "a.txt", "one\n");
        assert_non_null(store(f, "a.txt"));
        snprintf(a, sizeof a, "%s/a.txt", f->dir);
        assert_int_equal(unlink(a), 0);
        assert_int_equal(symlink("/etc/hostname", a), 0);
        assert_null(lookup(f->cache, f->root_fd, "a.txt", &idx, &v));
}

static void test_large_file_not_cached(void **state) {
        Fixture *f = *state;
        char *big = malloc(FILECACHE_MAX_FILE + 2);
        memset(big, 'x', FILECACHE_MAX_FILE + 1);
        big[FILECACHE_MAX_FILE + 1] = 0;
        write_file(f, "big.bin", big);
        free(big);
        assert_null(store(f, "big.bin"));
        assert_int_equal(filecache_bytes(f->cache), 0);
}

/* validators made before the file's mtime: Last-Modified was clamped to the
 * clock of that request and must not outlive it in the cache */
static void test_clamped_validators_not_cached(void **state) {
        Fixture *f = *state;
        struct stat st;
        CondValidators v;
        bool idx;
        const CondValidators *hit = NULL;
        int fd;

        write_file(f, "future.txt", "later\n");
        fd = openat(f->root_fd, "future.txt", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(cond_validators_from_stat(&st, st.st_mtim.tv_sec - 1, &v), 0);
        assert_null(store_one(f->cache, "future.txt", fd, &st, &v));
        assert_int_equal(filecache_bytes(f->cache), 0);
        assert_null(lookup(f->cache, f->root_fd, "future.txt", &idx, &hit));
        /* once the clock has caught up, the real date is cached */
        assert_int_equal(cond_validators_from_stat(&st, st.st_mtim.tv_sec, &v), 0);
        assert_non_null(store_one(f->cache, "future.txt", fd, &st, &v));
        close(fd);
        assert_non_null(lookup(f->cache, f->root_fd, "future.txt", &idx, &hit));
        assert_int_equal(hit->mtime, st.st_mtim.tv_sec);
}

/* what a root that is another directory now asks of the cache: nothing of
 * the old one is kept, and what is stored afterwards is cached as before */
static void test_clear_drops_everything(void **state) {
        Fixture *f = *state;
        bool idx;
        const CondValidators *v;
        write_file(f, "a.txt", "hello\n");
        write_file(f, "b.txt", "world!\n");
        assert_non_null(store(f, "a.txt"));
        assert_non_null(store(f, "b.txt"));
        assert_int_equal(filecache_bytes(f->cache), 13);
        filecache_clear(f->cache);
        assert_int_equal(filecache_bytes(f->cache), 0);
        /* the files are unchanged: only the clear keeps them from a hit */
        assert_null(lookup(f->cache, f->root_fd, "a.txt", &idx, &v));
        assert_null(lookup(f->cache, f->root_fd, "b.txt", &idx, &v));
        struct MHD_Response *r = store(f, "a.txt");
        assert_non_null(r);
        assert_ptr_equal(lookup(f->cache, f->root_fd, "a.txt", &idx, &v), r);
        assert_int_equal(filecache_bytes(f->cache), 6);
}

/* ---- representations: compressed text, siblings, missing siblings ---- */

static const EncodingAccept *accept_of(const char *value, EncodingAccept *a) {
        encoding_parse_accept(value, a);
        return a;
}

static void write_text(Fixture *f, const char *name) {
        char text[4096] = "";
        for (int i = 0; i < 60; i++)
                strcat(text, "body { margin: 0 auto; padding: 1em; }\n");
        write_file(f, name, text);
}

/* Stores name as static.c would: its siblings in sib (fd < 0: none),
 * `probed` the codings looked for. */
static int store_with(Fixture *f, const char *name, FileCacheSibling sib[_CODING_MAX],
                      unsigned probed, bool compress, uint64_t now, FileCacheHit *hit) {
        struct stat st;
        CondValidators v;
        int fd = openat(f->root_fd, name, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(cond_validators_from_stat(&st, now_seconds(), &v), 0);
        FileCacheSource src = { .rel = name,
                                .resolved = name,
                                .content_type = "text/css",
                                .fd = fd,
                                .st = &st,
                                .v = &v,
                                .sibling = sib,
                                .probed = probed,
                                .compress = compress };
        const FileCacheAsk ask = { .order = &br_gz, .now = now };
        int r = filecache_store(f->cache, &src, &ask, hit);
        close(fd);
        return r;
}

static void open_sibling(Fixture *f, const char *name, FileCacheSibling *sib) {
        sib->fd = openat(f->root_fd, name, O_RDONLY | O_CLOEXEC);
        assert_true(sib->fd >= 0);
        assert_int_equal(fstat(sib->fd, &sib->st), 0);
        assert_int_equal(cond_validators_from_stat(&sib->st, now_seconds(), &sib->v), 0);
}

static void test_text_compressed_in_cache(void **state) {
        Fixture *f = *state;
        EncodingAccept a;
        FileCacheHit hit, id;
        write_text(f, "a.css");
        assert_int_equal(store_with(f, "a.css", NULL, 0, true, 0, &hit), 0);
        assert_int_equal(hit.coding, CODING_IDENTITY);
        assert_true(hit.vary);
        const FileCacheAsk plain_ask = { .order = &br_gz };
        assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &plain_ask, &id));
        assert_int_equal(id.coding, CODING_IDENTITY);
        const FileCacheAsk gz = { .accept = accept_of("gzip", &a), .order = &br_gz };
        assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
        assert_int_equal(hit.coding, CODING_GZIP);
        assert_true(hit.vary);
        assert_ptr_not_equal(hit.response, id.response);
        assert_true(hit.validators->size < id.validators->size);
        assert_non_null(strstr(hit.validators->etag, "-gz\""));
        const FileCacheAsk both = { .accept = accept_of("gzip, br", &a), .order = &br_gz };
        assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &both, &hit));
        assert_int_equal(hit.coding, CODING_BR);
        assert_non_null(strstr(hit.validators->etag, "-br\""));
        /* all three held, and counted */
        assert_true(filecache_bytes(f->cache) > id.validators->size);
}

static void test_compress_off_or_not_smaller(void **state) {
        Fixture *f = *state;
        EncodingAccept a;
        FileCacheHit hit;
        const FileCacheAsk gz = { .accept = accept_of("gzip, br", &a), .order = &br_gz };
        write_text(f, "a.css");
        assert_int_equal(store_with(f, "a.css", NULL, 0, false, 0, &hit), 0);
        assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
        assert_int_equal(hit.coding, CODING_IDENTITY);
        assert_false(hit.vary);
        write_file(f, "b.css", "x");
        assert_int_equal(store_with(f, "b.css", NULL, 0, true, 0, &hit), 0);
        assert_true(filecache_lookup(f->cache, f->root_fd, "b.css", &gz, &hit));
        assert_int_equal(hit.coding, CODING_IDENTITY);
        assert_false(hit.vary);
}

static void test_sibling_served_and_checked(void **state) {
        Fixture *f = *state;
        EncodingAccept a;
        FileCacheHit hit;
        FileCacheSibling sib[_CODING_MAX] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
        const FileCacheAsk gz = { .accept = accept_of("gzip", &a), .order = &br_gz };
        write_text(f, "a.css");
        write_file(f, "a.css.gz", "not really gzip, but the sibling's bytes");
        open_sibling(f, "a.css.gz", &sib[CODING_GZIP]);
        assert_int_equal(store_with(f, "a.css", sib,
                                    CODING_BIT(CODING_GZIP) | CODING_BIT(CODING_BR), false, 0,
                                    &hit),
                         0);
        close(sib[CODING_GZIP].fd);
        assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
        assert_int_equal(hit.coding, CODING_GZIP);
        assert_int_equal(hit.validators->size, sib[CODING_GZIP].st.st_size);
        assert_string_equal(hit.validators->etag, sib[CODING_GZIP].v.etag);
        /* the sibling rewritten: a miss, not its old bytes */
        write_file(f, "a.css.gz", "other bytes, of another length");
        assert_false(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
        assert_int_equal(filecache_bytes(f->cache), 0);
}

static void test_missing_sibling_looked_for_once_a_second(void **state) {
        Fixture *f = *state;
        EncodingAccept a;
        FileCacheHit hit;
        FileCacheSibling none[_CODING_MAX] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
        uint64_t t0 = 10 * FILECACHE_PROBE_USEC;
        write_text(f, "a.css");
        assert_int_equal(store_with(f, "a.css", none, CODING_BIT(CODING_GZIP), false, t0, &hit), 0);
        assert_false(hit.vary);
        /* made with the file's mtime: not older */
        write_file(f, "a.css.gz", "gz");
        char a_path[128], gz_path[128];
        snprintf(a_path, sizeof a_path, "%s/a.css", f->dir);
        snprintf(gz_path, sizeof gz_path, "%s/a.css.gz", f->dir);
        struct stat st;
        assert_int_equal(stat(a_path, &st), 0);
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        assert_int_equal(utimensat(AT_FDCWD, gz_path, times, 0), 0);
        FileCacheAsk gz = { .accept = accept_of("gzip", &a),
                            .order = &br_gz,
                            .now = t0 + FILECACHE_PROBE_USEC - 1 };
        assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
        assert_int_equal(hit.coding, CODING_IDENTITY); /* not looked for yet */
        gz.now = t0 + FILECACHE_PROBE_USEC;
        assert_false(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
}

/* a sibling there but not used (older) is looked at once a second, and
 * drops the entry only when it changes, not at every look */
static void test_unused_sibling_drops_entry_only_when_changed(void **state) {
        Fixture *f = *state;
        EncodingAccept a;
        FileCacheHit hit;
        FileCacheSibling sib[_CODING_MAX] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
        uint64_t t0 = 10 * FILECACHE_PROBE_USEC;
        write_text(f, "a.css");
        write_file(f, "a.css.gz", "older");
        sib[CODING_GZIP].present = true;
        char gz_path[128];
        snprintf(gz_path, sizeof gz_path, "%s/a.css.gz", f->dir);
        assert_int_equal(stat(gz_path, &sib[CODING_GZIP].st), 0);
        assert_int_equal(store_with(f, "a.css", sib, CODING_BIT(CODING_GZIP), false, t0, &hit), 0);
        FileCacheAsk gz = { .accept = accept_of("gzip", &a), .order = &br_gz };
        for (int i = 1; i <= 3; i++) {
                gz.now = t0 + i * FILECACHE_PROBE_USEC;
                assert_true(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
                assert_int_equal(hit.coding, CODING_IDENTITY);
        }
        write_file(f, "a.css.gz", "rewritten, now newer");
        gz.now = t0 + 4 * FILECACHE_PROBE_USEC;
        assert_false(filecache_lookup(f->cache, f->root_fd, "a.css", &gz, &hit));
}

static void test_sibling_freshness(void **state) {
        struct timespec mtim = { .tv_sec = 1000, .tv_nsec = 500 };
        struct stat sib = { .st_mode = S_IFREG | 0644 };
        sib.st_mtim = mtim;
        assert_true(filecache_sibling_fresh(&mtim, &sib)); /* equal: not older */
        sib.st_mtim.tv_nsec = 499;
        assert_false(filecache_sibling_fresh(&mtim, &sib)); /* 1 ns older */
        sib.st_mtim = (struct timespec) { .tv_sec = 1000, .tv_nsec = 0 };
        assert_false(filecache_sibling_fresh(&mtim, &sib)); /* the second, truncated */
        sib.st_mtim = (struct timespec) { .tv_sec = 1001, .tv_nsec = 0 };
        assert_true(filecache_sibling_fresh(&mtim, &sib));
        sib.st_mode = S_IFDIR | 0755;
        assert_false(filecache_sibling_fresh(&mtim, &sib));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_hit_returns_same_response, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rewrite_same_size_invalidates, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rewrite_same_size_and_mtime_invalidates, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_replace_by_rename_invalidates, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_deleted_invalidates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_swap_invalidates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_large_file_not_cached, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clamped_validators_not_cached, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_clear_drops_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(test_text_compressed_in_cache, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compress_off_or_not_smaller, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sibling_served_and_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_sibling_looked_for_once_a_second,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_unused_sibling_drops_entry_only_when_changed,
                                                setup, teardown),
                cmocka_unit_test(test_sibling_freshness),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
