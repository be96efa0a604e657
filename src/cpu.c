/* Counting usable CPUs from the affinity mask and the cgroup v2/v1 quota. */
#include "cpu.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int cpu_count_affinity(void) {
        cpu_set_t *set;
        size_t ncpus = 1024, size;
        int n;

        for (;;) {
                set = CPU_ALLOC(ncpus);
                if (!set)
                        return -ENOMEM;
                size = CPU_ALLOC_SIZE(ncpus);
                CPU_ZERO_S(size, set);
                if (sched_getaffinity(0, size, set) == 0)
                        break;
                CPU_FREE(set);
                if (errno != EINVAL || ncpus >= 1u << 20)
                        return negative_errno();
                ncpus *= 2;
        }
        n = CPU_COUNT_S(size, set);
        CPU_FREE(set);
        return n;
}

/* Rounds up without overflowing; a quota above UINT_MAX CPUs saturates
 * instead of wrapping around to a small count. */
static unsigned quota_to_cpus(long long quota, long long period) {
        long long n = quota / period + (quota % period != 0);
        return n > UINT_MAX ? UINT_MAX : (unsigned) n;
}

int cpu_quota_parse_v2(const char *text, unsigned *ret_cpus) {
        char quota[32];
        long long period, q;

        if (sscanf(text, "%31s %lld", quota, &period) != 2 || period <= 0)
                return -EINVAL;
        if (strcmp(quota, "max") == 0) {
                *ret_cpus = 0;
                return 0;
        }
        char *end;
        errno = 0;
        q = strtoll(quota, &end, 10);
        if (errno || *end || q <= 0)
                return -EINVAL;
        *ret_cpus = quota_to_cpus(q, period);
        return 0;
}

int cpu_quota_parse_v1(long long quota_us, long long period_us, unsigned *ret_cpus) {
        if (period_us <= 0)
                return -EINVAL;
        if (quota_us < 0) {
                *ret_cpus = 0;
                return 0;
        }
        if (quota_us == 0)
                return -EINVAL;
        *ret_cpus = quota_to_cpus(quota_us, period_us);
        return 0;
}

static int read_line(const char *path, char *buf, size_t size) {
        FILE *f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (!fgets(buf, (int) size, f)) {
                fclose(f);
                return -ENODATA;
        }
        fclose(f);
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static int read_ll(const char *path, long long *ret) {
        char buf[64], *end;
        int r = read_line(path, buf, sizeof buf);
        if (r < 0)
                return r;
        errno = 0;
        *ret = strtoll(buf, &end, 10);
        return errno || end == buf ? -EINVAL : 0;
}

/* Finds this process's cgroup path in /proc/self/cgroup: the v2 entry ("0::/x")
 * or the v1 entry whose controller list names "cpu". */
static int own_cgroup(const char *sysroot, bool v1, char *ret, size_t size) {
        char path[PATH_MAX], line[PATH_MAX + 64];
        int r = -ENOENT;
        FILE *f;

        snprintf(path, sizeof path, "%s/proc/self/cgroup", sysroot);
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (fgets(line, sizeof line, f)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                c2[1 + strcspn(c2 + 1, "\n")] = 0;
                bool match = false;
                if (!v1)
                        match = strcmp(c1 + 1, "") == 0;
                else
                        for (char *tok = strtok(c1 + 1, ","); tok; tok = strtok(NULL, ","))
                                match = match || strcmp(tok, "cpu") == 0;
                if (match) {
                        snprintf(ret, size, "%s", c2 + 1);
                        r = 0;
                        break;
                }
        }
        fclose(f);
        return r;
}

/* One level up, "/" included: in a container the mount's root is the
 * container's own cgroup and may hold its quota. False once past "/". */
static bool cgroup_parent(char *dir) {
        char *slash = strrchr(dir, '/');

        if (!slash || strcmp(dir, "/") == 0)
                return false;
        if (slash == dir)
                dir[1] = 0;
        else
                *slash = 0;
        return true;
}

/* Walks from the cgroup to the root, keeping the smallest limit found. */
static void tighten(unsigned *best, unsigned cpus) {
        if (cpus > 0 && (*best == 0 || cpus < *best))
                *best = cpus;
}

int cpu_quota_read(const char *sysroot, unsigned *ret_cpus) {
        char cg[PATH_MAX], path[PATH_MAX * 2], buf[128];
        unsigned best = 0, cpus;
        bool found = false;

        if (own_cgroup(sysroot, false, cg, sizeof cg) == 0) {
                do {
                        snprintf(path, sizeof path, "%s/sys/fs/cgroup%s/cpu.max", sysroot,
                                 strcmp(cg, "/") == 0 ? "" : cg);
                        if (read_line(path, buf, sizeof buf) == 0 &&
                            cpu_quota_parse_v2(buf, &cpus) == 0) {
                                tighten(&best, cpus);
                                found = true;
                        }
                } while (cgroup_parent(cg));
        }
        if (!found && own_cgroup(sysroot, true, cg, sizeof cg) == 0) {
                static const char *const mounts[] = { "cpu,cpuacct", "cpu" };
                for (size_t m = 0; m < ELEMENTSOF(mounts); m++) {
                        char dir[PATH_MAX];
                        snprintf(dir, sizeof dir, "%s", cg);
                        do {
                                long long q, p;
                                const char *d = strcmp(dir, "/") == 0 ? "" : dir;
                                snprintf(path, sizeof path,
                                         "%s/sys/fs/cgroup/%s%s/cpu.cfs_quota_us", sysroot,
                                         mounts[m], d);
                                if (read_ll(path, &q) == 0) {
                                        snprintf(path, sizeof path,
                                                 "%s/sys/fs/cgroup/%s%s/cpu.cfs_period_us", sysroot,
                                                 mounts[m], d);
                                        if (read_ll(path, &p) == 0 &&
                                            cpu_quota_parse_v1(q, p, &cpus) == 0)
                                                tighten(&best, cpus);
                                }
                        } while (cgroup_parent(dir));
                }
        }
        *ret_cpus = best;
        return 0;
}

unsigned cpu_usable(const char *sysroot) {
        int n = cpu_count_affinity();
        unsigned quota = 0, cpus = n > 0 ? (unsigned) n : 1;

        if (cpu_quota_read(sysroot, &quota) == 0 && quota > 0 && quota < cpus)
                cpus = quota;
        return cpus > 0 ? cpus : 1;
}
