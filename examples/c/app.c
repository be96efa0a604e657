/* A minimal application worker in C: answers every HTTP request on the
 * sockets it is passed (sd_listen_fds) with a fixed body, tells the manager
 * it is ready and alive (sd_notify), answers "ping" on CLUSTERD_IPC_FD, and
 * on SIGTERM stops accepting, finishes its connections and exits. Not a
 * real HTTP server: one epoll loop, requests without a body only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536

static char reply[256];
static size_t reply_len;
/* what each connection has read of a request so far (up to its blank line) */
static unsigned matched[MAX_FDS];

/* Counts the requests that end in buf ("\r\n\r\n"), carrying a partial
 * match over from the last read. */
static unsigned requests_in(int fd, const char *buf, ssize_t n) {
        static const char end[] = "\r\n\r\n";
        unsigned count = 0, m = matched[fd];

        for (ssize_t i = 0; i < n; i++) {
                m = buf[i] == end[m] ? m + 1 : buf[i] == '\r' ? 1 : 0;
                if (m == 4) {
                        count++;
                        m = 0;
                }
        }
        matched[fd] = m;
        return count;
}

/* Reads what a connection sent and answers each request in it; returns
 * false when the connection is done. */
static bool serve(int fd, bool draining, unsigned long *served) {
        char buf[16384];
        ssize_t n = read(fd, buf, sizeof buf);

        if (n < 0)
                return errno == EAGAIN || errno == EINTR;
        if (n == 0)
                return false;
        for (unsigned k = requests_in(fd, buf, n); k > 0; k--) {
                if (send(fd, reply, reply_len, MSG_NOSIGNAL) != (ssize_t) reply_len)
                        return false; /* a slow reader of a 100-byte answer: drop it */
                ++*served;
        }
        return !draining; /* draining: the answer said Connection: close */
}

static void channel(int fd) {
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf - 1);

        if (n <= 0)
                return;
        buf[n] = 0;
        if (strncmp(buf, "ping\n", 5) == 0)
                (void) !write(fd, "pong\n", 5);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void set_reply(bool draining) {
        static const char body[] = "hello from C\n";

        reply_len = (size_t) snprintf(reply, sizeof reply,
                                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                      "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
                                      sizeof body - 1, draining ? "close" : "keep-alive", body);
}

int main(void) {
        int n = sd_listen_fds(0), ep, sig, ipc = -1, open_conns = 0;
        const char *ipc_env = getenv("CLUSTERD_IPC_FD");
        uint64_t watchdog_usec = 0, ping_ms = 0, next_ping = 0, drain_end = 0;
        unsigned long served = 0;
        bool draining = false;
        sigset_t mask;

        if (n < 1) {
                fprintf(stderr, "app: run me under clusterd --exec (no LISTEN_FDS)\n");
                return 1;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sig = signalfd(-1, &mask, SFD_CLOEXEC);
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (sig < 0 || ep < 0)
                return 1;
        epoll_ctl(ep, EPOLL_CTL_ADD, sig,
                  &(struct epoll_event) { .events = EPOLLIN, .data.fd = sig });
        for (int i = 0; i < n; i++)
                epoll_ctl(ep, EPOLL_CTL_ADD, SD_LISTEN_FDS_START + i,
                          &(struct epoll_event) { .events = EPOLLIN,
                                                  .data.fd = SD_LISTEN_FDS_START + i });
        if (ipc_env) {
                ipc = atoi(ipc_env);
                epoll_ctl(ep, EPOLL_CTL_ADD, ipc,
                          &(struct epoll_event) { .events = EPOLLIN, .data.fd = ipc });
                (void) !write(ipc, "hello from the C worker\n", 24);
        }
        set_reply(false);
        /* the first WATCHDOG=1 turns the manager's hang detection on */
        if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
                ping_ms = watchdog_usec / 2000;
        sd_notifyf(0, "READY=1\nSTATUS=serving%s", ping_ms ? "\nWATCHDOG=1" : "");
        next_ping = now_ms() + ping_ms;

        /* draining ends when every connection closed, or after a second:
         * what is still open then is idle, and exit closes it */
        while (!draining || (open_conns > 0 && now_ms() < drain_end)) {
                struct epoll_event ev[64];
                int k = epoll_wait(ep, ev, 64, ping_ms || draining ? 100 : -1);

                if (k < 0 && errno != EINTR)
                        return 1;
                if (ping_ms && now_ms() >= next_ping) {
                        sd_notifyf(0, "WATCHDOG=1\nSTATUS=served %lu requests", served);
                        next_ping = now_ms() + ping_ms;
                }
                for (int i = 0; i < k; i++) {
                        int fd = ev[i].data.fd;
                        if (fd == sig) {
                                struct signalfd_siginfo si;
                                /* stop accepting; what is left gets Connection: close */
                                if (read(sig, &si, sizeof si) != sizeof si || draining)
                                        continue;
                                draining = true;
                                drain_end = now_ms() + 1000;
                                set_reply(true);
                                for (int l = 0; l < n; l++)
                                        epoll_ctl(ep, EPOLL_CTL_DEL, SD_LISTEN_FDS_START + l, NULL);
                                sd_notify(0, "STOPPING=1\nSTATUS=draining");
                        } else if (fd == ipc) {
                                channel(fd);
                        } else if (fd < SD_LISTEN_FDS_START + n) {
                                int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                                if (c >= 0 && c < MAX_FDS) {
                                        matched[c] = 0;
                                        epoll_ctl(ep, EPOLL_CTL_ADD, c,
                                                  &(struct epoll_event) { .events = EPOLLIN,
                                                                          .data.fd = c });
                                        open_conns++;
                                } else if (c >= 0)
                                        close(c);
                        } else if (!serve(fd, draining, &served)) {
                                close(fd);
                                open_conns--;
                        }
                }
        }
        return 0;
}
