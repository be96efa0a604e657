/* How many workers "auto" means: the CPUs this process may run on, limited
 * by the cgroup CPU quota. */
#pragma once

/* Number of CPUs in this process's affinity mask, or a negative errno. */
int cpu_count_affinity(void);

/* Parses cgroup v2 "cpu.max" text ("max 100000", "150000 100000").
 * *ret_cpus is 0 for no limit, else the quota rounded up to whole CPUs. */
int cpu_quota_parse_v2(const char *text, unsigned *ret_cpus);

/* The same for cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us (-1 = no limit). */
int cpu_quota_parse_v1(long long quota_us, long long period_us, unsigned *ret_cpus);

/* The tightest quota on the path from this process's cgroup to the root.
 * sysroot prefixes /proc and /sys ("" for the real system, a directory in tests).
 * *ret_cpus is 0 when no quota applies. */
int cpu_quota_read(const char *sysroot, unsigned *ret_cpus);

/* min(affinity, quota), never less than 1. */
unsigned cpu_usable(const char *sysroot);
