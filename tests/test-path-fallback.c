/* path_open where openat2() is refused with ENOSYS, as under systemd's
 * RestrictSUIDSGID= or an old kernel: the component-by-component fallback must
 * still serve files and must never leave the root. A seccomp filter installed
 * at start makes every openat2() in this process fail with ENOSYS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "path.h"

static char dir[64];
static int root_fd = -1;

static void deny_openat2(void) {
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
        assert_int_equal(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_int_equal(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

static void put(const char *name, const char *content) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static int setup(void **state) {
        char p[256];
        strcpy(dir, "/tmp/test-path-fallback-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(p, sizeof p, "%s/sub", dir);
        assert_int_equal(mkdir(p, 0755), 0);
        put("a.txt", "hello\n");
        put("sub/index.html", "<p>sub</p>\n");
        snprintf(p, sizeof p, "%s/out", dir);
        assert_int_equal(symlink("/etc/passwd", p), 0);
        snprintf(p, sizeof p, "%s/outdir", dir);
        assert_int_equal(symlink("/etc", p), 0);
        root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        deny_openat2();
        return 0;
}

static int teardown(void **state) {
        char cmd[128];
        close(root_fd);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd);
}

static void test_openat2_really_denied(void **state) {
        long r = syscall(SYS_openat2, root_fd, "a.txt", NULL, 0);
        assert_int_equal(r, -1);
        assert_int_equal(errno, ENOSYS);
}

static void test_file_opens(void **state) {
        struct stat st;
        bool idx;
        int fd = path_open(root_fd, "a.txt", &st, &idx, NULL);
        assert_true(fd >= 0);
        assert_int_equal(st.st_size, 6);
        assert_false(idx);
        close(fd);
}

static void test_directory_index(void **state) {
        struct stat st;
        bool idx;
        int fd = path_open(root_fd, "sub", &st, &idx, NULL);
        assert_true(fd >= 0);
        assert_true(idx);
        close(fd);
        fd = path_open(root_fd, ".", &st, &idx, NULL);
        assert_int_equal(fd, -EISDIR); /* the root has no index.html */
}

static void test_symlinks_refused(void **state) {
        struct stat st;
        bool idx;
        assert_true(path_open(root_fd, "out", &st, &idx, NULL) < 0);
        assert_true(path_open(root_fd, "outdir/passwd", &st, &idx, NULL) < 0);
        assert_int_equal(path_open(root_fd, "missing", &st, &idx, NULL), -ENOENT);
}

/* path_sanitize never lets ".." through, but the walk must not rely on that:
 * "../<root's name>/a.txt" leaves the root and comes back to a real file */
static void test_dotdot_refused(void **state) {
        struct stat st;
        bool idx;
        char back_in[128];

        snprintf(back_in, sizeof back_in, "../%s/a.txt", strrchr(dir, '/') + 1);
        assert_int_equal(path_open(root_fd, back_in, &st, &idx, NULL), -EXDEV);
        assert_int_equal(path_open(root_fd, "..", &st, &idx, NULL), -EXDEV);
        assert_int_equal(path_open(root_fd, "sub/../../x", &st, &idx, NULL), -EXDEV);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_openat2_really_denied),
                cmocka_unit_test(test_file_opens),
                cmocka_unit_test(test_directory_index),
                cmocka_unit_test(test_symlinks_refused),
                cmocka_unit_test(test_dotdot_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
