/* Unit tests for notify.c: the parse of every sd_notify field clusterd uses,
 * and the notify socket itself, with datagrams sent from this process and from
 * a forked child, oversized ones and ones that carry fds. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "notify.h"

/* ---- notify_parse ---- */

static NotifyMessage parse(const char *s) {
        NotifyMessage m;

        assert_int_equal(notify_parse(s, strlen(s), &m), 0);
        return m;
}

static void test_parse_each_field(void **state) {
        NotifyMessage m;

        m = parse("READY=1");
        assert_true(m.ready);
        assert_false(m.watchdog || m.stopping || m.has_status || m.has_errno);
        assert_int_equal(m.ignored, 0);

        m = parse("WATCHDOG=1");
        assert_true(m.watchdog);
        assert_false(m.ready || m.stopping || m.has_status || m.has_errno);

        m = parse("STOPPING=1");
        assert_true(m.stopping);
        assert_false(m.ready || m.watchdog || m.has_status || m.has_errno);

        m = parse("STATUS=serving 3 requests");
        assert_true(m.has_status);
        assert_string_equal(m.status, "serving 3 requests");
        assert_false(m.ready || m.watchdog || m.stopping || m.has_errno);

        m = parse("ERRNO=2");
        assert_true(m.has_errno);
        assert_int_equal(m.errno_value, 2);
        assert_false(m.ready || m.watchdog || m.stopping || m.has_status);

        /* all at once, in any order, as sd_notify("...\n...") sends them */
        m = parse("STATUS=up\nERRNO=0\nSTOPPING=1\nWATCHDOG=1\nREADY=1");
        assert_true(m.ready && m.watchdog && m.stopping && m.has_status && m.has_errno);
        assert_string_equal(m.status, "up");
        assert_int_equal(m.errno_value, 0);
        assert_int_equal(m.ignored, 0);
}

static void test_parse_newlines(void **state) {
        NotifyMessage m;

        /* a trailing newline or none, and empty lines, change nothing */
        m = parse("READY=1\n");
        assert_true(m.ready);
        assert_int_equal(m.ignored, 0);
        m = parse("\n\nREADY=1\n\nSTATUS=x\n\n");
        assert_true(m.ready);
        assert_string_equal(m.status, "x");
        assert_int_equal(m.ignored, 0);
        m = parse("");
        assert_false(m.ready || m.has_status);
        assert_int_equal(m.ignored, 0);
        /* a value never takes the next line */
        m = parse("STATUS=a\nREADY=1");
        assert_string_equal(m.status, "a");
        assert_true(m.ready);
}

static void test_parse_carriage_return(void **state) {
        NotifyMessage m;

        /* systemd splits a notify message at "\n" and "\r" alike, so a
         * program that ends its lines with "\r\n" is understood there */
        m = parse("READY=1\r\nSTATUS=up\r\n");
        assert_true(m.ready);
        assert_string_equal(m.status, "up");
        assert_int_equal(m.ignored, 0);
        m = parse("WATCHDOG=1\rSTOPPING=1\r");
        assert_true(m.watchdog);
        assert_true(m.stopping);
        assert_int_equal(m.ignored, 0);
        /* so a "\r" ends a STATUS= too, rather than becoming a space in it */
        m = parse("STATUS=one\rtwo");
        assert_string_equal(m.status, "one");
        assert_int_equal(m.ignored, 1);
}

static void test_parse_not_ready(void **state) {
        static const char *const not_ready[] = {
                "READY=0",  "READY=2",  "READY=1x", "READY=",   "READY",    "ready=1",
                " READY=1", "READY =1", "READY=11", "READY=1 ", "XREADY=1",
        };
        for (size_t i = 0; i < ELEMENTSOF(not_ready); i++) {
                NotifyMessage m = parse(not_ready[i]);
                if (m.ready)
                        fail_msg("\"%s\" taken for READY=1", not_ready[i]);
                assert_int_equal(m.ignored, 1);
        }
        /* the same strictness for the other flags */
        assert_false(parse("WATCHDOG=0").watchdog);
        assert_false(parse("WATCHDOG=trigger").watchdog); /* systemd's, not used here */
        assert_false(parse("STOPPING=0").stopping);
        assert_false(parse("STATUS").has_status);
        assert_false(parse("status=x").has_status);
}

static void test_parse_ignored(void **state) {
        NotifyMessage m;

        /* keys systemd knows that clusterd does not use, and garbage */
        m = parse("MAINPID=42\nFDSTORE=1\nRELOADING=1\nEXTEND_TIMEOUT_USEC=5\n"
                  "BUSERROR=x\nnonsense\n=\nREADY=1");
        assert_true(m.ready);
        assert_int_equal(m.ignored, 7);
        m = parse("\xff\xfe\nREADY=1");
        assert_true(m.ready);
        assert_int_equal(m.ignored, 1);
}

static void test_parse_status_cleaned(void **state) {
        NotifyMessage m;

        m = parse("STATUS=");
        assert_true(m.has_status);
        assert_string_equal(m.status, "");

        /* control bytes would break a log line: made spaces */
        m = parse("STATUS=a\tb\x01"
                  "c\x1b[0m\x7f"
                  "d");
        assert_string_equal(m.status, "a b c [0m d");

        /* UTF-8 stays */
        m = parse("STATUS=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
        assert_string_equal(m.status, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");

        /* what is not UTF-8 cannot go out as a D-Bus string: replaced */
        m = parse("STATUS=a\xff"
                  "b\xc0\x80"
                  "c\xed\xa0\x80"
                  "d\x80");
        assert_string_equal(m.status, "a?b??c???d?");
        /* ... also where the cut falls (a stray continuation byte is no
         * character the cut could split) */
        char in[400];
        memcpy(in, "STATUS=", 7);
        memset(in + 7, 'a', NOTIFY_STATUS_MAX - 2);
        strcpy(in + 7 + NOTIFY_STATUS_MAX - 2, "\x80\x80\x80");
        m = parse(in);
        assert_int_equal(strlen(m.status), NOTIFY_STATUS_MAX - 1);
        assert_int_equal(m.status[NOTIFY_STATUS_MAX - 2], '?');
}

/* STATUS= of the given prefix length of 'a' and then tail, and what is kept. */
static void expect_cut(size_t n_a, const char *tail, size_t want_len, const char *want_end) {
        char in[512];
        NotifyMessage m;
        size_t len;

        memcpy(in, "STATUS=", 7);
        memset(in + 7, 'a', n_a);
        strcpy(in + 7 + n_a, tail);
        m = parse(in);
        len = strlen(m.status);
        if (len != want_len)
                fail_msg("%zu a + \"%s\": kept %zu bytes, expected %zu", n_a, tail, len, want_len);
        assert_memory_equal(m.status + len - strlen(want_end), want_end, strlen(want_end));
}

static void test_parse_status_cut(void **state) {
        const size_t max = NOTIFY_STATUS_MAX - 1; /* bytes kept, at most */
        char in[400];
        NotifyMessage m;

        /* a 300-byte value keeps its first max bytes */
        memcpy(in, "STATUS=", 7);
        for (size_t i = 0; i < 300; i++)
                in[7 + i] = (char) ('0' + i % 10);
        in[7 + 300] = 0;
        m = parse(in);
        assert_int_equal(strlen(m.status), max);
        assert_memory_equal(m.status, in + 7, max);

        /* exactly max bytes, all kept */
        expect_cut(max, "", max, "aaa");
        /* a 2-, 3- and 4-byte character straddling the cut goes entirely */
        expect_cut(max - 1, "\xc3\xa9zz", max - 1, "aaa");
        expect_cut(max - 1, "\xe2\x82\xac", max - 1, "aaa");
        expect_cut(max - 2, "\xe2\x82\xacz", max - 2, "aaa");
        expect_cut(max - 1, "\xf0\x9f\x98\x80", max - 1, "aaa");
        expect_cut(max - 2, "\xf0\x9f\x98\x80", max - 2, "aaa");
        expect_cut(max - 3, "\xf0\x9f\x98\x80z", max - 3, "aaa");
        /* one that ends exactly at the cut stays */
        expect_cut(max - 2, "\xc3\xa9zzz", max, "\xc3\xa9");
        expect_cut(max - 3, "\xe2\x82\xacz", max, "\xe2\x82\xac");
        expect_cut(max - 4, "\xf0\x9f\x98\x80zz", max, "\xf0\x9f\x98\x80");
        /* a character just before the cut, then ASCII up to it */
        expect_cut(max - 3,
                   "\xc3\xa9"
                   "bcdef",
                   max,
                   "\xc3\xa9"
                   "b");
}

static void test_parse_errno(void **state) {
        static const struct {
                const char *line;
                int value;
        } good[] = {
                { "ERRNO=0", 0 },       { "ERRNO=1", 1 },   { "ERRNO=110", 110 },
                { "ERRNO=4095", 4095 }, { "ERRNO=007", 7 }, { "ERRNO=00042", 42 },
        };
        static const char *const bad[] = {
                "ERRNO=",
                "ERRNO=-1",
                "ERRNO=-0",
                "ERRNO=4096",
                "ERRNO=99999",
                "ERRNO=abc",
                "ERRNO=12x",
                "ERRNO= 5",
                "ERRNO=+5",
                "ERRNO=5 ",
                "ERRNO=0x10",
                "ERRNO=123456",
                "ERRNO=99999999999999999999",
                "errno=5",
                "ERRNO",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                NotifyMessage m = parse(good[i].line);
                if (!m.has_errno || m.errno_value != good[i].value)
                        fail_msg("\"%s\": has_errno %d value %d", good[i].line, m.has_errno,
                                 m.errno_value);
                assert_int_equal(m.ignored, 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                NotifyMessage m = parse(bad[i]);
                if (m.has_errno)
                        fail_msg("\"%s\" taken as ERRNO %d", bad[i], m.errno_value);
                assert_int_equal(m.ignored, 1);
        }
}

static void test_parse_nul_refused(void **state) {
        NotifyMessage m;

        assert_int_equal(notify_parse("READY=1\0", 8, &m), -EBADMSG);
        assert_int_equal(notify_parse("\0READY=1", 8, &m), -EBADMSG);
        assert_int_equal(notify_parse("STATUS=a\0b\nREADY=1", 18, &m), -EBADMSG);
        assert_false(m.ready); /* nothing of it is taken */
        /* only the n bytes given are looked at */
        assert_int_equal(notify_parse("READY=1\0garbage", 7, &m), 0);
        assert_true(m.ready);
}

/* ---- the socket ---- */

static socklen_t address_of(const char *addr, struct sockaddr_un *sa) {
        size_t n = strlen(addr);

        assert_true(addr[0] == '@');
        assert_true(n < sizeof sa->sun_path);
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        memcpy(sa->sun_path + 1, addr + 1, n - 1);
        return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n);
}

/* Sends one datagram to addr with sendmsg, with the fds given (n_fds of them)
 * attached. Returns 0 or -errno: the child uses it too. */
static int send_datagram(const char *addr, const void *buf, size_t n, const int *fds,
                         size_t n_fds) {
        struct sockaddr_un sa;
        socklen_t sl = address_of(addr, &sa);
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = n };
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int) * 253)];
        } control = { 0 };
        struct msghdr mh = { .msg_name = &sa, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1 };
        int fd, r = 0;

        if (n_fds > 253)
                return -E2BIG;
        if (n_fds > 0) {
                struct cmsghdr *c;
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t) n)
                r = -errno;
        close(fd);
        return r;
}

static void send_text(const char *addr, const char *text) {
        assert_int_equal(send_datagram(addr, text, strlen(text), NULL, 0), 0);
}

typedef struct Sock {
        int fd;
        char addr[108];
} Sock;

static int sock_setup(void **state) {
        Sock *s = calloc(1, sizeof *s);

        if (!s || notify_socket_open(&s->fd, s->addr, sizeof s->addr) < 0)
                return -1;
        *state = s;
        return 0;
}

static int sock_teardown(void **state) {
        Sock *s = *state;

        close(s->fd);
        free(s);
        return 0;
}

static void expect_receive(int fd, const char *text, pid_t pid) {
        char buf[NOTIFY_DATAGRAM_MAX + 1];
        size_t len = 0;
        pid_t from = 0;
        int r = notify_receive(fd, buf, sizeof buf, &len, &from);

        if (r != 0)
                fail_msg("notify_receive = %d (%s), expected \"%s\"", r, strerror(-r), text);
        assert_int_equal(len, strlen(text));
        assert_string_equal(buf, text);
        assert_int_equal(from, pid);
}

static void expect_empty(int fd) {
        char buf[NOTIFY_DATAGRAM_MAX + 1];
        size_t len = 0;
        pid_t from = 0;

        assert_int_equal(notify_receive(fd, buf, sizeof buf, &len, &from), -EAGAIN);
}

static void test_socket_open(void **state) {
        Sock *s = *state;
        char prefix[64], other[108];
        struct sockaddr_un sa, bound;
        socklen_t sl, bl = sizeof bound;
        int one = 0, fd2 = -1;
        socklen_t ol = sizeof one;

        /* NOTIFY_SOCKET's spelling of an abstract address, with our pid in it */
        snprintf(prefix, sizeof prefix, "@clusterd/notify/%d/", (int) getpid());
        assert_memory_equal(s->addr, prefix, strlen(prefix));
        assert_true(strlen(s->addr) > strlen(prefix));
        /* it is the address the socket is bound to */
        sl = address_of(s->addr, &sa);
        assert_int_equal(getsockname(s->fd, (struct sockaddr *) &bound, &bl), 0);
        assert_int_equal(bl, sl);
        assert_memory_equal(&bound, &sa, sl);
        /* datagram, CLOEXEC, non-blocking, credentials on */
        assert_true(fcntl(s->fd, F_GETFD) & FD_CLOEXEC);
        assert_true(fcntl(s->fd, F_GETFL) & O_NONBLOCK);
        assert_int_equal(getsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, &ol), 0);
        assert_int_equal(one, 1);
        assert_int_equal(getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &one, &ol), 0);
        assert_int_equal(one, SOCK_DGRAM);

        /* a second socket gets an address of its own */
        assert_int_equal(notify_socket_open(&fd2, other, sizeof other), 0);
        assert_string_not_equal(other, s->addr);
        send_text(other, "READY=1");
        expect_empty(s->fd);
        expect_receive(fd2, "READY=1", getpid());
        close(fd2);

        /* no room for the address */
        fd2 = -1;
        assert_int_equal(notify_socket_open(&fd2, other, 10), -ENAMETOOLONG);
        assert_int_equal(fd2, -1);
}

static void test_receive_own(void **state) {
        Sock *s = *state;

        expect_empty(s->fd);
        send_text(s->addr, "READY=1\nSTATUS=one");
        send_text(s->addr, "WATCHDOG=1");
        /* in order, each with the sender's pid from the kernel */
        expect_receive(s->fd, "READY=1\nSTATUS=one", getpid());
        expect_receive(s->fd, "WATCHDOG=1", getpid());
        expect_empty(s->fd);
        /* an empty datagram is a datagram */
        assert_int_equal(send_datagram(s->addr, "", 0, NULL, 0), 0);
        expect_receive(s->fd, "", getpid());
        expect_empty(s->fd);
}

static void test_receive_from_child(void **state) {
        Sock *s = *state;
        int status = 0;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                const char *m = "READY=1\nSTATUS=child";
                _exit(send_datagram(s->addr, m, strlen(m), NULL, 0) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        send_text(s->addr, "STATUS=parent");
        /* the child's pid, although the child is gone by now; then ours */
        expect_receive(s->fd, "READY=1\nSTATUS=child", pid);
        expect_receive(s->fd, "STATUS=parent", getpid());
}

static void test_receive_oversized(void **state) {
        Sock *s = *state;
        char big[NOTIFY_DATAGRAM_MAX + 2], buf[NOTIFY_DATAGRAM_MAX + 1];
        size_t len = 7;
        pid_t from = 7;

        memset(big, 'x', sizeof big);
        memcpy(big, "STATUS=", 7);
        /* NOTIFY_DATAGRAM_MAX is taken whole */
        assert_int_equal(send_datagram(s->addr, big, NOTIFY_DATAGRAM_MAX, NULL, 0), 0);
        assert_int_equal(notify_receive(s->fd, buf, sizeof buf, &len, &from), 0);
        assert_int_equal(len, NOTIFY_DATAGRAM_MAX);
        assert_int_equal(buf[NOTIFY_DATAGRAM_MAX], 0);
        assert_memory_equal(buf, big, NOTIFY_DATAGRAM_MAX);
        /* one byte more is refused, not cut, and the next one still comes */
        assert_int_equal(send_datagram(s->addr, big, NOTIFY_DATAGRAM_MAX + 1, NULL, 0), 0);
        assert_int_equal(send_datagram(s->addr, big, sizeof big, NULL, 0), 0);
        send_text(s->addr, "READY=1");
        assert_int_equal(notify_receive(s->fd, buf, sizeof buf, &len, &from), -EMSGSIZE);
        assert_int_equal(notify_receive(s->fd, buf, sizeof buf, &len, &from), -EMSGSIZE);
        expect_receive(s->fd, "READY=1", getpid());
        expect_empty(s->fd);
}

static unsigned count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* A datagram with fds attached (sd_pid_notify_with_fds, FDSTORE=1): its text
 * is taken and every fd is closed, none stays open in the manager. */
static void test_receive_with_fds(void **state) {
        Sock *s = *state;
        int p[2], fds[253]; /* the most one message can carry */
        char big[NOTIFY_DATAGRAM_MAX + 1], buf[NOTIFY_DATAGRAM_MAX + 1];
        size_t len = 0;
        pid_t from = 0;
        unsigned before;
        char c;

        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = dup(p[1]);
                assert_true(fds[i] >= 0);
        }
        assert_int_equal(send_datagram(s->addr, "FDSTORE=1\nREADY=1", 17, &p[1], 1), 0);
        assert_int_equal(send_datagram(s->addr, "STATUS=many", 11, fds, ELEMENTSOF(fds)), 0);
        /* a datagram refused as too big has its fd closed all the same */
        memset(big, 'x', sizeof big);
        assert_int_equal(send_datagram(s->addr, big, sizeof big, &fds[0], 1), 0);
        /* only the copies in flight hold the pipe's write end now */
        close(p[1]);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        assert_int_equal(read(p[0], &c, 1), -1);
        assert_int_equal(errno, EAGAIN);

        before = count_open_fds();
        expect_receive(s->fd, "FDSTORE=1\nREADY=1", getpid());
        expect_receive(s->fd, "STATUS=many", getpid());
        assert_int_equal(notify_receive(s->fd, buf, sizeof buf, &len, &from), -EMSGSIZE);
        assert_int_equal(count_open_fds(), before);
        /* every write end is closed: the read end sees the end of the pipe */
        assert_int_equal(read(p[0], &c, 1), 0);
        close(p[0]);
}

int main(void) {
#define S(fn) cmocka_unit_test_setup_teardown(fn, sock_setup, sock_teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_each_field),
                cmocka_unit_test(test_parse_newlines),
                cmocka_unit_test(test_parse_carriage_return),
                cmocka_unit_test(test_parse_not_ready),
                cmocka_unit_test(test_parse_ignored),
                cmocka_unit_test(test_parse_status_cleaned),
                cmocka_unit_test(test_parse_status_cut),
                cmocka_unit_test(test_parse_errno),
                cmocka_unit_test(test_parse_nul_refused),
                S(test_socket_open),
                S(test_receive_own),
                S(test_receive_from_child),
                S(test_receive_oversized),
                S(test_receive_with_fds),
        };
#undef S

        return cmocka_run_group_tests(tests, NULL, NULL);
}
