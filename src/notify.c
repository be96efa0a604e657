/* The manager's notify socket and the messages that come to it. */
#include "notify.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "linechan.h"
#include "macro.h"

/* The most fds the kernel passes in one message (its SCM_MAX_FD). */
#define NOTIFY_FDS_MAX 253

/* Copies a STATUS= value, cut at the room there is, with control bytes
 * (which would break a log line or a D-Bus string) made into spaces, what is
 * not UTF-8 into '?', and a cut never left inside a UTF-8 sequence. */
static void copy_status(char *to, const char *from, size_t n) {
        size_t i = 0;

        if (n >= NOTIFY_STATUS_MAX)
                n = NOTIFY_STATUS_MAX - 1;
        for (; i < n; i++)
                to[i] = (unsigned char) from[i] < 0x20 || from[i] == 0x7f ? ' ' : from[i];
        /* back off a sequence the cut split: continuation bytes, then its lead */
        if (i > 0 && ((unsigned char) to[i - 1] & 0x80)) {
                size_t k = i;
                while (k > 0 && ((unsigned char) to[k - 1] & 0xc0) == 0x80)
                        k--;
                if (k > 0 && ((unsigned char) to[k - 1] & 0xc0) == 0xc0) {
                        unsigned char lead = (unsigned char) to[k - 1];
                        size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                        if (i - (k - 1) < want)
                                i = k - 1;
                }
        }
        to[i] = 0;
        /* D-Bus takes nothing but UTF-8, nor would a log reader */
        linechan_sanitize(to);
}

static bool line_is(const char *line, size_t len, const char *assignment) {
        return len == strlen(assignment) && memcmp(line, assignment, len) == 0;
}

int notify_parse(const char *buf, size_t n, NotifyMessage *ret) {
        *ret = (NotifyMessage) {};
        if (memchr(buf, 0, n))
                return -EBADMSG;
        for (const char *p = buf, *end = buf + n; p < end;) {
                size_t len = 0;

                /* a line ends at "\n" or "\r", as systemd splits them, so that
                 * "READY=1\r\n" is understood here as it is there */
                while (p + len < end && p[len] != '\n' && p[len] != '\r')
                        len++;

                if (line_is(p, len, "READY=1"))
                        ret->ready = true;
                else if (line_is(p, len, "WATCHDOG=1"))
                        ret->watchdog = true;
                else if (line_is(p, len, "STOPPING=1"))
                        ret->stopping = true;
                else if (len >= 7 && memcmp(p, "STATUS=", 7) == 0) {
                        ret->has_status = true;
                        copy_status(ret->status, p + 7, len - 7);
                } else if (len > 6 && len < 12 && memcmp(p, "ERRNO=", 6) == 0) {
                        char num[8];
                        char *e;
                        long v;
                        memcpy(num, p + 6, len - 6);
                        num[len - 6] = 0;
                        v = strtol(num, &e, 10);
                        if (*e == 0 && num[0] >= '0' && num[0] <= '9' && v < 4096) {
                                ret->has_errno = true;
                                ret->errno_value = (int) v;
                        } else
                                ret->ignored++;
                } else if (len > 0)
                        ret->ignored++;
                p += len + 1;
        }
        return 0;
}

int notify_socket_open(int *ret_fd, char *addr, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t rnd;
        int one = 1, n;
        _cleanup_close_ int fd = -1;

        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                return -EIO;
        n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "clusterd/notify/%d/%016llx",
                     (int) getpid(), (unsigned long long) rnd);
        if (n < 0 || (size_t) n + 2 > size)
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa,
                 (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n)) < 0)
                return negative_errno();
        addr[0] = '@';
        memcpy(addr + 1, sa.sun_path + 1, (size_t) n + 1);
        *ret_fd = take_fd(&fd);
        return 0;
}

int notify_receive(int fd, char *buf, size_t size, size_t *ret_len, pid_t *ret_pid) {
        /* room for every fd a datagram can carry too: without it the kernel
         * drops them and flags MSG_CTRUNC, and the message would be refused */
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(struct ucred)) +
                           CMSG_SPACE(sizeof(int) * NOTIFY_FDS_MAX)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        const struct ucred *cred = NULL;
        ssize_t n;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? -EAGAIN : negative_errno();
        /* an fd passed along (FDSTORE=1) must not stay open here */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (const struct ucred *) CMSG_DATA(c);
                else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        const int *fds = (const int *) CMSG_DATA(c);
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++)
                                close(fds[i]);
                }
        }
        if ((size_t) n >= size || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
                return -EMSGSIZE;
        if (!cred)
                return -EPERM;
        buf[n] = 0;
        *ret_len = (size_t) n;
        *ret_pid = cred->pid;
        return 0;
}
