/* Supervision of the worker processes, slot by slot: what happens when a
 * worker becomes ready or exits (recorded in its slot, for the dispatch),
 * spawning, handing a slot over to its replacement, filling the slots, and
 * killing what is overdue by its own settings. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "manager-internal.h"
#include "worker-seccomp.h"
#include "worker.h"

static void manager_on_child_ready(Child *c, void *userdata) {
        Manager *m = userdata;
        Slot *slot = manager_slot(m, c->id);

        if (slot && (slot->current == c || slot->replacement == c))
                slot_ready(slot);
        bus_emit_manager_changed(m->bus);
        manager_schedule(m);
}

static void manager_unlink_child(Manager *m, Child *c) {
        for (Child **p = &m->children; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
}

/* Logs how a worker ended, and for one the slot needs, what happens next. */
static void log_child_exit(const Child *c, const Slot *slot, const char *how) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        const char *killed = c->kill_reason ? ", killed as " : "";
        const char *reason = c->kill_reason ?: "";

        if (!slot)
                log_warning("worker %u pid %d %s%s%s", c->id, (int) c->pid, how, killed, reason);
        else if (slot->last_loss == SLOT_LOSS_DIED_SERVING)
                log_warning("worker %u pid %d %s%s%s after serving %.1fs; replacing it at once",
                            c->id, (int) c->pid, how, killed, reason,
                            (double) (now - c->ready_usec) / USEC_PER_SEC);
        else if (slot->backoff_usec == 0)
                log_warning("worker %u pid %d %s%s%s before it was ready: %u failed start%s in "
                            "a row, retrying at once",
                            c->id, (int) c->pid, how, killed, reason, slot->failed_starts,
                            slot->failed_starts == 1 ? "" : "s");
        else
                log_warning("worker %u pid %d %s%s%s before it was ready: %u failed start%s in "
                            "a row, retrying in %.1fs",
                            c->id, (int) c->pid, how, killed, reason, slot->failed_starts,
                            slot->failed_starts == 1 ? "" : "s",
                            (double) slot->backoff_usec / USEC_PER_SEC);
}

/* A worker its seccomp filter trapped noted the call in its scoreboard entry
 * before it died of SIGSYS: "seccomp (syscall socket)". false for any other
 * end, a SIGSYS sent from outside included. Reads the entry: call it before
 * the entry is retired. */
static bool seccomp_reason(const Manager *m, const Child *c, const siginfo_t *si, char *buf,
                           size_t size) {
        char name[32];
        int32_t nr;

        if (si->si_code == CLD_EXITED || si->si_status != SIGSYS)
                return false;
        nr = scoreboard_read_denied_syscall(m->scoreboard, c->score_index);
        if (nr < 0)
                return false;
        worker_seccomp_syscall_name(nr, name, sizeof name);
        snprintf(buf, size, "seccomp (syscall %s)", name);
        return true;
}

/* The reason WorkerExited carries. */
static const char *exit_reason(const Child *c, const siginfo_t *si, bool drained,
                               const char *seccomp) {
        if (drained && si->si_status == 0)
                return "drained";
        if (drained && si->si_status == WORKER_EXIT_DRAIN_CUT)
                return "drain timeout";
        if (c->kill_reason)
                return c->kill_reason;
        if (seccomp)
                return seccomp;
        return si->si_code == CLD_EXITED ? "exited" : "killed";
}

static void manager_on_child_exit(Child *c, const siginfo_t *si, void *userdata) {
        Manager *m = userdata;
        Slot *slot = manager_slot(m, c->id);
        bool owned = slot && (slot->current == c || slot->replacement == c);
        bool drained = c->state == CHILD_DRAINING && si->si_code == CLD_EXITED && !c->kill_reason;
        char how[96], denied[64];
        bool trapped = seccomp_reason(m, c, si, denied, sizeof denied);
        int status;

        scoreboard_retire(m->scoreboard, c->score_index, NULL);
        child_describe_exit(si, how, sizeof how, &status);
        if (trapped)
                snprintf(how, sizeof how, "killed by %s", denied);
        if (owned && m->state != MANAGER_STOPPING) {
                if (slot->current == c)
                        slot->current = NULL;
                else
                        slot->replacement = NULL;
                slot_lost(slot, c->ready_usec != 0, now_usec(CLOCK_MONOTONIC),
                          m->config->config.restart_backoff_max_usec);
                /* a replacement that hung at start will hang again: the
                 * roll fails now, not after crash-loop-limit such waits */
                if (c->start_timed_out && m->rolling_slot == (int) (c->id - 1) &&
                    slot->failed_starts < m->config->config.crash_loop_limit)
                        slot->failed_starts = m->config->config.crash_loop_limit;
                m->restarts++;
                scoreboard_count_restart(m->scoreboard, c->id);
                log_child_exit(c, slot, how);
        } else if (drained && si->si_status == 0)
                log_info("worker %u pid %d drained and exited", c->id, (int) c->pid);
        else if (drained && si->si_status == WORKER_EXIT_DRAIN_CUT)
                log_warning("worker %u pid %d exited at the drain timeout, ending the requests "
                            "still open",
                            c->id, (int) c->pid);
        else
                log_child_exit(c, NULL, how);

        /* before the unlink: the worker's bus object must still resolve */
        bus_emit_worker_exited(m->bus, c->id, c->pid,
                               exit_reason(c, si, drained, trapped ? denied : NULL), status);
        if (slot && slot->current == c)
                slot->current = NULL; /* while stopping */
        if (slot && slot->replacement == c)
                slot->replacement = NULL;
        manager_unlink_child(m, c);
        child_free(c);
        bus_emit_manager_changed(m->bus);
        manager_schedule(m);
}

static void manager_on_child_message(Child *c, const char *line, void *userdata) {
        Manager *m = userdata;

        log_info("worker %u pid %d: %s", c->id, (int) c->pid, line);
        bus_emit_worker_message(m->bus, c->id, c->pid, line);
}

static const ChildEvents child_events = {
        .ready = manager_on_child_ready,
        .exited = manager_on_child_exit,
        .message = manager_on_child_message,
};

int manager_spawn(Manager *m, Slot *slot, bool replacement) {
        int fds[LISTEN_MAX_PER_WORKER];
        const char *names[LISTEN_MAX_PER_WORKER];
        unsigned index;
        size_t n_fds;
        Child *c;
        int r;

        n_fds = listen_for_slot(&m->listeners, slot->id - 1, m->n_slots, fds, ELEMENTSOF(fds));
        if (n_fds > ELEMENTSOF(fds)) {
                /* connections hashed to the others would wait unanswered */
                log_warning("worker %u: serves only %zu of its %zu sockets; use fewer sockets "
                            "or more workers",
                            slot->id, ELEMENTSOF(fds), n_fds);
                n_fds = ELEMENTSOF(fds);
        }
        for (size_t i = 0; i < n_fds; i++)
                names[i] = listen_name_of(&m->listeners, fds[i]);
        r = scoreboard_claim(m->scoreboard, slot->id, &index);
        if (r >= 0) {
                ChildSpawn p = {
                        .id = slot->id,
                        .serial = ++m->serials,
                        .settings = m->config,
                        .listen_fds = fds,
                        .n_listen_fds = n_fds,
                        .scoreboard = m->scoreboard,
                        .score_index = index,
                        .listen_names = names,
                        .notify_socket = m->notify_fd >= 0 ? m->notify_addr : NULL,
                        .workers = m->n_slots,
                };
                r = child_spawn(m->event, &p, &child_events, m, &c);
                if (r < 0)
                        scoreboard_retire(m->scoreboard, index, NULL);
        }
        if (r < 0) {
                slot_lost(slot, false, now_usec(CLOCK_MONOTONIC),
                          m->config->config.restart_backoff_max_usec);
                log_error("worker %u: cannot start a worker process: %s; %u failed start%s in "
                          "a row, retrying in %.1fs",
                          slot->id, strerror(-r), slot->failed_starts,
                          slot->failed_starts == 1 ? "" : "s",
                          (double) slot->backoff_usec / USEC_PER_SEC);
                manager_schedule(m);
                return r;
        }
        scoreboard_set_pid(m->scoreboard, index, c->pid);
        c->reopens_sent = m->reopens; /* it opens its log afresh */
        c->next = m->children;
        m->children = c;
        if (replacement)
                slot->replacement = c;
        else
                slot->current = c;
        log_info("worker %u pid %d started", c->id, (int) c->pid);
        bus_emit_worker_started(m->bus, c->id, c->pid);
        return 0;
}

/* A replacement that serves takes its slot over; the one it replaces drains. */
static void supervise_promote(Slot *slot) {
        Child *old = slot->current;

        if (!slot->replacement || slot->replacement->state != CHILD_SERVING)
                return;
        slot->current = TAKE_PTR(slot->replacement);
        if (!old)
                return;
        log_info("worker %u pid %d replaced by pid %d, draining it", old->id, (int) old->pid,
                 (int) slot->current->pid);
        child_drain(old);
}

/* Every slot gets a worker, once its backoff allows; workers no slot owns
 * (their slot was scaled away, or they were replaced while they started)
 * drain. Arms the wake timer for the next respawn that has to wait. */
void manager_fill_slots(Manager *m, uint64_t now) {
        uint64_t wake = 0;

        for (Child *c = m->children; c; c = c->next) {
                Slot *slot = manager_slot(m, c->id);
                if (c->state != CHILD_DRAINING &&
                    (!slot || (slot->current != c && slot->replacement != c)))
                        child_drain(c);
        }
        for (unsigned i = 0; i < m->n_slots; i++) {
                Slot *slot = &m->slots[i];

                supervise_promote(slot);
                if (slot->current || slot->replacement)
                        continue;
                if (slot_spawn_due(slot, now))
                        (void) manager_spawn(m, slot, false);
                else if (!wake || slot->respawn_at_usec < wake)
                        wake = slot->respawn_at_usec;
        }
        if (m->rolling_slot >= 0) {
                const Slot *slot = &m->slots[m->rolling_slot];
                if (slot->current && !slot->replacement && !slot_spawn_due(slot, now) &&
                    (!wake || slot->respawn_at_usec < wake))
                        wake = slot->respawn_at_usec;
        }
        /* should the timer fail, the periodic check takes its place */
        if (wake && (sd_event_source_set_time(m->wake_timer, wake) < 0 ||
                     sd_event_source_set_enabled(m->wake_timer, SD_EVENT_ONESHOT) < 0))
                log_warning("cannot arm the respawn timer; respawning within %llums",
                            (unsigned long long) (CHECK_INTERVAL_USEC / USEC_PER_MSEC));
}

/* Kills the workers that are overdue by their own settings. */
void manager_kill_overdue(Manager *m, uint64_t now) {
        for (Child *c = m->children; c; c = c->next) {
                const char *why = child_overdue(c, now);
                if (!why)
                        continue;
                if (strcmp(why, "hung") == 0)
                        log_error("worker %u pid %d: no %s for %.1fs, killing it as hung", c->id,
                                  (int) c->pid, c->kind == CHILD_EXEC ? "WATCHDOG=1" : "heartbeat",
                                  (double) (now - c->last_seen_usec) / USEC_PER_SEC);
                else if (strcmp(why, "not ready in time") == 0) {
                        log_error("worker %u pid %d: not ready %.1fs after it started, killing it",
                                  c->id, (int) c->pid,
                                  (double) (now - c->started_usec) / USEC_PER_SEC);
                        c->start_timed_out = true;
                } else
                        log_warning("worker %u pid %d still running after its drain timeout, "
                                    "killing it",
                                    c->id, (int) c->pid);
                child_kill(c, why);
        }
}

/* ---- the notify socket of application workers ---- */

static Child *manager_child_by_pid(Manager *m, pid_t pid) {
        for (Child *c = m->children; c; c = c->next)
                if (c->pid == pid)
                        return c;
        return NULL;
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        char buf[NOTIFY_DATAGRAM_MAX + 1];

        for (unsigned i = 0; i < 64; i++) {
                NotifyMessage msg;
                size_t len;
                pid_t pid;
                Child *c;
                int r = notify_receive(fd, buf, sizeof buf, &len, &pid);

                if (r == -EAGAIN)
                        break;
                if (r < 0) {
                        log_warning("notify socket: dropped a datagram: %s",
                                    r == -EMSGSIZE ? "larger than 4096 bytes"
                                    : r == -EPERM  ? "no sender credentials"
                                                   : strerror(-r));
                        continue;
                }
                c = manager_child_by_pid(m, pid);
                if (!c || c->kind != CHILD_EXEC) {
                        /* a worker's own children, or a stranger: as systemd's
                         * NotifyAccess=main, only the worker's pid counts */
                        if (pid != m->notify_stray)
                                log_warning("notify socket: dropped a message from pid %d, which "
                                            "is no worker",
                                            (int) pid);
                        m->notify_stray = pid;
                        continue;
                }
                if (notify_parse(buf, len, &msg) < 0) {
                        log_warning("worker %u pid %d: dropped a notify message with a NUL byte",
                                    c->id, (int) c->pid);
                        continue;
                }
                child_notify(c, &msg);
        }
        manager_schedule(m);
        return 0;
}

int manager_open_notify(Manager *m) {
        int r = notify_socket_open(&m->notify_fd, m->notify_addr, sizeof m->notify_addr);

        if (r >= 0)
                r = sd_event_add_io(m->event, &m->notify_source, m->notify_fd, EPOLLIN, on_notify,
                                    m);
        if (r < 0)
                log_error("cannot open the notify socket for application workers: %s",
                          strerror(-r));
        return r;
}
