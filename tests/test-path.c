/* Unit tests for path.c: the textual check of request paths, and opening them
 * beneath a real temporary document root that holds traps (symlinks out of
 * the root, a FIFO, a directory without an index). */
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "path.h"

/* ---- path_sanitize ---- */

static void expect_ok(const char *url, const char *want) {
        char out[PATH_REQUEST_MAX + 1];
        int r = path_sanitize(url, out, sizeof out);

        if (r != 0)
                fail_msg("path_sanitize(\"%s\") = %d, expected 0", url, r);
        assert_string_equal(out, want);
}

static void expect_error(const char *url, int want) {
        char out[PATH_REQUEST_MAX + 1];
        int r = path_sanitize(url, out, sizeof out);

        if (r != want)
                fail_msg("path_sanitize(\"%s\") = %d, expected %d", url, r, want);
}

static void test_sanitize_good(void **state) {
        expect_ok("/", ".");
        expect_ok("//", ".");
        expect_ok("/./", ".");
        expect_ok("/a/b.html", "a/b.html");
        expect_ok("//a///b", "a/b");
        expect_ok("/./a", "a");
        expect_ok("/a/./b/.", "a/b");
        expect_ok("/a/", "a");
        expect_ok("/...", "...");
        expect_ok("/..a/b..", "..a/b..");
        expect_ok("/.hidden", ".hidden");
        expect_ok("/caf\xc3\xa9.html", "caf\xc3\xa9.html");
        expect_ok("/a b/%2e%2e", "a b/%2e%2e"); /* already decoded: literal names */
}

static void test_sanitize_dotdot(void **state) {
        expect_error("/../etc/passwd", -EINVAL);
        expect_error("/a/../../b", -EINVAL);
        expect_error("/a/..", -EINVAL);
        expect_error("/a/../b", -EINVAL);
        expect_error("/..", -EINVAL);
        expect_error("/../", -EINVAL);
        expect_error("//..//x", -EINVAL);
}

static void test_sanitize_not_absolute(void **state) {
        char out[16];

        expect_error("a", -EINVAL);
        expect_error("", -EINVAL);
        expect_error("./a", -EINVAL);
        expect_error("../a", -EINVAL);
        expect_error("\\a", -EINVAL);
        assert_int_equal(path_sanitize(NULL, out, sizeof out), -EINVAL);
}

static void test_sanitize_bad_bytes(void **state) {
        expect_error("/a\\b", -EINVAL);
        expect_error("/..\\..\\etc", -EINVAL);
        expect_error("/a\x01", -EINVAL);
        expect_error("/a\tb", -EINVAL);
        expect_error("/a\nb", -EINVAL);
        expect_error("/a\rb", -EINVAL);
        expect_error("/\x1f", -EINVAL);
        expect_error("/a\x7f", -EINVAL);
        expect_error("/ok/\x1b[31m", -EINVAL);
}

static void test_sanitize_too_long(void **state) {
        char url[2001], out[PATH_REQUEST_MAX + 1];

        url[0] = '/';
        memset(url + 1, 'a', sizeof url - 2);
        url[sizeof url - 1] = 0;
        assert_int_equal(strlen(url), 2000);
        assert_int_equal(path_sanitize(url, out, sizeof out), -ENAMETOOLONG);

        /* many short segments add up the same way */
        for (size_t i = 1; i + 1 < sizeof url - 1; i += 2) {
                url[i] = 'a';
                url[i + 1] = '/';
        }
        assert_int_equal(path_sanitize(url, out, sizeof out), -ENAMETOOLONG);

        /* a huge out buffer does not lift the limit */
        char *big = malloc(4096);
        assert_non_null(big);
        memset(url + 1, 'a', sizeof url - 2);
        assert_int_equal(path_sanitize(url, big, 4096), -ENAMETOOLONG);
        free(big);

        /* a long run of slashes and "." shrinks to nothing: not too long */
        memset(url + 1, '/', sizeof url - 2);
        assert_int_equal(path_sanitize(url, out, sizeof out), 0);
        assert_string_equal(out, ".");
}

/* The limit is on the result: PATH_REQUEST_MAX bytes are fine, one more is not,
 * however the result is split into segments. */
static void test_sanitize_limit_exact(void **state) {
        char url[PATH_REQUEST_MAX + 3], out[PATH_REQUEST_MAX + 1];

        url[0] = '/';
        memset(url + 1, 'x', PATH_REQUEST_MAX);
        url[PATH_REQUEST_MAX + 1] = 0;
        assert_int_equal(path_sanitize(url, out, sizeof out), 0);
        assert_int_equal(strlen(out), PATH_REQUEST_MAX);

        url[3] = '/'; /* "/xx/xxx..." */
        assert_int_equal(path_sanitize(url, out, sizeof out), 0);
        assert_int_equal(strlen(out), PATH_REQUEST_MAX);

        url[PATH_REQUEST_MAX + 1] = 'x';
        url[PATH_REQUEST_MAX + 2] = 0;
        assert_int_equal(path_sanitize(url, out, sizeof out), -ENAMETOOLONG);
        url[3] = 'x';
        assert_int_equal(path_sanitize(url, out, sizeof out), -ENAMETOOLONG);
}

/* A small out buffer is respected byte for byte. */
static void test_sanitize_small_buffer(void **state) {
        char out[4];

        memset(out, '#', sizeof out);
        assert_int_equal(path_sanitize("/abc", out, sizeof out), 0);
        assert_string_equal(out, "abc");
        assert_int_equal(path_sanitize("/a/b", out, sizeof out), 0);
        assert_string_equal(out, "a/b");
        assert_int_equal(path_sanitize("/abcd", out, sizeof out), -ENAMETOOLONG);
        assert_int_equal(path_sanitize("/a/bc", out, sizeof out), -ENAMETOOLONG);
        assert_int_equal(path_sanitize("/", out, 2), 0);
        assert_string_equal(out, ".");
        assert_int_equal(path_sanitize("/", out, 1), -ENAMETOOLONG);
}

/* ---- path_is_hidden ---- */

static void expect_hidden(const char *rel, bool want) {
        if (path_is_hidden(rel) != want)
                fail_msg("path_is_hidden(\"%s\") = %s, expected %s", rel, want ? "false" : "true",
                         want ? "true" : "false");
}

static void test_hidden_dot_segments(void **state) {
        expect_hidden(".env", true);
        expect_hidden(".git", true);
        expect_hidden(".git/config", true);
        expect_hidden("a/.b", true);
        expect_hidden("sub/.htpasswd", true);
        expect_hidden("a/.b/c", true);
        expect_hidden("...", true);
        expect_hidden("..a/b..", true);
}

static void test_hidden_plain(void **state) {
        expect_hidden(".", false); /* the root, as path_sanitize("/") gives it */
        expect_hidden("a.html", false);
        expect_hidden("a.b/c", false);
        expect_hidden("a/b.", false);
        expect_hidden("a/b.c/d.e", false);
        expect_hidden("a/b/c", false);
        expect_hidden("", false);
}

/* RFC 8615: only the top-level .well-known, though anything beneath it that
 * is not itself a dot segment */
static void test_hidden_well_known(void **state) {
        expect_hidden(".well-known", false);
        expect_hidden(".well-known/x", false);
        expect_hidden(".well-known/acme-challenge/TOKEN", false);
        expect_hidden(".well-known/security.txt", false);
        expect_hidden(".well-known/.x", true);
        expect_hidden(".well-known/a/.x", true);
        expect_hidden(".well-knownx", true);
        expect_hidden(".well-known-x/y", true);
        expect_hidden(".well-know", true);
        expect_hidden(".Well-Known/x", true);
        expect_hidden("a/.well-known", true);
        expect_hidden("a/.well-known/x", true);
}

/* What static_serve() asks: path_sanitize() first, which drops "." segments
 * and refuses ".." before path_is_hidden() sees the path. */
static void test_hidden_after_sanitize(void **state) {
        static const struct {
                const char *url;
                bool hidden;
        } cases[] = {
                { "/", false },
                { "/./", false },
                { "/.env", true },
                { "//.env", true },
                { "/./.env", true },
                { "/a/./.b", true },
                { "/.git/", true },
                { "/.well-known/", false },
                { "//.well-known//x", false },
                { "/./.well-known/x", false },
                { "/a/./b", false },
        };
        char rel[PATH_REQUEST_MAX + 1];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                assert_int_equal(path_sanitize(cases[i].url, rel, sizeof rel), 0);
                if (path_is_hidden(rel) != cases[i].hidden)
                        fail_msg("\"%s\" -> \"%s\": hidden should be %d", cases[i].url, rel,
                                 cases[i].hidden);
        }
}

/* ---- path_resolved_is_hidden: where symlinks led ---- */

static void expect_resolved(const char *resolved, const char *root, int want) {
        int got = path_resolved_is_hidden(resolved, root);
        if (got != want)
                fail_msg("path_resolved_is_hidden(\"%s\", \"%s\") = %d, expected %d", resolved,
                         root, got, want);
}

static void test_resolved_hidden(void **state) {
        expect_resolved("/srv/www/.env", "/srv/www", true);
        expect_resolved("/srv/www/.git/config", "/srv/www", true);
        expect_resolved("/srv/www/a/.b/c", "/srv/www", true);
        expect_resolved("/srv/www/.well-known/.x", "/srv/www", true);
        expect_resolved("/srv/www/.env", "/srv/www/", true); /* a trailing slash on the root */
        expect_resolved("/.env", "/", true);                 /* the root is / */
        expect_resolved("/a/.env", "/", true);
}

static void test_resolved_plain(void **state) {
        expect_resolved("/srv/www/a.html", "/srv/www", false);
        expect_resolved("/srv/www/.well-known/x", "/srv/www", false);
        expect_resolved("/srv/www", "/srv/www", false); /* the root itself */
        expect_resolved("/srv/.site/www/a.html", "/srv/.site/www",
                        false); /* only below the root counts */
        expect_resolved("/a.html", "/", false);
        expect_resolved("/", "/", false);
}

/* never beneath the root, which openat2() forbids: the root has moved */
static void test_resolved_outside(void **state) {
        expect_resolved("/srv/www2/.env", "/srv/www", -EXDEV);
        expect_resolved("/srv/www2/a.html", "/srv/www", -EXDEV);
        expect_resolved("/srv/.env", "/srv/www", -EXDEV);
        expect_resolved("/etc/.pwd.lock", "/srv/www", -EXDEV);
        expect_resolved("/srv/ww", "/srv/www", -EXDEV);
}

static void test_path_of_fd(void **state) {
        char buf[PATH_MAX], tiny[4];
        int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(path_of_fd(fd, buf, sizeof buf), 0);
        assert_string_equal(buf, "/");
        close(fd);
        fd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(path_of_fd(fd, tiny, sizeof tiny), -ENAMETOOLONG);
        close(fd);
        assert_int_equal(path_of_fd(-1, buf, sizeof buf), -ENOENT);
}

/* ---- path_open, on a real tree ---- */

typedef struct Tree {
        char base[64]; /* mkdtemp directory; "root" inside it is the document root */
        int root_fd;
} Tree;

static void write_file(const char *dir, const char *name, const char *text) {
        char p[PATH_MAX];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", dir, name);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *name) {
        char p[PATH_MAX];

        snprintf(p, sizeof p, "%s/%s", dir, name);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void make_link(const char *dir, const char *name, const char *target) {
        char p[PATH_MAX];

        snprintf(p, sizeof p, "%s/%s", dir, name);
        assert_int_equal(symlink(target, p), 0);
}

static int tree_setup(void **state) {
        Tree *t = calloc(1, sizeof *t);
        char root[128], p[256], target[256];

        if (!t)
                return -1;
        snprintf(t->base, sizeof t->base, "/tmp/clusterd-test-path-XXXXXX");
        if (!mkdtemp(t->base)) {
                free(t);
                return -1;
        }
        *state = t;
        write_file(t->base, "outside.txt", "not yours\n");
        make_dir(t->base, "root");
        snprintf(root, sizeof root, "%s/root", t->base);

        write_file(root, "a.html", "<p>hello</p>\n"); /* 13 bytes */
        make_dir(root, "sub");
        write_file(root, "sub/index.html", "<p>index</p>\n"); /* 13 bytes */
        write_file(root, "sub/inner.txt", "inner\n");
        make_dir(root, "empty");
        make_dir(root, "trap");
        make_link(root, "trap/index.html", "/etc/passwd");
        make_dir(root, "dirindex");
        make_dir(root, "dirindex/index.html");
        make_link(root, "link-passwd", "/etc/passwd");
        make_link(root, "link-up", "../outside.txt");
        make_link(root, "link-in", "a.html");
        make_link(root, "sub/link-sibling", "../a.html");
        make_link(root, "link-dir-in", "sub");
        make_link(root, "link-dir-out", "/etc");
        make_link(root, "link-dir-up", "..");
        make_link(root, "link-dangling", "nothing-here");
        snprintf(target, sizeof target, "%s/a.html", root);
        make_link(root, "abs-in", target); /* absolute, though inside the root */
        snprintf(p, sizeof p, "%s/fifo", root);
        assert_int_equal(mkfifo(p, 0644), 0);

        t->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(t->root_fd >= 0);
        return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int tree_teardown(void **state) {
        Tree *t = *state;

        if (!t)
                return 0;
        if (t->root_fd >= 0)
                close(t->root_fd);
        nftw(t->base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(t);
        return 0;
}

static void test_open_regular(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index = true;
        bool via_symlink = true;
        int fd, flags;
        char buf[64];

        fd = path_open(t->root_fd, "a.html", &st, &is_index, &via_symlink);
        assert_true(fd >= 0);
        assert_false(via_symlink);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 13);
        assert_false(is_index);
        flags = fcntl(fd, F_GETFD);
        assert_true(flags & FD_CLOEXEC);
        assert_int_equal(read(fd, buf, sizeof buf), 13);
        assert_memory_equal(buf, "<p>hello</p>\n", 13);
        close(fd);

        fd = path_open(t->root_fd, "sub/inner.txt", &st, &is_index, NULL);
        assert_true(fd >= 0);
        assert_int_equal(st.st_size, 6);
        assert_false(is_index);
        close(fd);
}

static void test_open_directory_index(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index = false;
        int fd;

        fd = path_open(t->root_fd, "sub", &st, &is_index, NULL);
        assert_true(fd >= 0);
        assert_true(is_index);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 13);
        close(fd);

        /* the root itself, as path_sanitize("/") gives it: no index there */
        is_index = false;
        assert_int_equal(path_open(t->root_fd, ".", &st, &is_index, NULL), -EISDIR);
}

static void test_open_directory_without_index(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index;

        assert_int_equal(path_open(t->root_fd, "empty", &st, &is_index, NULL), -EISDIR);
        /* an index.html that is itself a directory is no file to serve */
        assert_int_equal(path_open(t->root_fd, "dirindex", &st, &is_index, NULL), -EACCES);
}

static void test_open_missing(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index;

        assert_int_equal(path_open(t->root_fd, "nope.html", &st, &is_index, NULL), -ENOENT);
        assert_int_equal(path_open(t->root_fd, "nope/deeper", &st, &is_index, NULL), -ENOENT);
        assert_int_equal(path_open(t->root_fd, "link-dangling", &st, &is_index, NULL), -ENOENT);
        /* a file used as a directory */
        assert_int_equal(path_open(t->root_fd, "a.html/x", &st, &is_index, NULL), -ENOTDIR);
}

static void test_open_symlink_out(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index;

        assert_int_equal(path_open(t->root_fd, "link-passwd", &st, &is_index, NULL), -EXDEV);
        assert_int_equal(path_open(t->root_fd, "link-up", &st, &is_index, NULL), -EXDEV);
        /* the directory's index.html is the symlink out */
        assert_int_equal(path_open(t->root_fd, "trap", &st, &is_index, NULL), -EXDEV);
        /* an absolute symlink is refused even when it points back inside */
        assert_int_equal(path_open(t->root_fd, "abs-in", &st, &is_index, NULL), -EXDEV);
        /* ".." that slipped past path_sanitize is still stopped by the kernel */
        assert_int_equal(path_open(t->root_fd, "../outside.txt", &st, &is_index, NULL), -EXDEV);
}

static void test_open_symlink_in(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index = true, via_symlink = false;
        int fd;

        fd = path_open(t->root_fd, "link-in", &st, &is_index, &via_symlink);
        assert_true(fd >= 0);
        assert_true(via_symlink); /* the caller checks where it led */
        assert_int_equal(st.st_size, 13);
        assert_false(is_index);
        close(fd);

        /* "../a.html" from a subdirectory stays beneath the root */
        fd = path_open(t->root_fd, "sub/link-sibling", &st, &is_index, &via_symlink);
        assert_true(fd >= 0);
        assert_true(via_symlink); /* the caller checks where it led */
        assert_int_equal(st.st_size, 13);
        close(fd);

        fd = path_open(t->root_fd, "link-dir-in/inner.txt", &st, &is_index, &via_symlink);
        assert_true(fd >= 0);
        assert_true(via_symlink); /* the caller checks where it led */
        assert_int_equal(st.st_size, 6);
        close(fd);

        fd = path_open(t->root_fd, "link-dir-in", &st, &is_index, &via_symlink);
        assert_true(fd >= 0);
        assert_true(via_symlink); /* the caller checks where it led */
        assert_true(is_index);
        close(fd);
}

static void test_open_fifo(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index;

        /* would block forever in open() without O_NONBLOCK; no writer exists */
        alarm(5);
        assert_int_equal(path_open(t->root_fd, "fifo", &st, &is_index, NULL), -EACCES);
        alarm(0);
}

static void test_open_subdir_symlink_out(void **state) {
        Tree *t = *state;
        struct stat st;
        bool is_index;

        assert_int_equal(path_open(t->root_fd, "link-dir-out/passwd", &st, &is_index, NULL),
                         -EXDEV);
        assert_int_equal(path_open(t->root_fd, "link-dir-out", &st, &is_index, NULL), -EXDEV);
        assert_int_equal(path_open(t->root_fd, "link-dir-up/outside.txt", &st, &is_index, NULL),
                         -EXDEV);
        assert_int_equal(path_open(t->root_fd, "link-dir-up/root/a.html", &st, &is_index, NULL),
                         -EXDEV);
}

/* What a request goes through: sanitize, then open. */
static void test_sanitize_then_open(void **state) {
        Tree *t = *state;
        char rel[PATH_REQUEST_MAX + 1];
        struct stat st;
        bool is_index;
        int fd;

        assert_int_equal(path_sanitize("//sub/./", rel, sizeof rel), 0);
        fd = path_open(t->root_fd, rel, &st, &is_index, NULL);
        assert_true(fd >= 0);
        assert_true(is_index);
        close(fd);

        assert_int_equal(path_sanitize("/", rel, sizeof rel), 0);
        assert_int_equal(path_open(t->root_fd, rel, &st, &is_index, NULL), -EISDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sanitize_good),
                cmocka_unit_test(test_sanitize_dotdot),
                cmocka_unit_test(test_sanitize_not_absolute),
                cmocka_unit_test(test_sanitize_bad_bytes),
                cmocka_unit_test(test_sanitize_too_long),
                cmocka_unit_test(test_sanitize_limit_exact),
                cmocka_unit_test(test_sanitize_small_buffer),
                cmocka_unit_test(test_hidden_dot_segments),
                cmocka_unit_test(test_hidden_plain),
                cmocka_unit_test(test_hidden_well_known),
                cmocka_unit_test(test_hidden_after_sanitize),
                cmocka_unit_test(test_resolved_hidden),
                cmocka_unit_test(test_resolved_plain),
                cmocka_unit_test(test_resolved_outside),
                cmocka_unit_test(test_path_of_fd),
                cmocka_unit_test(test_open_regular),
                cmocka_unit_test(test_open_directory_index),
                cmocka_unit_test(test_open_directory_without_index),
                cmocka_unit_test(test_open_missing),
                cmocka_unit_test(test_open_symlink_out),
                cmocka_unit_test(test_open_symlink_in),
                cmocka_unit_test(test_open_fifo),
                cmocka_unit_test(test_open_subdir_symlink_out),
                cmocka_unit_test(test_sanitize_then_open),
        };

        return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}
