/* A built-in worker's seccomp filter: once its daemons, sockets and event
 * sources exist, it may only serve. An allow-list, measured with strace -f
 * on workers under load (keep-alive, new connections, ranges, sendfile,
 * /metrics, the file cache, dotfile symlinks, the stall cut, malloc_trim,
 * drain and exit), with libmicrohttpd 0.9.75 and 1.0.1. */
#include "worker-seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp trap, from <asm/siginfo.h> */
#endif

/* What a worker may call once set up, without condition. Nothing here
 * creates a process, a thread (a worker has none, so no clone at all) or a
 * socket, runs a program, mounts, traces, or changes an identity or a
 * namespace. Files are opened read-only by the callers; the filter cannot
 * hold openat2 to that, as its flags are in memory, so it does not try with
 * openat either. */
static const char *const allowed[] = {
        /* the event loops: sd-event's epoll and timerfd (its signalfd is read
         * with read()), MHD's epoll set of connections */
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_ctl",
        "timerfd_settime",
        "timerfd_gettime",
        /* connections: accept, read the request, answer (sendmsg for header
         * and body together, sendfile for files), tune and close them */
        "accept4",
        "accept",
        "recvfrom",
        "recvmsg",
        "sendto",
        "sendmsg",
        "sendfile",
        "write",
        "writev",
        "read",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "getsockname",
        "getpeername",
        "close",
        "fcntl",
        /* files beneath the root: openat2, its O_NOFOLLOW walk with openat,
         * fstat, the file cache's fstatat and pread, readlink of
         * /proc/self/fd for a file opened through a symlink, and fopen of
         * /proc/self/statm for the heartbeat's RSS */
        "openat2",
        "openat",
        "newfstatat",
        "fstat",
        "statx",
        "pread64",
        "lseek",
        "readlink",
        "readlinkat",
        /* the access log: reopened with openat (O_WRONLY | O_APPEND |
         * O_CREAT) on IPC_REOPEN and fstat'ed, written with write, the
         * room on its file system asked with fstatfs before each write;
         * the journal's entries go out with sendmsg */
        "fstatfs",
        /* memory: malloc, realloc of large blocks, malloc_trim */
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "madvise",
        /* time, where the vDSO falls back to the kernel, and sd-event's and
         * the hash tables' seeds */
        "clock_gettime",
        "clock_getres",
        "gettimeofday",
        "time",
        "getrandom",
        /* HTTPS: GnuTLS initializes some of its state on the first
         * handshake, under pthread_once(), whose slow path ends with a
         * FUTEX_WAKE even in a process of one thread (seen with GnuTLS
         * 3.7.9: the first TLS connection killed the worker) */
        "futex",
        /* signals, and what the SIGSYS handler needs to end the process */
        "rt_sigreturn",
        "rt_sigprocmask",
        "rt_sigaction",
        "restart_syscall",
        "getpid",
        "gettid",
        "exit",
        "exit_group",
};

/* The process's own trap note: a pointer into shared memory, set once
 * before the filter is loaded. A signal handler has no userdata. */
static int32_t *trap_note;

/* A denied call: note it where the manager looks, then die of SIGSYS as the
 * default action would have, so the manager sees the signal. Only
 * async-signal-safe calls, each allowed by the filter (kill only of this
 * process). A SIGSYS sent from outside is no seccomp trap and notes
 * nothing. */
static void on_sigsys(int sig, siginfo_t *si, void *context) {
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t sys;

        if (si->si_code == SYS_SECCOMP && trap_note)
                __atomic_store_n(trap_note, (int32_t) si->si_syscall, __ATOMIC_RELAXED);
        (void) sigaction(SIGSYS, &dfl, NULL);
        (void) kill(getpid(), SIGSYS); /* pending: blocked while we run */
        sigemptyset(&sys);
        sigaddset(&sys, SIGSYS);
        (void) sigprocmask(SIG_UNBLOCK, &sys, NULL);
        _exit(128 + SIGSYS); /* not reached */
}

static int trap_setup(int32_t *denied_syscall) {
        struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
        sigset_t sys;

        trap_note = denied_syscall;
        sigemptyset(&sys);
        sigaddset(&sys, SIGSYS);
        if (sigaction(SIGSYS, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &sys, NULL) < 0)
                return negative_errno();
        return 0;
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

static int add_allowed(scmp_filter_ctx ctx) {
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++) {
                int nr = seccomp_syscall_resolve_name(allowed[i]);
                int r;

                /* a call this architecture does not have */
                if (nr == __NR_SCMP_ERROR || nr < 0)
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Signals only to itself: abort() and raise() use tgkill, the SIGSYS
 * handler kill; tkill's thread id is the pid in a single-threaded process. */
static int add_self_signals(scmp_filter_ctx ctx) {
        scmp_datum_t self = (scmp_datum_t) getpid();
        int r;

        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, self));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                                     SCMP_A0(SCMP_CMP_EQ, self));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1,
                                     SCMP_A0(SCMP_CMP_EQ, self));
        return r;
}

/* libseccomp learns what the kernel offers by calling seccomp(), and loads
 * its program with it. systemd 252's SystemCallFilter=@system-service, the
 * unit's, refuses seccomp() (systemd-analyze syscall-filter lists it in no
 * group but @known): libseccomp then takes the kernel for one without
 * SECCOMP_RET_LOG and KILL_PROCESS (API level 1) and refuses to build this
 * filter. Both actions came with Linux 4.14 (an older kernel would take
 * them for a kill). So, below level 3, say level 3, and load the program
 * with prctl(PR_SET_SECCOMP), which @system-service allows (@process) and
 * which takes the same program. */
static void api_level_at_least_3(void) {
        if (seccomp_api_get() < 3)
                (void) seccomp_api_set(3);
}

static int load_with_prctl(scmp_filter_ctx ctx) {
        _cleanup_close_ int fd = memfd_create("worker-seccomp", MFD_CLOEXEC);
        _cleanup_free_ struct sock_filter *insns = NULL;
        struct sock_fprog prog;
        struct stat st;
        int r;

        if (fd < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_size <= 0 || st.st_size % sizeof *insns != 0 ||
            st.st_size > BPF_MAXINSNS * (off_t) sizeof *insns)
                return -E2BIG;
        insns = malloc((size_t) st.st_size);
        if (!insns)
                return -ENOMEM;
        if (pread(fd, insns, (size_t) st.st_size, 0) != st.st_size)
                return -EIO;
        prog = (struct sock_fprog) { .len = (unsigned short) (st.st_size / sizeof *insns),
                                     .filter = insns };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return negative_errno();
        return 0;
}

int worker_seccomp_install(ConfigSeccomp mode, int32_t *denied_syscall) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        if (mode == CONFIG_SECCOMP_NO)
                return 0;
        /* no core dump, no ptrace by its own user, no /proc/PID/mem for
         * them: a worker's memory holds what it served */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        if (mode == CONFIG_SECCOMP_YES) {
                r = trap_setup(denied_syscall);
                if (r < 0)
                        return r;
        }
        api_level_at_least_3();
        ctx = seccomp_init(mode == CONFIG_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
        if (!ctx)
                return -ENOMEM;
        /* the filter holds the native ABI alone; any other (i386's int 0x80
         * and x32 on x86_64) is refused outright, under log too */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        /* a binary tree rather than a chain: the calls of the hot path are
         * not all at the front of the list */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r >= 0)
                r = add_allowed(ctx);
        if (r >= 0)
                r = add_self_signals(ctx);
        if (r >= 0)
                r = load_with_prctl(ctx);
        return r < 0 ? r : 0;
}

void worker_seccomp_syscall_name(int32_t nr, char *buf, size_t size) {
        _cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

        if (name)
                snprintf(buf, size, "%s", name);
        else
                snprintf(buf, size, "%d", (int) nr);
}
