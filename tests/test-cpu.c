/* Unit tests for cpu.c: parsing cgroup CPU quotas, finding them in a fake
 * /proc + /sys tree, and the worker count that "auto" gives. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
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

#include "cpu.h"

/* ---- parsers ---- */

static void expect_v2(const char *text, unsigned want) {
        unsigned cpus = 12345;
        int r = cpu_quota_parse_v2(text, &cpus);

        if (r != 0)
                fail_msg("cpu_quota_parse_v2(\"%s\") = %d", text, r);
        if (cpus != want)
                fail_msg("cpu_quota_parse_v2(\"%s\") gave %u CPUs, expected %u", text, cpus, want);
}

static void test_parse_v2(void **state) {
        expect_v2("max 100000", 0);
        expect_v2("max 100000\n", 0);
        expect_v2("150000 100000", 2);
        expect_v2("100000 100000", 1);
        expect_v2("50000 100000", 1);
        expect_v2("1000 100000", 1);
        expect_v2("100001 100000", 2);
        expect_v2("400000 100000\n", 4);
        expect_v2("200000 50000", 4);
}

static void test_parse_v2_garbage(void **state) {
        static const char *const bad[] = {
                "",
                "garbage",
                "max",
                "100000",
                "max 0",
                "100000 0",
                "100000 -1",
                "0 100000",
                "-5 100000",
                "12abc 100000",
                "max abc",
                "1e5 100000",
                "99999999999999999999999 100000",
        };
        unsigned cpus;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (cpu_quota_parse_v2(bad[i], &cpus) >= 0)
                        fail_msg("cpu_quota_parse_v2(\"%s\") was accepted", bad[i]);
}

static void test_parse_v1(void **state) {
        unsigned cpus = 99;

        assert_int_equal(cpu_quota_parse_v1(-1, 100000, &cpus), 0);
        assert_int_equal(cpus, 0);
        assert_int_equal(cpu_quota_parse_v1(250000, 100000, &cpus), 0);
        assert_int_equal(cpus, 3);
        assert_int_equal(cpu_quota_parse_v1(100000, 100000, &cpus), 0);
        assert_int_equal(cpus, 1);
        assert_int_equal(cpu_quota_parse_v1(1, 100000, &cpus), 0);
        assert_int_equal(cpus, 1);

        assert_true(cpu_quota_parse_v1(100000, 0, &cpus) < 0);
        assert_true(cpu_quota_parse_v1(-1, 0, &cpus) < 0);
        assert_true(cpu_quota_parse_v1(100000, -1, &cpus) < 0);
        assert_true(cpu_quota_parse_v1(0, 100000, &cpus) < 0);
}

/* A quota the kernel accepts but far above any real CPU count must not wrap
 * around to a tiny count, nor to 0 ("no limit" is fine, 1 is not). */
static void test_parse_huge_quota(void **state) {
        unsigned cpus = 0;

        /* 2^32 + 1 CPUs' worth: period 1000us, quota (2^32 + 1) * 1000us */
        assert_int_equal(cpu_quota_parse_v2("4294967297000 1000", &cpus), 0);
        assert_true(cpus == 0 || cpus >= 1024);
        assert_int_equal(cpu_quota_parse_v1(4294967297000LL, 1000, &cpus), 0);
        assert_true(cpus == 0 || cpus >= 1024);
        assert_int_equal(cpu_quota_parse_v1(LLONG_MAX, 100000, &cpus), 0);
        assert_true(cpus == 0 || cpus >= 1024);
        assert_int_equal(cpu_quota_parse_v1(LLONG_MAX, LLONG_MAX, &cpus), 0);
        assert_int_equal(cpus, 1);
}

/* ---- cpu_quota_read on a fake sysroot ---- */

static int sysroot_setup(void **state) {
        char *dir = strdup("/tmp/clusterd-test-cpu-XXXXXX");

        if (!dir || !mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int sysroot_teardown(void **state) {
        char *dir = *state;

        if (dir)
                nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
        return 0;
}

/* Writes text to sysroot/rel, creating the directories on the way. */
static void put(const char *sysroot, const char *rel, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", sysroot, rel);
        for (char *s = strchr(path + strlen(sysroot) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        fail_msg("mkdir %s: %s", path, strerror(errno));
                *s = '/';
        }
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static unsigned quota(const char *sysroot) {
        unsigned cpus = 12345;

        assert_int_equal(cpu_quota_read(sysroot, &cpus), 0);
        return cpus;
}

static void test_read_v2_tightest(void **state) {
        const char *root = *state;

        put(root, "proc/self/cgroup", "0::/a/b\n");
        put(root, "sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
        put(root, "sys/fs/cgroup/a/cpu.max", "200000 100000\n");
        assert_int_equal(quota(root), 2);

        /* a tighter limit further down wins */
        put(root, "sys/fs/cgroup/a/b/cpu.max", "100000 100000\n");
        assert_int_equal(quota(root), 1);
}

static void test_read_v2_deep(void **state) {
        const char *root = *state;

        /* levels without cpu.max (controller not enabled) are skipped */
        put(root, "proc/self/cgroup", "0::/system.slice/clusterd.service/worker\n");
        put(root, "sys/fs/cgroup/system.slice/cpu.max", "800000 100000\n");
        put(root, "sys/fs/cgroup/system.slice/clusterd.service/cpu.max", "300000 100000\n");
        assert_int_equal(quota(root), 3);
}

static void test_read_v2_unlimited(void **state) {
        const char *root = *state;

        put(root, "proc/self/cgroup", "0::/a/b\n");
        put(root, "sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
        put(root, "sys/fs/cgroup/a/cpu.max", "max 100000\n");
        assert_int_equal(quota(root), 0);
}

static void test_read_v2_root(void **state) {
        const char *root = *state;

        /* inside a cgroup namespace the own cgroup is "/" */
        put(root, "proc/self/cgroup", "0::/\n");
        put(root, "sys/fs/cgroup/cpu.max", "150000 100000\n");
        assert_int_equal(quota(root), 2);
}

static void test_read_v1(void **state) {
        const char *root = *state;

        put(root, "proc/self/cgroup",
            "5:memory:/m\n4:cpu,cpuacct:/x\n1:name=systemd:/init.scope\n0::/\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_quota_us", "250000\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_period_us", "100000\n");
        assert_int_equal(quota(root), 3);
}

static void test_read_v1_nested(void **state) {
        const char *root = *state;

        put(root, "proc/self/cgroup", "4:cpuacct,cpu:/x/y\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/x/y/cpu.cfs_quota_us", "-1\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/x/y/cpu.cfs_period_us", "100000\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_quota_us", "150000\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_period_us", "100000\n");
        assert_int_equal(quota(root), 2);
}

static void test_read_v1_container_root(void **state) {
        const char *root = *state;

        /* in a v1 container the path is the host's, but the mount's root is
         * the container's own cgroup, where its quota is */
        put(root, "proc/self/cgroup", "5:cpu,cpuacct:/docker/abc\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
        assert_int_equal(quota(root), 2);
}

static void test_read_v1_cpu_only_mount(void **state) {
        const char *root = *state;

        /* cpu mounted on its own, as "1:cpu:/" on some hosts */
        put(root, "proc/self/cgroup", "2:cpuacct:/\n1:cpu:/svc\n0::/\n");
        put(root, "sys/fs/cgroup/cpu/svc/cpu.cfs_quota_us", "50000\n");
        put(root, "sys/fs/cgroup/cpu/svc/cpu.cfs_period_us", "100000\n");
        assert_int_equal(quota(root), 1);
}

static void test_read_v1_not_cpuacct(void **state) {
        const char *root = *state;

        /* "cpuacct" alone or "cpuset" is not the cpu controller */
        put(root, "proc/self/cgroup", "3:cpuset:/q\n2:cpuacct:/q\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/q/cpu.cfs_quota_us", "100000\n");
        put(root, "sys/fs/cgroup/cpu,cpuacct/q/cpu.cfs_period_us", "100000\n");
        assert_int_equal(quota(root), 0);
}

static void test_read_none(void **state) {
        const char *root = *state;

        /* nothing at all */
        assert_int_equal(quota(root), 0);
        /* a cgroup but no quota files */
        put(root, "proc/self/cgroup", "0::/a\n");
        assert_int_equal(quota(root), 0);
        /* unreadable garbage in the quota file */
        put(root, "sys/fs/cgroup/a/cpu.max", "whatever\n");
        assert_int_equal(quota(root), 0);
        /* an empty cgroup file */
        put(root, "proc/self/cgroup", "");
        assert_int_equal(quota(root), 0);
}

/* ---- affinity and the final count ---- */

static void test_count_affinity(void **state) {
        cpu_set_t set;

        CPU_ZERO(&set);
        assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
        assert_int_equal(cpu_count_affinity(), CPU_COUNT(&set));
        assert_true(cpu_count_affinity() >= 1);
}

static void test_usable_quota_one(void **state) {
        const char *root = *state;

        put(root, "proc/self/cgroup", "0::/svc\n");
        put(root, "sys/fs/cgroup/svc/cpu.max", "100000 100000\n");
        assert_int_equal(cpu_usable(root), 1);

        /* a hundredth of a CPU still gives one worker */
        put(root, "sys/fs/cgroup/svc/cpu.max", "1000 100000\n");
        assert_int_equal(cpu_usable(root), 1);
}

static void test_usable_min_of_both(void **state) {
        const char *root = *state;
        unsigned n = (unsigned) cpu_count_affinity();

        /* no quota: the affinity count */
        assert_int_equal(cpu_usable(root), n);
        /* a quota above the affinity count does not add CPUs */
        put(root, "proc/self/cgroup", "0::/svc\n");
        put(root, "sys/fs/cgroup/svc/cpu.max", "100000000 100000\n");
        assert_int_equal(cpu_usable(root), n);
}

static void test_usable_pinned(void **state) {
        const char *root = *state;
        cpu_set_t saved, one;
        int first = -1;

        assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
        for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
                if (CPU_ISSET(i, &saved))
                        first = i;
        assert_true(first >= 0);
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);

        put(root, "proc/self/cgroup", "0::/svc\n");
        put(root, "sys/fs/cgroup/svc/cpu.max", "400000 100000\n");
        int count = cpu_count_affinity();
        unsigned usable = cpu_usable(root);

        assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
        assert_int_equal(count, 1);
        assert_int_equal(usable, 1);
}

static void test_usable_real_system(void **state) {
        unsigned n = cpu_usable("");

        assert_true(n >= 1);
        assert_true(n <= (unsigned) cpu_count_affinity());
}

#define SYSROOT_TEST(f) cmocka_unit_test_setup_teardown(f, sysroot_setup, sysroot_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_v2),
                cmocka_unit_test(test_parse_v2_garbage),
                cmocka_unit_test(test_parse_v1),
                cmocka_unit_test(test_parse_huge_quota),
                SYSROOT_TEST(test_read_v2_tightest),
                SYSROOT_TEST(test_read_v2_deep),
                SYSROOT_TEST(test_read_v2_unlimited),
                SYSROOT_TEST(test_read_v2_root),
                SYSROOT_TEST(test_read_v1),
                SYSROOT_TEST(test_read_v1_nested),
                SYSROOT_TEST(test_read_v1_container_root),
                SYSROOT_TEST(test_read_v1_cpu_only_mount),
                SYSROOT_TEST(test_read_v1_not_cpuacct),
                SYSROOT_TEST(test_read_none),
                cmocka_unit_test(test_count_affinity),
                SYSROOT_TEST(test_usable_quota_one),
                SYSROOT_TEST(test_usable_min_of_both),
                SYSROOT_TEST(test_usable_pinned),
                cmocka_unit_test(test_usable_real_system),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
