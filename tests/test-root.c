/* Unit tests for root.c: the document root followed across the deploys an
 * operator makes, a symlink flipped and a directory renamed into place, in
 * a real temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "root.h"

typedef struct Fixture {
        char dir[64];
        char path[128]; /* what the root is configured as */
} Fixture;

/* dir/name, in a buffer that lasts until the next call */
static const char *in(Fixture *f, const char *name) {
        static char buf[256];
        snprintf(buf, sizeof buf, "%s/%s", f->dir, name);
        return buf;
}

/* a directory dir/name holding a file "release" that says release */
static void make_release(Fixture *f, const char *name, const char *release) {
        char path[256];
        FILE *fp;

        snprintf(path, sizeof path, "%s/%s", f->dir, name);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/%s/release", f->dir, name);
        fp = fopen(path, "we");
        assert_non_null(fp);
        fputs(release, fp);
        fclose(fp);
}

/* what the file "release" says beneath the root held now */
static const char *release_of(const Root *r) {
        static char buf[32];
        int fd = openat(root_fd(r), "release", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        assert_true(n >= 0);
        buf[n] = 0;
        return buf;
}

/* the symlink flip of a deploy: name -> target, replaced in one rename */
static void flip(Fixture *f, const char *name, const char *target) {
        char tmp[256];

        snprintf(tmp, sizeof tmp, "%s/%s.tmp", f->dir, name);
        assert_int_equal(symlink(target, tmp), 0);
        assert_int_equal(rename(tmp, in(f, name)), 0);
}

static void move(Fixture *f, const char *from, const char *to) {
        char src[256];

        snprintf(src, sizeof src, "%s", in(f, from));
        assert_int_equal(rename(src, in(f, to)), 0);
}

static void expect_proc_path(const Root *r, Fixture *f, const char *name) {
        char want[PATH_MAX];

        assert_non_null(realpath(in(f, name), want));
        assert_non_null(root_proc_path(r));
        assert_string_equal(root_proc_path(r), want);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);

        strcpy(f->dir, "/tmp/test-root-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        make_release(f, "v1", "v1");
        make_release(f, "v2", "v2");
        assert_int_equal(symlink("v1", in(f, "current")), 0);
        snprintf(f->path, sizeof f->path, "%s/current", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void test_open_follows_the_symlink(void **state) {
        Fixture *f = *state;
        Root *r = NULL;

        assert_int_equal(root_open(f->path, true, 0, &r), 0);
        assert_string_equal(release_of(r), "v1");
        assert_string_equal(root_path(r), f->path);
        expect_proc_path(r, f, "v1");
        assert_true(fcntl(root_fd(r), F_GETFD) & FD_CLOEXEC);
        root_free(r);
}

static void test_open_refuses_what_is_no_directory(void **state) {
        Fixture *f = *state;
        Root *r = NULL;

        assert_int_equal(root_open(in(f, "missing"), true, 0, &r), -ENOENT);
        assert_int_equal(root_open(in(f, "v1/release"), true, 0, &r), -ENOTDIR);
        assert_null(r);
        root_free(NULL);
}

static void test_due_once_a_second(void **state) {
        Fixture *f = *state;
        const uint64_t t0 = 5 * ROOT_CHECK_INTERVAL_USEC;
        Root *r;

        assert_int_equal(root_open(f->path, false, t0, &r), 0);
        assert_false(root_due(r, t0));
        assert_false(root_due(r, t0 + ROOT_CHECK_INTERVAL_USEC - 1));
        assert_true(root_due(r, t0 + ROOT_CHECK_INTERVAL_USEC));
        /* a look, at any time, holds for the next second */
        assert_int_equal(root_check(r, t0 + 3 * ROOT_CHECK_INTERVAL_USEC), 0);
        assert_false(root_due(r, t0 + 4 * ROOT_CHECK_INTERVAL_USEC - 1));
        assert_true(root_due(r, t0 + 4 * ROOT_CHECK_INTERVAL_USEC));
        root_free(r);
}

static void test_symlink_flip_is_followed(void **state) {
        Fixture *f = *state;
        Root *r;
        int old_fd;

        assert_int_equal(root_open(f->path, true, 0, &r), 0);
        assert_int_equal(root_check(r, 1), 0);
        old_fd = root_fd(r);

        flip(f, "current", "v2");
        assert_int_equal(root_check(r, 2), 1);
        assert_string_equal(release_of(r), "v2");
        expect_proc_path(r, f, "v2");
        assert_int_not_equal(root_fd(r), old_fd);
        assert_true(fcntl(root_fd(r), F_GETFD) & FD_CLOEXEC);
        /* the old directory's fd is closed at the swap */
        assert_int_equal(fcntl(old_fd, F_GETFD), -1);
        assert_int_equal(errno, EBADF);
        /* and once followed, it is the same again */
        assert_int_equal(root_check(r, 3), 0);

        flip(f, "current", "v1"); /* a rollback */
        assert_int_equal(root_check(r, 4), 1);
        assert_string_equal(release_of(r), "v1");
        expect_proc_path(r, f, "v1");
        root_free(r);
}

static void test_rename_into_place_is_followed(void **state) {
        Fixture *f = *state;
        Root *r;

        make_release(f, "site", "old");
        make_release(f, "site.new", "new");
        assert_int_equal(root_open(in(f, "site"), true, 0, &r), 0);

        /* between the two renames: nothing is there, the old one is served */
        move(f, "site", "site.old");
        assert_int_equal(root_check(r, 1), -ENOENT);
        assert_string_equal(release_of(r), "old");

        move(f, "site.new", "site");
        assert_int_equal(root_check(r, 2), 1);
        assert_string_equal(release_of(r), "new");
        expect_proc_path(r, f, "site");
        root_free(r);
}

static void test_deleted_root_is_replaced(void **state) {
        Fixture *f = *state;
        char cmd[320];
        Root *r;

        make_release(f, "site", "old");
        assert_int_equal(root_open(in(f, "site"), false, 0, &r), 0);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", in(f, "site"));
        assert_int_equal(system(cmd), 0);
        make_release(f, "site", "new");
        assert_int_equal(root_check(r, 1), 1);
        assert_string_equal(release_of(r), "new");
        assert_null(root_proc_path(r)); /* not asked for */
        root_free(r);
}

static void test_path_turned_file_keeps_the_old_root(void **state) {
        Fixture *f = *state;
        Root *r;

        assert_int_equal(root_open(f->path, true, 0, &r), 0);
        flip(f, "current", "v2/release");
        assert_int_equal(root_check(r, 1), -ENOTDIR);
        assert_string_equal(release_of(r), "v1");
        expect_proc_path(r, f, "v1");

        flip(f, "current", "nowhere"); /* a dangling symlink */
        assert_int_equal(root_check(r, 2), -ENOENT);
        assert_string_equal(release_of(r), "v1");
        root_free(r);
}

static void test_refresh_after_a_rename(void **state) {
        Fixture *f = *state;
        Root *r;

        char before[PATH_MAX];

        assert_non_null(realpath(in(f, "v1"), before));
        assert_int_equal(root_open(in(f, "v1"), true, 0, &r), 0);
        move(f, "v1", "v1.old");
        assert_string_equal(root_proc_path(r), before); /* as read at the open... */
        assert_int_equal(root_refresh_proc_path(r), 0);
        expect_proc_path(r, f, "v1.old"); /* ...and now */
        root_free(r);

        assert_int_equal(root_open(in(f, "v2"), false, 0, &r), 0);
        assert_int_equal(root_refresh_proc_path(r), -EINVAL);
        assert_null(root_proc_path(r));
        root_free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_follows_the_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_refuses_what_is_no_directory, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_due_once_a_second, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_flip_is_followed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rename_into_place_is_followed, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_deleted_root_is_replaced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_path_turned_file_keeps_the_old_root, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_refresh_after_a_rename, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
