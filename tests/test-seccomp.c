/* Unit tests for worker-seccomp.c: in a forked child, the filter lets what a
 * worker does go on and kills it with SIGSYS for anything else, noting the
 * call where the manager reads it; "log" kills nothing and "no" installs
 * nothing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker-seccomp.h"

/* What a confined child did: its wait status, and what its trap noted. */
typedef struct Outcome {
        int status;
        int32_t note;
} Outcome;

/* Another process for the children to aim at: the test itself. */
static pid_t test_pid;

/* A child's exit status when the filter could not be installed. */
#define EXIT_NO_FILTER 100
/* ... when the service manager's filter could not be put in place */
#define EXIT_NO_UNIT_FILTER 101

/* What systemd 252's SystemCallFilter=@system-service does to the seccomp()
 * call: EPERM. A filter like the service manager's, below the worker's. */
static int unit_filter(void) {
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                return -1;
        /* libseccomp's probe, which the filter answers: it must see
         * seccomp() refused, not a level a parent process probed */
        return seccomp_api_get() < 3 ? 0 : -1;
}

/* Forks; the child, with under_unit below a filter like the unit's,
 * confines itself by mode, runs action, and exits with what action
 * returns. */
static Outcome run_confined_in(bool under_unit, ConfigSeccomp mode, int (*action)(long), long arg) {
        int32_t *note =
                mmap(NULL, sizeof *note, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        Outcome o;
        pid_t pid;

        assert_true(note != MAP_FAILED);
        *note = -1;
        test_pid = getpid();
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (under_unit && unit_filter() < 0)
                        _exit(EXIT_NO_UNIT_FILTER);
                if (worker_seccomp_install(mode, note) < 0)
                        _exit(EXIT_NO_FILTER);
                _exit(action(arg));
        }
        assert_int_equal(waitpid(pid, &o.status, 0), pid);
        o.note = *note;
        munmap(note, sizeof *note);
        return o;
}

static Outcome run_confined(ConfigSeccomp mode, int (*action)(long), long arg) {
        return run_confined_in(false, mode, action, arg);
}

static void assert_killed_noting(Outcome o, long nr) {
        if (WIFEXITED(o.status))
                fail_msg("call %ld went on: the child exited with %d", nr, WEXITSTATUS(o.status));
        assert_true(WIFSIGNALED(o.status));
        assert_int_equal(WTERMSIG(o.status), SIGSYS);
        assert_int_equal(o.note, nr);
}

static void assert_exited(Outcome o, int code) {
        if (WIFSIGNALED(o.status))
                fail_msg("killed by signal %d (noted call %d)", WTERMSIG(o.status), (int) o.note);
        assert_int_equal(WEXITSTATUS(o.status), code);
        assert_int_equal(o.note, -1);
}

/* What a worker does once set up: time, memory, files, its own pid. */
static int do_allowed(long unused) {
        char buf[64];
        struct timespec ts;
        void *big;
        int fd;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
                return 1;
        big = malloc(4 << 20); /* mmap, not brk */
        if (!big)
                return 2;
        memset(big, 1, 4 << 20);
        free(big);
        fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buf, sizeof buf) <= 0 || close(fd) < 0)
                return 3;
        if (kill(getpid(), 0) < 0 || syscall(SYS_tgkill, getpid(), getpid(), 0) < 0)
                return 4;
        return 0;
}

/* A raw call with harmless arguments: each is refused by the kernel, or
 * does nothing lasting, should the filter let it through. */
static int do_syscall(long nr) {
        long r;

        switch (nr) {
        case SYS_kill:
                r = kill(test_pid, 0); /* another process */
                break;
        case SYS_tgkill:
                r = syscall(SYS_tgkill, test_pid, test_pid, 0);
                break;
        case SYS_socket:
                r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                break;
        case SYS_execve:
                r = execl("/bin/true", "true", (char *) NULL);
                break;
        case SYS_clone:
                r = fork(); /* glibc's fork is clone */
                if (r == 0)
                        _exit(0); /* the filter let it fork: the parent says so */
                break;
        case SYS_fork:
        case SYS_vfork:
                r = syscall(nr);
                if (r == 0)
                        _exit(0);
                break;
        case SYS_clone3:
                r = syscall(SYS_clone3, NULL, 0);
                break;
        default:
                r = syscall(nr, -1L, 0L, 0L, 0L, 0L, 0L);
                break;
        }
        (void) r;
        return 0; /* it went on */
}

/* What the issue names, and the usual dangerous ones. */
static const long denied[] = {
        SYS_socket,          SYS_socketpair,  SYS_bind,        SYS_listen,
        SYS_connect,         SYS_execve,      SYS_execveat,    SYS_clone,
        SYS_clone3,          SYS_fork,        SYS_vfork,       SYS_kill,
        SYS_tgkill,          SYS_ptrace,      SYS_mount,       SYS_umount2,
        SYS_unshare,         SYS_setns,       SYS_keyctl,      SYS_bpf,
        SYS_perf_event_open, SYS_userfaultfd, SYS_personality, SYS_init_module,
        SYS_reboot,          SYS_swapon,      SYS_iopl,        SYS_process_vm_readv,
        SYS_mprotect,        SYS_chmod,       SYS_setuid,      SYS_memfd_create,
        SYS_prctl,
};

static void test_allowed_calls_go_on(void **state) {
        assert_exited(run_confined(CONFIG_SECCOMP_YES, do_allowed, 0), 0);
}

static void test_denied_calls_kill_and_are_noted(void **state) {
        for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
                print_message("denied: call %ld\n", denied[i]);
                assert_killed_noting(run_confined(CONFIG_SECCOMP_YES, do_syscall, denied[i]),
                                     denied[i]);
        }
}

static int do_sigsys_from_outside(long unused) {
        kill(getpid(), SIGSYS);
        return 0;
}

/* kill -SYS is no seccomp trap: the process dies of it, noting nothing. */
static void test_outside_sigsys_notes_nothing(void **state) {
        Outcome o = run_confined(CONFIG_SECCOMP_YES, do_sigsys_from_outside, 0);

        assert_true(WIFSIGNALED(o.status));
        assert_int_equal(WTERMSIG(o.status), SIGSYS);
        assert_int_equal(o.note, -1);
}

#ifdef __x86_64__
static int do_i386_getpid(long unused) {
        long r;

        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
        return r > 0 ? 0 : 1;
}

static int do_x32_getpid(long unused) {
        return syscall(0x40000000L | SYS_getpid) > 0 ? 0 : 1;
}

/* The other ABIs of an x86_64 kernel are no way around the filter: the
 * kernel kills the process, before any handler could note it. */
static void test_other_abis_are_killed(void **state) {
        Outcome o;

        o = run_confined(CONFIG_SECCOMP_YES, do_i386_getpid, 0);
        assert_true(WIFSIGNALED(o.status));
        if (WTERMSIG(o.status) == SIGSEGV)
                print_message("no i386 emulation in this kernel: int 0x80 faults anyway\n");
        else
                assert_int_equal(WTERMSIG(o.status), SIGSYS);
        assert_int_equal(o.note, -1);
        o = run_confined(CONFIG_SECCOMP_LOG, do_i386_getpid, 0);
        assert_true(WIFSIGNALED(o.status));
        o = run_confined(CONFIG_SECCOMP_YES, do_x32_getpid, 0);
        assert_true(WIFSIGNALED(o.status));
        assert_int_equal(WTERMSIG(o.status), SIGSYS);
        assert_int_equal(o.note, -1);
}
#endif

/* The child's own "Seccomp:" and "NoNewPrivs:" lines, and with
 * with_dumpable its dumpability (prctl, which only log lets through),
 * packed as exit status: seccomp * 16 + nnp * 4 + dumpable. */
static int do_report_status(long with_dumpable) {
        char line[256];
        int seccomp = -1, nnp = -1,
            dumpable = with_dumpable ? prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) : 0;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return 255;
        while (fgets(line, sizeof line, f)) {
                sscanf(line, "Seccomp: %d", &seccomp);
                sscanf(line, "NoNewPrivs: %d", &nnp);
        }
        fclose(f);
        if (seccomp < 0 || nnp < 0 || dumpable < 0)
                return 254;
        return seccomp * 16 + nnp * 4 + dumpable;
}

/* Seccomp: 2 is a filter; dumpability is checked under log, as prctl is
 * denied here (and set before the filter, the same way under both). */
static void test_yes_sets_filter_and_nnp(void **state) {
        assert_exited(run_confined(CONFIG_SECCOMP_YES, do_report_status, 0), 2 * 16 + 1 * 4);
}

static void test_no_installs_nothing(void **state) {
        int here = do_report_status(1);

        assert_true(here < 254);
        /* the child is as confined as this process, no more */
        assert_exited(run_confined(CONFIG_SECCOMP_NO, do_report_status, 1), here);
        assert_exited(run_confined(CONFIG_SECCOMP_NO, do_syscall, SYS_socket), 0);
        assert_exited(run_confined(CONFIG_SECCOMP_NO, do_syscall, SYS_kill), 0);
}

static int do_socket_works(long unused) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        return fd >= 0 && close(fd) == 0 ? 0 : 1;
}

/* log: the filter is there, and what it would deny goes on. */
static void test_log_kills_nothing(void **state) {
        assert_exited(run_confined(CONFIG_SECCOMP_LOG, do_report_status, 1), 2 * 16 + 1 * 4 + 0);
        assert_exited(run_confined(CONFIG_SECCOMP_LOG, do_socket_works, 0), 0);
        assert_exited(run_confined(CONFIG_SECCOMP_LOG, do_syscall, SYS_kill), 0);
        assert_exited(run_confined(CONFIG_SECCOMP_LOG, do_allowed, 0), 0);
}

static int do_socket_works(long unused);

/* Under the unit's filter, where seccomp() itself is refused: the worker's
 * filter is there all the same, traps, and logs under log. */
static void test_under_the_units_filter(void **state) {
        assert_exited(run_confined_in(true, CONFIG_SECCOMP_YES, do_allowed, 0), 0);
        assert_exited(run_confined_in(true, CONFIG_SECCOMP_YES, do_report_status, 0),
                      2 * 16 + 1 * 4);
        assert_killed_noting(run_confined_in(true, CONFIG_SECCOMP_YES, do_syscall, SYS_socket),
                             SYS_socket);
        assert_killed_noting(run_confined_in(true, CONFIG_SECCOMP_YES, do_syscall, SYS_execve),
                             SYS_execve);
        assert_exited(run_confined_in(true, CONFIG_SECCOMP_LOG, do_socket_works, 0), 0);
        assert_exited(run_confined_in(true, CONFIG_SECCOMP_LOG, do_report_status, 1),
                      2 * 16 + 1 * 4 + 0);
}

/* Last: it is the only test that calls libseccomp in this process, whose
 * API level the children would otherwise inherit. */
static void test_syscall_names(void **state) {
        char buf[32];

        worker_seccomp_syscall_name(SYS_socket, buf, sizeof buf);
        assert_string_equal(buf, "socket");
        worker_seccomp_syscall_name(SYS_clone, buf, sizeof buf);
        assert_string_equal(buf, "clone");
        worker_seccomp_syscall_name(99999, buf, sizeof buf);
        assert_string_equal(buf, "99999");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allowed_calls_go_on),
                cmocka_unit_test(test_denied_calls_kill_and_are_noted),
                cmocka_unit_test(test_outside_sigsys_notes_nothing),
#ifdef __x86_64__
                cmocka_unit_test(test_other_abis_are_killed),
#endif
                cmocka_unit_test(test_yes_sets_filter_and_nnp),
                cmocka_unit_test(test_no_installs_nothing),
                cmocka_unit_test(test_log_kills_nothing),
                cmocka_unit_test(test_under_the_units_filter),
                cmocka_unit_test(test_syscall_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
