/* The manager: supervision of the worker processes.
 *
 * Each worker slot has at most one current child. A child that dies is
 * replaced at once, or after a growing delay while its slot keeps crashing.
 * A rolling restart (reload, scale, RestartWorker) replaces slots one at a
 * time: the new child starts beside the old one, and only once it reports
 * READY is the old one told to drain. */
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "bus.h"
#include "cpu.h"
#include "log.h"
#include "macro.h"
#include "worker.h"

/* A child that served this long before it died was not crash-looping. */
#define STABLE_USEC (10 * USEC_PER_SEC)
#define CHECK_INTERVAL_USEC (250 * USEC_PER_MSEC)

const char *manager_state_name(ManagerState s) {
        static const char *const names[] = {
                [MANAGER_STARTING] = "starting",   [MANAGER_RUNNING] = "running",
                [MANAGER_RELOADING] = "reloading", [MANAGER_DEGRADED] = "degraded",
                [MANAGER_STOPPING] = "stopping",
        };
        return names[s];
}

const char *child_state_name(ChildState s) {
        static const char *const names[] = {
                [CHILD_STARTING] = "starting",
                [CHILD_SERVING] = "serving",
                [CHILD_DRAINING] = "draining",
        };
        return names[s];
}

/* A child of slot i that serves: its current one, or while a roll replaces
 * it, the one being replaced. NULL when none does. */
static Child *slot_serving_child(const Manager *m, unsigned i) {
        for (Child *c = m->children; c; c = c->next)
                if (c->slot == i && c->state == CHILD_SERVING)
                        return c;
        return NULL;
}

/* The slot's current child is up and serving. */
static bool slot_current_serves(const Slot *slot) {
        return slot->current && slot->current->state == CHILD_SERVING;
}

/* A slot serves when any of its children does: during a replacement the old
 * child keeps serving until the new one is ready. */
unsigned manager_workers_serving(const Manager *m) {
        unsigned n = 0;
        for (unsigned i = 0; i < m->n_slots; i++)
                if (slot_serving_child(m, i))
                        n++;
        return n;
}

unsigned manager_connections(const Manager *m) {
        unsigned n = 0;
        for (const Child *c = m->children; c; c = c->next)
                n += c->counters.connections;
        return n;
}

uint64_t manager_requests_total(const Manager *m) {
        uint64_t n = m->requests_retired;
        for (const Child *c = m->children; c; c = c->next)
                n += c->counters.requests;
        return n;
}

/* ---- talking to systemd ---- */

static void manager_update_status(Manager *m) {
        char status[sizeof m->status];
        unsigned backing_off = 0, first_backoff = 0;
        uint64_t delay = 0;
        size_t n;

        for (unsigned i = 0; i < m->n_slots; i++)
                if (m->slots[i].respawn_timer && !backing_off++) {
                        first_backoff = i + 1;
                        delay = m->slots[i].backoff_usec;
                }
        n = (size_t) snprintf(status, sizeof status, "%u/%u workers, %llu requests, %llu restarts",
                              manager_workers_serving(m), m->n_slots,
                              (unsigned long long) manager_requests_total(m),
                              (unsigned long long) m->restarts);
        if (m->state == MANAGER_STOPPING) {
                unsigned left = 0;
                for (Child *c = m->children; c; c = c->next)
                        left++;
                n += (size_t) snprintf(status + n, sizeof status - n,
                                       "; stopping, %u worker(s) draining", left);
        } else if (m->state == MANAGER_RELOADING && m->rolling_slot >= 0)
                n += (size_t) snprintf(status + n, sizeof status - n, "; reloading (worker %d)",
                                       m->rolling_slot + 1);
        else if (m->state == MANAGER_RELOADING)
                n += (size_t) snprintf(status + n, sizeof status - n, "; reloading");
        else if (backing_off)
                n += (size_t) snprintf(status + n, sizeof status - n,
                                       "; degraded: worker %u crash-looping, retry in %.1fs",
                                       first_backoff, (double) delay / USEC_PER_SEC);
        /* how the last reload ended stays visible until the next one: the
         * reload helper reads it to tell a failed reload from a finished one */
        if (m->reload_note[0] && n < sizeof status &&
            (m->state == MANAGER_RUNNING || m->state == MANAGER_DEGRADED))
                snprintf(status + n, sizeof status - n, "; %s", m->reload_note);

        if (strcmp(status, m->status) != 0) {
                memcpy(m->status, status, sizeof status);
                sd_notifyf(false, "STATUS=%s", status);
        }
}

static void manager_set_state(Manager *m, ManagerState s) {
        if (m->state == s)
                return;
        log_debug("state %s -> %s", manager_state_name(m->state), manager_state_name(s));
        m->state = s;
        bus_emit_manager_changed(m->bus);
}

/* Starts the reload asked for while another one, or the start, was under
 * way. True when there was one. */
static bool manager_reload_queued(Manager *m) {
        if (!m->reload_queued)
                return false;
        m->reload_queued = false;
        (void) manager_reload(m);
        return true;
}

/* Forgets the config a running reload replaced: the reload is over. */
static void manager_drop_prev_config(Manager *m) {
        if (!m->has_prev_config)
                return;
        config_done(&m->prev_config);
        m->has_prev_config = false;
}

/* Recomputes running/degraded after any change, and sends READY=1 the first
 * time every slot serves. */
static void manager_update(Manager *m) {
        unsigned serving = manager_workers_serving(m);

        if (m->state == MANAGER_STOPPING)
                goto out;
        if (m->state == MANAGER_STARTING && serving == m->n_slots) {
                manager_set_state(m, MANAGER_RUNNING);
                log_info("all %u workers serving", m->n_slots);
                manager_update_status(m);
                sd_notify(false, "READY=1");
                if (manager_reload_queued(m)) /* asked for while starting */
                        return;
        } else if (m->state == MANAGER_RUNNING && serving < m->n_slots && m->rolling_slot < 0)
                manager_set_state(m, MANAGER_DEGRADED);
        else if (m->state == MANAGER_DEGRADED && serving == m->n_slots)
                manager_set_state(m, MANAGER_RUNNING);
out:
        manager_update_status(m);
}

/* ---- children ---- */

/* In the forked child: leave only what a worker needs, then run it. */
static _Noreturn void child_run(Manager *m, unsigned slot, int ipc_fd, int *fds, size_t n_fds) {
        sigset_t none;
        int keep[LISTEN_MAX_PER_WORKER + 1];
        size_t n_keep = 0;
        int lowest = 3;

        /* the mask and dispositions the manager set up must not leak into workers */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);

        /* close everything else: the bus, other workers' channels, sd-event fds */
        keep[n_keep++] = ipc_fd;
        for (size_t i = 0; i < n_fds; i++)
                keep[n_keep++] = fds[i];
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

        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        _exit(worker_main(&m->config, slot + 1, ipc_fd, fds, n_fds));
}

static void child_free(Child *c) {
        if (!c)
                return;
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->exit_source);
        if (c->fd >= 0)
                close(c->fd);
        free(c);
}

static void manager_unlink_child(Manager *m, Child *c) {
        for (Child **p = &m->children; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        if (m->slots[c->slot].current == c)
                m->slots[c->slot].current = NULL;
}

static void child_kill(Child *c, const char *reason) {
        if (!c->kill_reason)
                c->kill_reason = reason;
        (void) kill(c->pid, SIGKILL);
}

static void child_drain(Child *c, uint64_t timeout_usec) {
        IpcDrain d = { .timeout_usec = timeout_usec };
        int r;

        if (c->state == CHILD_DRAINING)
                return;
        c->state = CHILD_DRAINING;
        r = ipc_send(c->fd, IPC_DRAIN, c->slot + 1, &d, sizeof d);
        if (r == -EPIPE || r == -ECONNRESET)
                return; /* already exiting: its exit handler takes over */
        if (r < 0) {
                log_warning("worker %u pid %d: cannot send drain order (%s), killing it",
                            c->slot + 1, (int) c->pid, strerror(-r));
                child_kill(c, "unreachable");
        }
}

static void manager_roll_next(Manager *m);
static void manager_roll_fail(Manager *m, unsigned i);
static void manager_reload_check_done(Manager *m);
static int manager_spawn(Manager *m, unsigned slot);

static void child_on_ready(Child *c, const IpcReady *ready) {
        Manager *m = c->manager;

        if (c->state != CHILD_STARTING)
                return;
        c->state = CHILD_SERVING;
        c->ready_usec = now_usec(CLOCK_MONOTONIC);
        log_info("worker %u pid %d ready on %u socket(s)", c->slot + 1, (int) c->pid,
                 ready->listeners);

        /* a child that was itself replaced while it started drains at once;
         * it must not take the current child of its slot down with it */
        if (c != m->slots[c->slot].current) {
                log_info("worker %u pid %d was replaced while it started, draining it", c->slot + 1,
                         (int) c->pid);
                child_drain(c, m->config.drain_timeout_usec);
                manager_update(m);
                return;
        }
        /* a replacement is serving: the children it replaces may now drain */
        for (Child *o = m->children; o; o = o->next)
                if (o != c && o->slot == c->slot && o->state != CHILD_DRAINING) {
                        log_info("worker %u pid %d replaced by pid %d, draining it", o->slot + 1,
                                 (int) o->pid, (int) c->pid);
                        child_drain(o, m->config.drain_timeout_usec);
                }
        bus_emit_manager_changed(m->bus);
        if (m->rolling_slot == (int) c->slot)
                manager_roll_next(m);
        else
                manager_reload_check_done(m);
        manager_update(m);
}

/* Whatever a child sends that is not a well-formed, expected message closes its
 * channel: it is then killed and replaced like any failed worker. */
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
                if (msg.hdr.worker_id != c->slot + 1) {
                        r = -EPROTO;
                        break;
                }
                c->last_seen_usec = now_usec(CLOCK_MONOTONIC);
                if (msg.hdr.type == IPC_READY)
                        child_on_ready(c, &msg.ready);
                else if (msg.hdr.type == IPC_HEARTBEAT)
                        c->counters = msg.heartbeat;
                else {
                        r = -EPROTO;
                        break;
                }
        }
        /* recv() answers 0 both at end of stream and for an empty datagram;
         * only the hangup flag tells them apart */
        if (r == 0 && !(revents & (EPOLLHUP | EPOLLRDHUP)))
                r = -EBADMSG;
        if (r == -ECONNRESET)
                r = 0; /* the worker went away with messages unread */
        if (r == 0) {
                /* the worker exited or is exiting: its exit handler decides what
                 * happens next; one that lingers is caught by the heartbeat check */
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        log_error("worker %u pid %d: %s on its channel, closing it and replacing the worker",
                  c->slot + 1, (int) c->pid,
                  r == -EPROTO     ? "unknown or malformed message"
                  : r == -EBADMSG  ? "truncated message"
                  : r == -EMSGSIZE ? "oversized message"
                                   : strerror(-r));
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        child_kill(c, "protocol error");
        return 0;
}

static int slot_on_respawn(sd_event_source *s, uint64_t usec, void *userdata);

static void manager_maybe_give_up(Manager *m) {
        for (unsigned i = 0; i < m->n_slots; i++) {
                const Slot *slot = &m->slots[i];
                if (slot->crashes < m->config.crash_loop_limit || slot_current_serves(slot))
                        return;
        }
        log_error("all %u workers are crash-looping (%u crashes in a row each); exiting so the "
                  "service manager can restart clusterd",
                  m->n_slots, m->config.crash_loop_limit);
        m->exit_status = EXIT_FAILURE;
        for (Child *c = m->children; c; c = c->next)
                child_kill(c, "giving up");
        manager_set_state(m, MANAGER_STOPPING);
        sd_notify(false, "STOPPING=1");
        if (!m->children)
                sd_event_exit(m->event, EXIT_FAILURE);
}

static int on_reload_check(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        m->reload_check = sd_event_source_disable_unref(m->reload_check);
        manager_reload_check_done(m);
        manager_update(m);
        return 0;
}

static void manager_defer_reload_check(Manager *m) {
        int r;

        if (m->reload_check)
                return;
        r = sd_event_add_defer(m->event, &m->reload_check, on_reload_check, m);
        if (r < 0)
                log_error("cannot schedule the reload check: %s", strerror(-r));
}

/* The slot needs a new child: it has none, or it is being rolled and its
 * current child is still the old one, because spawning the new one failed. */
static bool slot_wants_child(const Manager *m, unsigned i) {
        const Slot *slot = &m->slots[i];
        return !slot->current || ((int) i == m->rolling_slot && slot_current_serves(slot));
}

/* The slot lost its current child unexpectedly, or its new child could not
 * be spawned: respawn, at once or later. */
static void slot_after_crash(Manager *m, unsigned i, uint64_t served_usec) {
        Slot *slot = &m->slots[i];
        uint64_t delay;
        int r;

        /* at most one respawn pending: a rolled slot whose new child could
         * not be spawned may lose its old one too */
        slot->respawn_timer = sd_event_source_disable_unref(slot->respawn_timer);
        if (served_usec >= STABLE_USEC)
                slot->crashes = 0;
        slot->crashes++;
        if (m->state == MANAGER_RELOADING)
                slot->reload_failures++;
        slot->restarts++;
        m->restarts++;
        /* the roll's own count: slot->crashes may carry failures from long
         * before, and is reset only by a worker that served a while */
        if ((int) i == m->rolling_slot && ++m->roll_failures >= m->config.crash_loop_limit) {
                manager_roll_fail(m, i);
                /* a reload queued meanwhile may have started: it may have
                 * stopped the manager, removed the slot or taken it over */
                if (m->state == MANAGER_STOPPING || i >= m->n_slots || !slot_wants_child(m, i) ||
                    slot->respawn_timer)
                        return;
        }
        delay = backoff_delay(slot->crashes, m->config.restart_backoff_max_usec);
        if (slot->crashes >= m->config.crash_loop_limit) {
                manager_maybe_give_up(m);
                if (m->state == MANAGER_STOPPING)
                        return;
                /* a reload that waits for this slot may have failed: see
                 * from the event loop, not from inside whatever spawned it */
                if (m->state == MANAGER_RELOADING)
                        manager_defer_reload_check(m);
        }
        if (delay == 0) {
                r = manager_spawn(m, i);
                if (r >= 0)
                        return;
                delay = backoff_delay(++slot->crashes, m->config.restart_backoff_max_usec);
        }
        log_warning("worker %u crashed %u times in a row, restarting it in %.1fs", i + 1,
                    slot->crashes, (double) delay / USEC_PER_SEC);
        slot->backoff_usec = delay;
        r = sd_event_add_time_relative(m->event, &slot->respawn_timer, CLOCK_MONOTONIC, delay, 0,
                                       slot_on_respawn, m);
        if (r < 0)
                log_error("worker %u: cannot schedule its restart: %s", i + 1, strerror(-r));
}

static int slot_on_respawn(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        for (unsigned i = 0; i < m->n_slots; i++) {
                Slot *slot = &m->slots[i];
                if (slot->respawn_timer != s)
                        continue;
                slot->respawn_timer = sd_event_source_disable_unref(slot->respawn_timer);
                slot->backoff_usec = 0;
                if (m->state != MANAGER_STOPPING && slot_wants_child(m, i) &&
                    manager_spawn(m, i) < 0)
                        slot_after_crash(m, i, 0);
                break;
        }
        manager_update(m);
        return 0;
}

static void describe_exit(const siginfo_t *si, char *buf, size_t size, int *ret_status) {
        if (si->si_code == CLD_EXITED) {
                snprintf(buf, size, "exited with status %d", si->si_status);
                *ret_status = si->si_status;
        } else {
                snprintf(buf, size, "killed by signal %s%s", sigabbrev_np(si->si_status) ?: "?",
                         si->si_code == CLD_DUMPED ? " (core dumped)" : "");
                *ret_status = 128 + si->si_status;
        }
}

static int child_on_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Child *c = userdata;
        Manager *m = c->manager;
        unsigned slot = c->slot;
        bool was_current = m->slots[slot].current == c;
        bool draining = c->state == CHILD_DRAINING && si->si_code == CLD_EXITED && !c->kill_reason;
        bool clean = draining && si->si_status == 0;
        bool cut = draining && si->si_status == WORKER_EXIT_DRAIN_CUT;
        uint64_t served = c->ready_usec ? now_usec(CLOCK_MONOTONIC) - c->ready_usec : 0;
        char how[96];
        int status;

        /* the exit can overtake the worker's last messages: read them, so its
         * final counters are not lost */
        if (!c->kill_reason || strcmp(c->kill_reason, "protocol error") != 0) {
                IpcMessage msg;
                while (ipc_recv(c->fd, &msg) > 0)
                        if (msg.hdr.type == IPC_HEARTBEAT && msg.hdr.worker_id == c->slot + 1)
                                c->counters = msg.heartbeat;
        }
        describe_exit(si, how, sizeof how, &status);
        if (clean)
                log_info("worker %u pid %d drained and exited", slot + 1, (int) c->pid);
        else if (cut)
                log_warning("worker %u pid %d exited at the drain timeout, ending the requests "
                            "still open",
                            slot + 1, (int) c->pid);
        else
                log_warning("worker %u pid %d %s%s%s", slot + 1, (int) c->pid, how,
                            c->kill_reason ? ", killed as " : "", c->kill_reason ?: "");

        /* before the unlink: the worker's bus object must still resolve */
        bus_emit_worker_exited(m->bus, slot + 1, c->pid,
                               clean ? "drained"
                               : cut ? "drain timeout"
                                     : c->kill_reason ?: (si->si_code == CLD_EXITED ? "exited" : "killed"),
                               status);
        m->requests_retired += c->counters.requests;
        manager_unlink_child(m, c);
        child_free(c);
        bus_emit_manager_changed(m->bus);

        if (m->state == MANAGER_STOPPING) {
                if (!m->children)
                        sd_event_exit(m->event, m->exit_status);
        } else if (was_current && slot < m->n_slots) {
                slot_after_crash(m, slot, served);
                if (m->rolling_slot == (int) slot && m->slots[slot].current == NULL)
                        log_info("rolling restart waits for worker %u", slot + 1);
        }
        manager_update(m);
        return 0;
}

static int manager_spawn(Manager *m, unsigned slot) {
        int sv[2], fds[LISTEN_MAX_PER_WORKER];
        size_t n_fds;
        Child *c;
        pid_t pid;
        int r;

        n_fds = listen_for_slot(&m->listeners, slot, m->n_slots, fds, ELEMENTSOF(fds));
        if (n_fds == 0) {
                log_error("worker %u: no listening socket to serve", slot + 1);
                return -ENOTSOCK;
        }
        if (n_fds > ELEMENTSOF(fds)) {
                /* connections hashed to the others would wait unanswered */
                log_warning("worker %u: serves only %zu of its %zu sockets; use fewer sockets "
                            "or more workers",
                            slot + 1, ELEMENTSOF(fds), n_fds);
                n_fds = ELEMENTSOF(fds);
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                r = negative_errno();
                log_error("worker %u: socketpair: %s", slot + 1, strerror(-r));
                return r;
        }
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                log_error("worker %u: fork: %s", slot + 1, strerror(-r));
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                child_run(m, slot, sv[1], fds, n_fds);
        }
        close(sv[1]);

        c = calloc(1, sizeof *c);
        if (!c) {
                log_error("worker %u pid %d: out of memory to track it, stopping it", slot + 1,
                          (int) pid);
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                close(sv[0]);
                return -ENOMEM;
        }
        *c = (Child) {
                .manager = m,
                .slot = slot,
                .pid = pid,
                .fd = sv[0],
                .state = CHILD_STARTING,
                .config_gen = m->config_gen,
                .started_usec = now_usec(CLOCK_MONOTONIC),
                .started_realtime_usec = now_usec(CLOCK_REALTIME),
                .n_listen_fds = n_fds,
        };
        c->last_seen_usec = c->started_usec;
        memcpy(c->listen_fds, fds, n_fds * sizeof *fds);
        r = sd_event_add_io(m->event, &c->io_source, c->fd, EPOLLIN, child_on_io, c);
        if (r >= 0)
                r = sd_event_add_child(m->event, &c->exit_source, pid, WEXITED, child_on_exit, c);
        if (r < 0) {
                log_error("worker %u pid %d: cannot watch it: %s", slot + 1, (int) pid,
                          strerror(-r));
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                child_free(c);
                return r;
        }
        c->next = m->children;
        m->children = c;
        m->slots[slot].current = c;
        log_info("worker %u pid %d started", slot + 1, (int) pid);
        bus_emit_worker_started(m->bus, slot + 1, pid);
        return 0;
}

/* ---- rolling restart ---- */

static bool child_fds_match(const Manager *m, const Child *c) {
        int fds[LISTEN_MAX_PER_WORKER];
        size_t n = listen_for_slot(&m->listeners, c->slot, m->n_slots, fds, ELEMENTSOF(fds));
        if (n > ELEMENTSOF(fds))
                n = ELEMENTSOF(fds);
        return n == c->n_listen_fds && memcmp(fds, c->listen_fds, n * sizeof *fds) == 0;
}

static void manager_roll_start(Manager *m, unsigned all_below);
static int manager_resize(Manager *m, unsigned workers);

/* A failed reload leaves the service as it was, as systemd and operators
 * expect of a failed reload: the previous config and worker count come
 * back, and the workers that already run the new config are replaced, one
 * at a time, by workers with the previous one. Without this, a reload to
 * more workers left sockets in the SO_REUSEPORT group that no worker served,
 * and a later crash of an old worker brought up the config that had failed. */
static void manager_reload_revert(Manager *m) {
        if (!m->has_prev_config)
                return;
        config_done(&m->config);
        m->config = m->prev_config;
        m->has_prev_config = false;
        m->config_gen = m->prev_config_gen;
        log_setup("manager", m->config.log_level);
        log_warning("reload: back to the previous configuration, %u worker(s)", m->prev_slots);
        (void) manager_resize(m, m->prev_slots); /* its sockets are open: cannot fail */
        for (unsigned i = 0; i < m->n_slots; i++) {
                const Child *c = m->slots[i].current;
                if (c && c->config_gen != m->config_gen)
                        m->slots[i].roll_pending = true;
        }
        manager_roll_start(m, 0);
}

/* Ends the reload, finished or failed: systemd hears READY=1 again, with a
 * STATUS that says how it ended, and a reload asked for meanwhile starts. */
static void manager_reload_end(Manager *m, const char *failure) {
        if (failure)
                snprintf(m->reload_note, sizeof m->reload_note, "reload %u failed: %s", m->reloads,
                         failure);
        else
                snprintf(m->reload_note, sizeof m->reload_note, "reload %u done", m->reloads);
        manager_set_state(m, MANAGER_RUNNING);
        /* in RUNNING already: the roll back is no reload that could end here */
        if (failure)
                manager_reload_revert(m);
        else
                manager_drop_prev_config(m);
        manager_update(m); /* degraded if a slot is down; STATUS before READY=1 */
        sd_notify(false, "READY=1");
        (void) manager_reload_queued(m);
}

/* A reload is over once no slot waits for its replacement and every slot
 * serves; only then may systemd hear READY=1 again. It has failed when a slot
 * that the roll did not replace itself (one added by a resize, or one that
 * was restarting already) cannot start either. */
static void manager_reload_check_done(Manager *m) {
        char why[64];

        if (m->state != MANAGER_RELOADING || m->rolling_slot >= 0)
                return;
        if (manager_workers_serving(m) < m->n_slots) {
                for (unsigned i = 0; i < m->n_slots; i++) {
                        const Slot *slot = &m->slots[i];
                        if (slot->reload_failures < m->config.crash_loop_limit ||
                            slot_current_serves(slot))
                                continue;
                        log_error("reload failed: worker %u did not start (%u failures since "
                                  "the reload began)",
                                  i + 1, slot->reload_failures);
                        snprintf(why, sizeof why, "worker %u did not start", i + 1);
                        manager_reload_end(m, why);
                        return;
                }
                return;
        }
        log_info("reload finished: %u/%u workers serving", manager_workers_serving(m), m->n_slots);
        manager_reload_end(m, NULL);
}

/* The new worker of the slot being rolled failed to start crash-loop-limit
 * times in a row: the roll (of a reload, Scale or RestartWorker) stops here.
 * The slots not yet replaced keep their workers, and this slot keeps its old
 * one if that still serves. Each failed start is bounded by heartbeat-timeout
 * (a starting worker that stays silent is killed as hung), so with the
 * defaults a roll step fails within about 5 x 10 s plus 0.7 s of backoff:
 * before clusterd-reload's 85 s and systemd's 90 s. */
static void manager_roll_fail(Manager *m, unsigned i) {
        bool reloading = m->state == MANAGER_RELOADING;
        Slot *slot = &m->slots[i];
        Child *old = slot_serving_child(m, i);
        char why[64];

        log_error("%s failed: worker %u did not start%s (%u failures in a row); %s, the "
                  "rolling restart stops",
                  reloading ? "reload" : "worker restart", i + 1,
                  reloading ? " with the new configuration" : "", m->roll_failures,
                  old ? "its previous worker keeps serving" : "it stays down and is retried");
        for (unsigned k = 0; k < m->n_slots; k++)
                m->slots[k].roll_pending = false;
        m->rolling_slot = -1;
        if (old) {
                slot->respawn_timer = sd_event_source_disable_unref(slot->respawn_timer);
                slot->backoff_usec = 0;
                slot->crashes = 0;
                slot->current = old;
        }
        if (!reloading) {
                manager_update(m);
                return;
        }
        snprintf(why, sizeof why, "worker %u did not start", i + 1);
        manager_reload_end(m, why);
}

/* Starts the replacement of the next pending slot, or finishes the roll. */
static void manager_roll_next(Manager *m) {
        m->rolling_slot = -1;
        for (unsigned i = 0; i < m->n_slots; i++) {
                Slot *slot = &m->slots[i];
                if (!slot->roll_pending)
                        continue;
                slot->roll_pending = false;
                if (slot->respawn_timer)
                        continue; /* it is being restarted already, with the new config */
                m->rolling_slot = (int) i;
                m->roll_failures = 0;
                /* a failed spawn counts like a crash of the new worker: the
                 * roll waits for the respawn, or stops (manager_roll_fail) */
                if (manager_spawn(m, i) < 0)
                        slot_after_crash(m, i, 0);
                manager_update_status(m);
                return;
        }
        manager_reload_check_done(m);
        manager_update(m);
}

/* Marks for replacement every slot below all_below, and any slot whose share
 * of the sockets changed, then starts replacing them one at a time. */
static void manager_roll_start(Manager *m, unsigned all_below) {
        for (unsigned i = 0; i < m->n_slots; i++) {
                Child *c = m->slots[i].current;
                if (i < all_below || (c && !child_fds_match(m, c)))
                        m->slots[i].roll_pending = true;
        }
        if (m->rolling_slot < 0)
                manager_roll_next(m);
}

/* Moves to `workers` slots: new slots start at once; extra ones drain. The
 * caller then rolls the slots whose share of the sockets changed. */
static int manager_resize(Manager *m, unsigned workers) {
        unsigned old = m->n_slots;
        int r;

        if (workers == old)
                return 0;
        r = listen_grow(&m->listeners, workers);
        if (r < 0) {
                log_error("cannot open sockets for %u workers: %s", workers, strerror(-r));
                return r;
        }
        /* logged before the drains and spawns it causes, which log too */
        log_info("scaling from %u to %u workers", old, workers);
        m->n_slots = workers;
        for (unsigned i = workers; i < old; i++) {
                Slot *slot = &m->slots[i];
                slot->respawn_timer = sd_event_source_disable_unref(slot->respawn_timer);
                slot->roll_pending = false;
                for (Child *c = m->children; c; c = c->next)
                        if (c->slot == i)
                                child_drain(c, m->config.drain_timeout_usec);
                slot->current = NULL;
                slot->crashes = 0;
        }
        /* the slot being rolled is gone: the caller's manager_roll_start()
         * goes on with the remaining ones. Not manager_roll_next() here: with
         * no slot marked yet, it would end a reload before its roll began */
        if (m->rolling_slot >= (int) workers)
                m->rolling_slot = -1;
        for (unsigned i = old; i < workers; i++) {
                m->slots[i] = (Slot) {};
                if (manager_spawn(m, i) < 0)
                        slot_after_crash(m, i, 0);
        }
        bus_emit_manager_changed(m->bus);
        return 0;
}

int manager_scale(Manager *m, unsigned workers) {
        if (m->state == MANAGER_STOPPING)
                return -ESHUTDOWN;
        if (workers < 1 || workers > CONFIG_MAX_WORKERS)
                return -EINVAL;
        int r = manager_resize(m, workers);
        if (r >= 0) {
                if (m->has_prev_config)
                        m->prev_slots = workers; /* a reload that fails keeps this count */
                manager_roll_start(m, 0);
        }
        return r;
}

int manager_restart_worker(Manager *m, unsigned slot) {
        if (m->state == MANAGER_STOPPING)
                return -ESHUTDOWN;
        if (slot >= m->n_slots)
                return -ENOENT;
        log_info("restarting worker %u on request", slot + 1);
        m->slots[slot].roll_pending = true;
        if (m->rolling_slot < 0)
                manager_roll_next(m);
        return 0;
}

/* Workers serve every file as application/octet-stream without the MIME
 * table, which browsers download instead of showing: say so once, here,
 * rather than in every worker. */
static void manager_check_mime_types(const Config *c) {
        int r = config_check_mime_types(c);

        if (r < 0)
                log_warning("mime-types '%s': %s; every file is served as "
                            "application/octet-stream",
                            c->mime_types, strerror(-r));
}

static unsigned manager_wanted_workers(const Config *c) {
        unsigned n;

        if (c->workers)
                return c->workers;
        n = cpu_usable("");
        if (n > CONFIG_MAX_WORKERS) {
                log_notice("%u usable CPUs, starting the maximum of %u workers", n,
                           CONFIG_MAX_WORKERS);
                n = CONFIG_MAX_WORKERS;
        }
        return n;
}

/* A reload either is refused with nothing changed, or applies the new config
 * and rolls the workers: all that can fail (the config, sockets for more
 * workers) is tried before anything is applied, so that "refused" on the bus
 * or in STATUS always means the running configuration stays. */
int manager_reload(Manager *m) {
        char err[CONFIG_ERROR_MAX] = "";
        unsigned wanted, old;
        Config c;
        int r;

        if (m->state == MANAGER_STOPPING)
                return -ESHUTDOWN;
        if (m->state == MANAGER_RELOADING || m->state == MANAGER_STARTING) {
                m->reload_queued = true;
                return 0;
        }
        m->reloads++;
        r = config_build(&c, m->config_path, m->config_required, m->overrides, m->n_overrides, err);
        if (r >= 0) {
                wanted = manager_wanted_workers(&c);
                r = listen_grow(&m->listeners, wanted);
                if (r < 0)
                        snprintf(err, sizeof err, "cannot open sockets for %u workers: %s", wanted,
                                 strerror(-r));
        }
        if (r < 0) {
                log_error("reload refused, keeping the running configuration: %s", err);
                memcpy(m->reload_error, err, sizeof m->reload_error);
                snprintf(m->reload_note, sizeof m->reload_note,
                         "reload %u refused, running configuration kept", m->reloads);
                manager_update_status(m);
                config_done(&c);
                return r;
        }
        m->reload_error[0] = 0;
        m->reload_note[0] = 0;
        for (size_t i = 0; i < c.n_listen && !m->listeners.from_systemd; i++)
                if (i >= m->config.n_listen || strcmp(c.listen[i], m->config.listen[i]) != 0) {
                        log_warning("reload: listen addresses cannot change while running; "
                                    "restart clusterd to apply them");
                        break;
                }
        sd_notify(false, "RELOADING=1");
        log_info("reloading: replacing workers one at a time");
        manager_drop_prev_config(m);
        m->prev_config = m->config;
        m->has_prev_config = true;
        m->prev_config_gen = m->config_gen;
        m->prev_slots = m->n_slots;
        m->config = c;
        m->config_gen = ++m->config_gens;
        m->roll_failures = 0; /* a roll already running counted the old config's */
        for (unsigned i = 0; i < m->n_slots; i++)
                m->slots[i].reload_failures = 0;
        manager_check_mime_types(&m->config);
        log_setup("manager", m->config.log_level);
        manager_set_state(m, MANAGER_RELOADING);
        /* slots added by the resize start with the new config already; the
         * ones that were there before are replaced, each exactly once. The
         * sockets are open already, so the resize cannot fail. */
        old = m->n_slots;
        (void) manager_resize(m, wanted);
        manager_roll_start(m, old < m->n_slots ? old : m->n_slots);
        return 0;
}

/* ---- stop ---- */

static int on_stop_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        for (Child *c = m->children; c; c = c->next) {
                log_warning("worker %u pid %d still running after the drain timeout, killing it",
                            c->slot + 1, (int) c->pid);
                child_kill(c, "drain timeout");
        }
        return 0;
}

static void manager_stop(Manager *m, const char *why) {
        uint64_t timeout = m->config.drain_timeout_usec;

        if (m->state == MANAGER_STOPPING)
                return;
        log_info("%s: stopping, draining %s", why, m->children ? "the workers" : "nothing");
        manager_set_state(m, MANAGER_STOPPING);
        sd_notifyf(false, "STOPPING=1\nEXTEND_TIMEOUT_USEC=%llu",
                   (unsigned long long) (timeout + 5 * USEC_PER_SEC));
        for (unsigned i = 0; i < m->n_slots; i++)
                m->slots[i].respawn_timer =
                        sd_event_source_disable_unref(m->slots[i].respawn_timer);
        for (Child *c = m->children; c; c = c->next)
                if (c->state == CHILD_STARTING)
                        child_kill(c, "stopping");
                else
                        child_drain(c, timeout);
        bus_emit_manager_changed(m->bus);
        (void) sd_event_add_time_relative(m->event, &m->stop_timer, CLOCK_MONOTONIC,
                                          timeout + 2 * USEC_PER_SEC, 0, on_stop_deadline, m);
        if (!m->children)
                sd_event_exit(m->event, m->exit_status);
        manager_update_status(m);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                log_info("SIGHUP: reloading");
                (void) manager_reload(m);
        } else
                manager_stop(m, si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        return 0;
}

/* ---- periodic checks: hung workers, STATUS, drain extension ---- */

static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t t = now_usec(CLOCK_MONOTONIC);

        for (Child *c = m->children; c; c = c->next) {
                if (c->kill_reason || t - c->last_seen_usec <= m->config.heartbeat_timeout_usec)
                        continue;
                log_error("worker %u pid %d: no heartbeat for %.1fs, killing it as hung",
                          c->slot + 1, (int) c->pid,
                          (double) (t - c->last_seen_usec) / USEC_PER_SEC);
                child_kill(c, "hung");
        }
        manager_update_status(m);
        (void) sd_event_source_set_time(s, usec + CHECK_INTERVAL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

/* ---- life cycle ---- */

int manager_new(Config *take_config, const char *config_path, bool config_required,
                const ConfigOverride *overrides, size_t n_overrides, Manager **ret) {
        Manager *m = calloc(1, sizeof *m);

        if (!m)
                return -ENOMEM;
        m->config = *take_config;
        *take_config = (Config) {};
        m->config_path = config_path;
        m->config_required = config_required;
        m->overrides = overrides;
        m->n_overrides = n_overrides;
        m->rolling_slot = -1;
        m->state = MANAGER_STARTING;
        m->started_realtime_usec = now_usec(CLOCK_REALTIME);
        *ret = m;
        return 0;
}

static void manager_log_listening(const Manager *m) {
        size_t n = m->listeners.n_groups;
        _cleanup_free_ const char **addrs = calloc(n ?: 1, sizeof *addrs);

        if (!addrs)
                return;
        n = listen_addresses(&m->listeners, addrs, n);
        for (size_t i = 0; i < n; i++)
                log_info("listening on %s", addrs[i]);
}

static int manager_open_sockets(Manager *m) {
        const char *failed = NULL;
        int r;

        r = listen_from_systemd(&m->listeners);
        if (r < 0) {
                log_error("cannot use the sockets passed by systemd: %s", strerror(-r));
                return r;
        }
        if (r > 0) {
                log_info("using %d socket(s) from systemd on %zu address(es)", r,
                         m->listeners.n_groups);
                if (m->config.listen_given)
                        log_warning("listen addresses of the configuration are not used: systemd "
                                    "passed the sockets (ListenStream= in clusterd.socket)");
                manager_log_listening(m);
                for (unsigned g = 0; g < m->listeners.n_groups; g++) {
                        size_t size = listen_group_size(&m->listeners, g);
                        if (size > 1 && size % m->n_slots != 0)
                                log_warning("%zu sockets on one address do not divide evenly over "
                                            "%u workers: some workers will get more connections; "
                                            "repeat ListenStream= a multiple of %u times",
                                            size, m->n_slots, m->n_slots);
                }
                return 0;
        }
        /* one SO_REUSEPORT socket per worker spreads connections evenly */
        r = listen_bind(&m->listeners, m->config.listen, m->config.n_listen, m->n_slots, &failed);
        if (r < 0) {
                log_error("cannot listen on %s: %s", failed, strerror(-r));
                return r;
        }
        for (size_t i = 0; i < m->config.n_listen; i++)
                log_info("listening on %s", m->config.listen[i]);
        return 0;
}

static int manager_setup_event(Manager *m) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
        sigset_t mask;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error("sd_event_default: %s", strerror(-r)), r;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&mask, sigs[i]);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(m->event, NULL, sigs[i], on_signal, m);
                if (r < 0)
                        return log_error("cannot watch signal %d: %s", sigs[i], strerror(-r)), r;
        }
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning("cannot enable the watchdog: %s", strerror(-r));
        r = sd_event_add_time_relative(m->event, &m->check_timer, CLOCK_MONOTONIC,
                                       CHECK_INTERVAL_USEC, 0, on_check, m);
        if (r < 0)
                return log_error("cannot add the check timer: %s", strerror(-r)), r;
        return 0;
}

/* Each connection is an fd in a worker: take the hard limit, not the 1024
 * soft default (systemd's LimitNOFILE= sets both). */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning("cannot raise the open file limit: %s", strerror(errno));
        }
}

int manager_run(Manager *m) {
        int r;

        log_setup("manager", m->config.log_level);
        raise_fd_limit();
        m->n_slots = manager_wanted_workers(&m->config);
        r = manager_setup_event(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_open_sockets(m);
        if (r < 0)
                return EXIT_FAILURE;
        m->bus = bus_open(m);
        log_info("clusterd %s starting %u worker(s), root %s", CLUSTERD_VERSION, m->n_slots,
                 m->config.root);
        manager_check_mime_types(&m->config);
        sd_notify(false, "STATUS=starting workers");

        for (unsigned i = 0; i < m->n_slots; i++)
                if (manager_spawn(m, i) < 0)
                        slot_after_crash(m, i, 0);
        manager_update(m);

        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        log_info("stopped: %llu requests served, %llu restarts",
                 (unsigned long long) m->requests_retired, (unsigned long long) m->restarts);
        return r;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->children) {
                Child *c = m->children;
                m->children = c->next;
                kill(c->pid, SIGKILL);
                child_free(c);
        }
        for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++)
                sd_event_source_disable_unref(m->slots[i].respawn_timer);
        bus_close(m->bus);
        sd_event_source_disable_unref(m->check_timer);
        sd_event_source_disable_unref(m->reload_check);
        sd_event_source_disable_unref(m->stop_timer);
        sd_event_unref(m->event);
        listen_set_done(&m->listeners);
        config_done(&m->config);
        manager_drop_prev_config(m);
        free(m);
        return NULL;
}
