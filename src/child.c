/* A worker process, from the manager's side: fork, the channel, the exit,
 * drain and kill, and the heartbeat check, each by the settings the process
 * was started with. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "ipc.h"
#include "log.h"
#include "macro.h"
#include "signals.h"
#include "worker.h"

/* A draining worker leaves by itself at its drain-timeout; this much later
 * the manager stops waiting for it. */
#define DRAIN_GRACE_USEC (2 * USEC_PER_SEC)

const char *child_state_name(ChildState s) {
        static const char *const names[] = {
                [CHILD_STARTING] = "starting",
                [CHILD_SERVING] = "serving",
                [CHILD_DRAINING] = "draining",
        };
        return names[s];
}

/* Closes every fd from 3 up except the sorted list keep[]. */
static void close_all_but(int *keep, size_t n_keep) {
        int lowest = 3;

        for (size_t i = 1; i < n_keep; i++)
                for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
                        int t = keep[j];
                        keep[j] = keep[j - 1];
                        keep[j - 1] = t;
                }
        for (size_t i = 0; i < n_keep; i++) {
                if (keep[i] > lowest)
                        close_range((unsigned) lowest, (unsigned) keep[i] - 1, 0);
                lowest = keep[i] + 1;
        }
        close_range((unsigned) lowest, ~0U, 0);
}

/* In the forked child: leave only what a worker needs, then run it. */
static _Noreturn void child_run(const ChildSpawn *p, int ipc_fd) {
        int keep[LISTEN_MAX_PER_WORKER + 1];
        size_t n_keep = 0;

        /* the manager's mask and dispositions must not leak into workers */
        signals_reset();
        /* the bus, other workers' channels, sd-event's fds */
        keep[n_keep++] = ipc_fd;
        for (size_t i = 0; i < p->n_listen_fds; i++)
                keep[n_keep++] = p->listen_fds[i];
        close_all_but(keep, n_keep);

        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        _exit(worker_main(&(WorkerSetup) {
                .config = &p->settings->config,
                .id = p->id,
                .ipc_fd = ipc_fd,
                .listen_fds = p->listen_fds,
                .listen_names = p->listen_names,
                .n_listen_fds = p->n_listen_fds,
                .scoreboard = p->scoreboard,
                .score_index = p->score_index,
        }));
}

void child_became_ready(Child *c) {
        if (c->state != CHILD_STARTING)
                return;
        c->state = CHILD_SERVING;
        c->ready_usec = now_usec(CLOCK_MONOTONIC);
        log_info("worker %u pid %d ready on %zu socket(s)", c->id, (int) c->pid, c->n_listen_fds);
        c->events->ready(c, c->userdata);
}

/* Whatever a child sends that is not a well-formed, expected message closes
 * its channel: it is then killed and replaced like any failed worker. */
static int child_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Child *c = userdata;
        IpcMessage msg;
        int r;

        for (;;) {
                r = ipc_recv(fd, &msg);
                if (r == -EAGAIN)
                        return 0;
                if (r <= 0)
                        break;
                if (msg.hdr.worker_id != c->id) {
                        r = -EPROTO;
                        break;
                }
                c->last_seen_usec = now_usec(CLOCK_MONOTONIC);
                if (msg.hdr.type == IPC_READY)
                        child_became_ready(c);
                else if (msg.hdr.type == IPC_HEARTBEAT)
                        c->rss_bytes = msg.heartbeat.rss_bytes;
                else {
                        r = -EPROTO;
                        break;
                }
        }
        if (r == 0 && !ipc_peer_closed(fd))
                r = -EBADMSG; /* an empty datagram: no message is empty */
        if (r == -ECONNRESET)
                r = 0; /* the worker went away with messages unread */
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (r == 0)
                /* the worker exited or is exiting: its exit decides what
                 * happens next; one that lingers is caught as hung */
                return 0;
        log_error("worker %u pid %d: %s on its channel, closing it and replacing the worker", c->id,
                  (int) c->pid,
                  r == -EPROTO     ? "unknown or malformed message"
                  : r == -EBADMSG  ? "truncated or empty message"
                  : r == -EMSGSIZE ? "oversized message"
                                   : strerror(-r));
        child_kill(c, "protocol error");
        return 0;
}

static int child_on_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Child *c = userdata;

        /* the exit can overtake the worker's last heartbeat */
        if (c->fd >= 0 && (!c->kill_reason || strcmp(c->kill_reason, "protocol error") != 0)) {
                IpcMessage msg;
                while (ipc_recv(c->fd, &msg) > 0)
                        if (msg.hdr.type == IPC_HEARTBEAT && msg.hdr.worker_id == c->id)
                                c->rss_bytes = msg.heartbeat.rss_bytes;
        }
        exec_read_pending(c);
        c->events->exited(c, si, c->userdata);
        return 0;
}

/* Forks an application worker, with its message channel (a stream pair)
 * and a close-on-exec pipe that tells whether execve worked. */
static int exec_fork(const ChildSpawn *p, pid_t *ret_pid, int *ret_msg, int *ret_status) {
        pid_t manager = getpid(), pid;
        int sv[2], pipefd[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return negative_errno();
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = negative_errno();
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                close(pipefd[0]);
                exec_run(p, sv[1], pipefd[1], manager);
        }
        r = pid < 0 ? negative_errno() : 0;
        close(sv[1]);
        close(pipefd[1]);
        if (r < 0) {
                close(sv[0]);
                close(pipefd[0]);
                return r;
        }
        *ret_pid = pid;
        *ret_msg = sv[0];
        *ret_status = pipefd[0];
        return 0;
}

/* Forks a built-in worker, with its typed channel. */
static int builtin_fork(const ChildSpawn *p, pid_t *ret_pid, int *ret_fd) {
        int sv[2], r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return negative_errno();
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                child_run(p, sv[1]);
        }
        r = pid < 0 ? negative_errno() : 0;
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        *ret_pid = pid;
        *ret_fd = sv[0];
        return 0;
}

int child_spawn(sd_event *e, const ChildSpawn *p, const ChildEvents *events, void *userdata,
                Child **ret) {
        _cleanup_free_ Child *c = NULL;
        bool exec = p->settings->config.exec != NULL;
        int fd = -1, msg_fd = -1, status_fd = -1, r;
        pid_t pid;

        if (p->n_listen_fds == 0 || p->n_listen_fds > LISTEN_MAX_PER_WORKER)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        r = exec ? exec_fork(p, &pid, &msg_fd, &status_fd) : builtin_fork(p, &pid, &fd);
        if (r < 0)
                return r;
        *c = (Child) {
                .kind = exec ? CHILD_EXEC : CHILD_BUILTIN,
                .id = p->id,
                .serial = p->serial,
                .pid = pid,
                .fd = fd,
                .state = CHILD_STARTING,
                .settings = config_ref(p->settings),
                .started_usec = now_usec(CLOCK_MONOTONIC),
                .started_realtime_usec = now_usec(CLOCK_REALTIME),
                .score_index = p->score_index,
                .n_listen_fds = p->n_listen_fds,
                .events = events,
                .userdata = userdata,
        };
        c->last_seen_usec = c->started_usec;
        memcpy(c->listen_fds, p->listen_fds, p->n_listen_fds * sizeof *p->listen_fds);
        if (exec)
                r = exec_watch(e, c, msg_fd, status_fd);
        else
                r = sd_event_add_io(e, &c->io_source, c->fd, EPOLLIN, child_on_io, c);
        if (r >= 0)
                r = sd_event_add_child(e, &c->exit_source, pid, WEXITED, child_on_exit, c);
        if (r < 0) {
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                child_free(TAKE_PTR(c));
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

void child_kill(Child *c, const char *reason) {
        if (!c->kill_reason)
                c->kill_reason = reason;
        (void) kill(c->pid, SIGKILL);
}

void child_drain(Child *c) {
        IpcDrain d = { .timeout_usec = c->settings->config.drain_timeout_usec };
        int r;

        if (c->state == CHILD_DRAINING)
                return;
        c->state = CHILD_DRAINING;
        c->drain_started_usec = now_usec(CLOCK_MONOTONIC);
        if (c->kind == CHILD_EXEC) {
                /* the program finishes its requests its own way, as under
                 * systemd; SIGKILL after its drain-timeout */
                (void) kill(c->pid, SIGTERM);
                return;
        }
        r = ipc_send(c->fd, IPC_DRAIN, c->id, &d, sizeof d);
        if (r == -EPIPE || r == -ECONNRESET)
                return; /* already exiting: its exit handler takes over */
        if (r < 0) {
                log_warning("worker %u pid %d: cannot send the drain order (%s), killing it", c->id,
                            (int) c->pid, strerror(-r));
                child_kill(c, "unreachable");
        }
}

bool child_logs_to_file(const Child *c) {
        return c->kind == CHILD_BUILTIN && c->settings->config.access_log == CONFIG_ACCESS_LOG_FILE;
}

int child_reopen_log(Child *c) {
        if (!child_logs_to_file(c))
                return 0;
        return ipc_send(c->fd, IPC_REOPEN, c->id, NULL, 0);
}

const char *child_overdue(const Child *c, uint64_t now) {
        const Config *s = &c->settings->config;

        if (c->kill_reason)
                return NULL; /* killed already */
        if (c->kind == CHILD_EXEC) {
                if (c->state == CHILD_STARTING &&
                    now - c->started_usec > s->exec_ready_timeout_usec)
                        return "not ready in time";
                if (c->state == CHILD_DRAINING &&
                    now - c->drain_started_usec > s->drain_timeout_usec)
                        return "drain timeout";
                /* supervised by its exit alone until it pings the watchdog;
                 * and, as under systemd, not while it stops: its drain
                 * timeout bounds that */
                if (c->exec->watchdog && c->state != CHILD_DRAINING &&
                    now - c->last_seen_usec > s->heartbeat_timeout_usec)
                        return "hung";
                return NULL;
        }
        if (now - c->last_seen_usec > s->heartbeat_timeout_usec)
                return c->state == CHILD_STARTING ? "not ready in time" : "hung";
        if (c->state == CHILD_DRAINING &&
            now - c->drain_started_usec > s->drain_timeout_usec + DRAIN_GRACE_USEC)
                return "drain timeout";
        return NULL;
}

void child_describe_exit(const siginfo_t *si, char *buf, size_t size, int *ret_status) {
        if (si->si_code == CLD_EXITED) {
                snprintf(buf, size, "exited with status %d", si->si_status);
                *ret_status = si->si_status;
        } else {
                snprintf(buf, size, "killed by signal %s%s", sigabbrev_np(si->si_status) ?: "?",
                         si->si_code == CLD_DUMPED ? " (core dumped)" : "");
                *ret_status = 128 + si->si_status;
        }
}

Child *child_free(Child *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->exit_source);
        safe_close(c->fd);
        exec_free(c->exec);
        config_unref(c->settings);
        free(c);
        return NULL;
}
