/* An application worker: the user's program, given its sockets and the rest
 * as systemd gives them to a service (LISTEN_FDS, NOTIFY_SOCKET,
 * WATCHDOG_USEC), plus its worker id and a message channel. What it says on
 * the notify socket and the channel comes back here. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "signals.h"

/* Lines a worker may send in a second before the rest of that second's are
 * dropped: the manager logs each one and puts it on the bus. */
#define EXEC_LINES_PER_SECOND 200u
/* Bytes read from one channel before the event loop gets its turn back. */
#define EXEC_READ_BUDGET (64u * 1024u)

static void set_env_uint(const char *name, unsigned long long v) {
        char buf[32];

        snprintf(buf, sizeof buf, "%llu", v);
        setenv(name, buf, 1);
}

/* LISTEN_FDNAMES: the names of the fds, ':'-separated. */
static void set_env_names(const ChildSpawn *p) {
        char buf[LISTEN_MAX_PER_WORKER * 32];
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < p->n_listen_fds; i++) {
                const char *name =
                        p->listen_names && p->listen_names[i] ? p->listen_names[i] : "http";
                int k = snprintf(buf + n, sizeof buf - n, "%s%s", i ? ":" : "", name);
                if (k < 0 || (size_t) k >= sizeof buf - n)
                        break;
                n += (size_t) k;
        }
        setenv("LISTEN_FDNAMES", buf, 1);
}

/* Puts the listening sockets at 3, 4, ..., the channel right after them and
 * the exec-status pipe after that (close-on-exec), stdin on /dev/null, and
 * closes everything else. Returns the channel's fd number. */
static int exec_arrange_fds(const ChildSpawn *p, int msg_fd, int exec_fd) {
        int n = (int) p->n_listen_fds, above = 3 + n + 2;
        int high[LISTEN_MAX_PER_WORKER], high_msg, high_exec, null;

        /* first above the target range, so that no dup2 below overwrites a
         * source it still needs */
        for (int i = 0; i < n; i++)
                if ((high[i] = fcntl(p->listen_fds[i], F_DUPFD_CLOEXEC, above)) < 0)
                        return -1;
        high_msg = fcntl(msg_fd, F_DUPFD_CLOEXEC, above);
        high_exec = fcntl(exec_fd, F_DUPFD_CLOEXEC, above);
        if (high_msg < 0 || high_exec < 0)
                return -1;
        for (int i = 0; i < n; i++)
                if (dup2(high[i], 3 + i) < 0) /* dup2 leaves the copy inheritable */
                        return -1;
        if (dup2(high_msg, 3 + n) < 0 || dup3(high_exec, 3 + n + 1, O_CLOEXEC) < 0)
                return -1;
        close_range((unsigned) above, ~0U, 0);
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0 && null != STDIN_FILENO) {
                dup2(null, STDIN_FILENO);
                close(null);
        }
        return 3 + n;
}

_Noreturn void exec_run(const ChildSpawn *p, int msg_fd, int exec_fd, pid_t manager) {
        const Config *c = &p->settings->config;
        int err, ipc_fd;

        signals_reset();
        /* the program ends with its manager; a Ctrl-C on the terminal goes
         * to the manager alone, which drains the workers */
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != manager)
                _exit(EXIT_FAILURE);
        (void) setpgid(0, 0);
        ipc_fd = exec_arrange_fds(p, msg_fd, exec_fd);
        if (ipc_fd < 0) {
                err = errno;
                goto fail;
        }
        exec_fd = ipc_fd + 1;
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        set_env_uint("LISTEN_FDS", p->n_listen_fds);
        set_env_uint("LISTEN_PID", (unsigned long long) getpid());
        set_env_names(p);
        if (p->notify_socket)
                setenv("NOTIFY_SOCKET", p->notify_socket, 1);
        set_env_uint("WATCHDOG_USEC", c->heartbeat_timeout_usec);
        set_env_uint("WATCHDOG_PID", (unsigned long long) getpid());
        set_env_uint("CLUSTERD_WORKER_ID", p->id);
        set_env_uint("CLUSTERD_WORKERS", p->workers);
        set_env_uint("CLUSTERD_IPC_FD", (unsigned long long) ipc_fd);
        execve(c->exec_path, c->exec_argv, environ);
        err = errno;
fail:
        (void) !write(exec_fd, &err, sizeof err);
        _exit(127);
}

/* The exec-status pipe: an errno when execve failed, EOF when it ran. */
static int on_exec_status(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Child *c = userdata;
        ChildExec *x = c->exec;
        int err = 0;
        ssize_t n = read(fd, &err, sizeof err);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        x->exec_source = sd_event_source_disable_unref(x->exec_source);
        x->exec_fd = safe_close(x->exec_fd);
        if (n == (ssize_t) sizeof err) {
                log_error("worker %u pid %d: cannot run '%s': %s", c->id, (int) c->pid,
                          c->settings->config.exec_path, strerror(err));
                return 0; /* it exits 127: a failed start */
        }
        x->started = true;
        if (c->settings->config.exec_ready_started)
                child_became_ready(c);
        return 0;
}

static void exec_on_line(const char *line, size_t len, void *userdata) {
        Child *c = userdata;
        ChildExec *x = c->exec;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (now - x->window_usec >= USEC_PER_SEC) {
                if (x->window_lines > EXEC_LINES_PER_SECOND)
                        log_warning("worker %u pid %d: dropped %u message(s): more than %u a "
                                    "second",
                                    c->id, (int) c->pid, x->window_lines - EXEC_LINES_PER_SECOND,
                                    EXEC_LINES_PER_SECOND);
                x->window_usec = now;
                x->window_lines = 0;
        }
        if (++x->window_lines > EXEC_LINES_PER_SECOND) {
                x->dropped_flood++;
                return;
        }
        c->events->message(c, line, c->userdata);
}

static int exec_read(Child *c, int fd) {
        ChildExec *x = c->exec;
        size_t budget = EXEC_READ_BUDGET;
        uint64_t long_before = x->in.dropped_long;
        char buf[8192];

        while (budget > 0) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : negative_errno();
                if (n == 0)
                        return -EPIPE;
                linechan_feed(&x->in, buf, (size_t) n, exec_on_line, c);
                budget -= (size_t) n < budget ? (size_t) n : budget;
        }
        if (x->in.dropped_long > long_before)
                log_warning("worker %u pid %d: dropped %llu message(s) longer than %u bytes", c->id,
                            (int) c->pid, (unsigned long long) (x->in.dropped_long - long_before),
                            LINECHAN_LINE_MAX);
        return 0;
}

static int on_msg_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Child *c = userdata;
        ChildExec *x = c->exec;
        int r = 0;

        if (revents & EPOLLOUT) {
                r = linechan_flush(&x->out, fd);
                if (r == 0)
                        (void) sd_event_source_set_io_events(s, EPOLLIN);
        }
        if (r >= 0 && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                r = exec_read(c, fd);
        if (r < 0) {
                /* the program closed its end, or went away: no more messages
                 * either way; its exit, if it comes, is handled as usual */
                if (r != -EPIPE && r != -ECONNRESET)
                        log_warning("worker %u pid %d: its message channel failed: %s", c->id,
                                    (int) c->pid, strerror(-r));
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        return 0;
}

int exec_watch(sd_event *e, Child *c, int msg_fd, int exec_fd) {
        ChildExec *x = calloc(1, sizeof *x);
        int r;

        if (!x) {
                close(msg_fd);
                close(exec_fd);
                return -ENOMEM;
        }
        x->msg_fd = msg_fd;
        x->exec_fd = exec_fd;
        c->exec = x;
        r = sd_event_add_io(e, &x->msg_source, msg_fd, EPOLLIN, on_msg_io, c);
        if (r >= 0)
                r = sd_event_add_io(e, &x->exec_source, exec_fd, EPOLLIN, on_exec_status, c);
        return r;
}

void exec_read_pending(Child *c) {
        if (c->exec && c->exec->msg_fd >= 0)
                (void) exec_read(c, c->exec->msg_fd);
}

void child_notify(Child *c, const NotifyMessage *msg) {
        ChildExec *x = c->exec;

        if (!x)
                return;
        if (msg->watchdog) {
                x->watchdog = true;
                c->last_seen_usec = now_usec(CLOCK_MONOTONIC);
        }
        if (msg->has_status)
                memcpy(x->status, msg->status, sizeof x->status);
        if (msg->stopping)
                log_info("worker %u pid %d: stopping", c->id, (int) c->pid);
        if (msg->has_errno)
                log_warning("worker %u pid %d reports error %d (%s)", c->id, (int) c->pid,
                            msg->errno_value, strerror(msg->errno_value));
        if (msg->ready && !c->settings->config.exec_ready_started)
                child_became_ready(c);
}

int child_send_message(Child *c, const char *text) {
        ChildExec *x = c->exec;
        int r;

        if (!x)
                return -EOPNOTSUPP;
        r = linechan_queue(&x->out, text);
        if (r < 0)
                return r;
        r = linechan_flush(&x->out, x->msg_fd);
        if (r > 0)
                return sd_event_source_set_io_events(x->msg_source, EPOLLIN | EPOLLOUT);
        return r == -EPIPE || r == -ECONNRESET ? -EPIPE : r;
}

const char *child_status(const Child *c) {
        return c->exec ? c->exec->status : "";
}

void exec_free(ChildExec *x) {
        if (!x)
                return;
        sd_event_source_disable_unref(x->msg_source);
        sd_event_source_disable_unref(x->exec_source);
        safe_close(x->msg_fd);
        safe_close(x->exec_fd);
        linechan_writer_done(&x->out);
        free(x);
}
