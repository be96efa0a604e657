/* The manager: state, the one dispatch, STATUS, stop, signals, and the event loop.
 *
 * Event handlers (a child became ready or exited, a signal, a bus call, a
 * timer) only record what happened and schedule manager_dispatch(). The
 * dispatch compares what is wanted with what is, and takes the next steps:
 * kill what is overdue, drain what is no longer wanted, fill the slots, move
 * the rolling restart on, decide whether to give up, and tell systemd. */
#include "manager.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "manager-internal.h"
#include "rollout.h"
#include "signals.h"

const char *manager_state_name(ManagerState s) {
        static const char *const names[] = {
                [MANAGER_STARTING] = "starting",   [MANAGER_RUNNING] = "running",
                [MANAGER_RELOADING] = "reloading", [MANAGER_DEGRADED] = "degraded",
                [MANAGER_STOPPING] = "stopping",
        };
        return names[s];
}

Slot *manager_slot(Manager *m, unsigned id) {
        return id >= 1 && id <= m->n_slots ? &m->slots[id - 1] : NULL;
}

bool slot_serves(const Slot *s) {
        return s->current && s->current->state == CHILD_SERVING;
}

static unsigned manager_workers_serving(const Manager *m) {
        unsigned n = 0;

        for (unsigned i = 0; i < m->n_slots; i++)
                n += slot_serves(&m->slots[i]);
        return n;
}

void manager_schedule(Manager *m) {
        (void) sd_event_source_set_enabled(m->dispatch, SD_EVENT_ONESHOT);
}

void manager_set_state(Manager *m, ManagerState s) {
        if (m->state == s)
                return;
        log_debug("state %s -> %s", manager_state_name(m->state), manager_state_name(s));
        m->state = s;
}

/* ---- STATUS ---- */

/* What keeps the first slot that does not serve from serving. */
static size_t status_degraded(const Manager *m, char *buf, size_t size) {
        for (unsigned i = 0; i < m->n_slots; i++) {
                const Slot *s = &m->slots[i];
                if (slot_serves(s))
                        continue;
                if (s->last_loss == SLOT_LOSS_FAILED_START && s->failed_starts > 0)
                        return (size_t) snprintf(buf, size,
                                                 "; degraded: worker %u failed to start, %u "
                                                 "time%s in a row, next try in %.1fs",
                                                 s->id, s->failed_starts,
                                                 s->failed_starts == 1 ? "" : "s",
                                                 (double) s->backoff_usec / USEC_PER_SEC);
                if (s->last_loss == SLOT_LOSS_DIED_SERVING)
                        return (size_t) snprintf(buf, size,
                                                 "; degraded: worker %u died, its replacement "
                                                 "is starting",
                                                 s->id);
                return (size_t) snprintf(buf, size, "; degraded: worker %u is starting", s->id);
        }
        return 0;
}

void manager_update_status(Manager *m) {
        char status[sizeof m->status];
        ManagerInfo info;
        size_t n;

        manager_info(m, &info);
        /* application workers count their requests themselves, if at all */
        if (m->config->config.exec)
                n = (size_t) snprintf(status, sizeof status, "%u/%u workers, %llu restarts",
                                      info.workers_serving, info.workers_wanted,
                                      (unsigned long long) info.restarts);
        else
                n = (size_t) snprintf(
                        status, sizeof status, "%u/%u workers, %llu requests, %llu restarts",
                        info.workers_serving, info.workers_wanted,
                        (unsigned long long) info.requests, (unsigned long long) info.restarts);
        if (m->state == MANAGER_STOPPING) {
                unsigned left = 0;
                for (const Child *c = m->children; c; c = c->next)
                        left++;
                n += (size_t) snprintf(status + n, sizeof status - n,
                                       "; stopping, %u worker(s) draining", left);
        } else if (m->state == MANAGER_RELOADING && m->rolling_slot >= 0)
                n += (size_t) snprintf(status + n, sizeof status - n, "; reloading (worker %u)",
                                       m->slots[m->rolling_slot].id);
        else if (m->state == MANAGER_RELOADING)
                n += (size_t) snprintf(status + n, sizeof status - n, "; reloading");
        else if (m->state != MANAGER_STARTING)
                n += status_degraded(m, status + n, sizeof status - n);
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

/* ---- stop ---- */

static void manager_stop_begin(Manager *m) {
        uint64_t longest = 0;

        log_info("%s: stopping, draining %s", m->stop_requested,
                 m->children ? "the workers" : "nothing");
        manager_set_state(m, MANAGER_STOPPING);
        for (const Child *c = m->children; c; c = c->next)
                if (c->settings->config.drain_timeout_usec > longest)
                        longest = c->settings->config.drain_timeout_usec;
        sd_notifyf(false, "STOPPING=1\nEXTEND_TIMEOUT_USEC=%llu",
                   (unsigned long long) (longest + 5 * USEC_PER_SEC));
        m->rolling_slot = -1;
        for (Child *c = m->children; c; c = c->next)
                if (c->state == CHILD_STARTING)
                        child_kill(c, "stopping");
                else
                        child_drain(c);
}

/* When every slot's workers failed to start crash-loop-limit times in a row
 * and none serves, trying more is pointless: exit, so that the service
 * manager restarts clusterd or an operator looks. */
static bool manager_give_up(Manager *m) {
        unsigned limit = m->config->config.crash_loop_limit;

        for (unsigned i = 0; i < m->n_slots; i++)
                if (!slot_failing(&m->slots[i], limit) || slot_serves(&m->slots[i]))
                        return false;
        log_error("giving up: every worker failed to start %u times in a row; exiting so that "
                  "the service manager can restart clusterd",
                  limit);
        m->exit_status = EXIT_FAILURE;
        m->stop_requested = "giving up";
        manager_set_state(m, MANAGER_STOPPING);
        sd_notify(false, "STOPPING=1");
        for (Child *c = m->children; c; c = c->next)
                child_kill(c, "giving up");
        return true;
}

/* running/degraded after any change, and READY=1 the first time every
 * slot serves */
static void manager_update_state(Manager *m) {
        unsigned serving = manager_workers_serving(m);

        if (m->state == MANAGER_STARTING && serving == m->n_slots) {
                manager_set_state(m, MANAGER_RUNNING);
                log_info("all %u workers serving", m->n_slots);
                manager_update_status(m);
                sd_notify(false, "READY=1");
        } else if (m->state == MANAGER_RUNNING && serving < m->n_slots && m->rolling_slot < 0)
                manager_set_state(m, MANAGER_DEGRADED);
        else if (m->state == MANAGER_DEGRADED && serving == m->n_slots)
                manager_set_state(m, MANAGER_RUNNING);
}

static void manager_publish(Manager *m) {
        ScoreManager s = {
                .restarts = m->restarts,
                .reloads = m->reloads,
                .reloads_failed = m->reloads_failed,
                .workers_wanted = m->n_slots,
                .workers_serving = manager_workers_serving(m),
        };
        scoreboard_set_manager(m->scoreboard, &s);
}

/* Tells each worker that writes a log file of the reopens asked since it
 * was last told, draining ones too: they write lines until they exit. One
 * whose channel is full now hears at a later dispatch (the check timer's at
 * the latest); one that is going away is left to its exit. */
static void manager_send_reopens(Manager *m) {
        for (Child *c = m->children; c; c = c->next) {
                if (c->reopens_sent == m->reopens)
                        continue;
                int r = child_reopen_log(c);
                if (r == -EAGAIN)
                        continue;
                if (r < 0 && r != -EPIPE && r != -ECONNRESET)
                        log_warning("worker %u pid %d: cannot tell it to reopen its access log: "
                                    "%s",
                                    c->id, (int) c->pid, strerror(-r));
                c->reopens_sent = m->reopens;
        }
}

static void manager_dispatch(Manager *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        manager_kill_overdue(m, now);
        manager_send_reopens(m);
        if (m->stop_requested && m->state != MANAGER_STOPPING)
                manager_stop_begin(m);
        if (m->state == MANAGER_STOPPING) {
                if (!m->children)
                        sd_event_exit(m->event, m->exit_status);
                goto out;
        }
        if (m->reload_requested && (m->state == MANAGER_RUNNING || m->state == MANAGER_DEGRADED))
                (void) rollout_begin_reload(m);
        manager_fill_slots(m, now);
        rollout_step(m, now);
        manager_warn_tls_expiry(m, false);
        if (manager_give_up(m))
                goto out;
        manager_update_state(m);
out:
        manager_update_status(m);
        manager_publish(m);
        bus_emit_manager_changed(m->bus);
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        manager_dispatch(userdata);
        return 0;
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_dispatch(userdata);
        return 0;
}

/* Hung workers, drain deadlines, STATUS, and a safety net for anything a
 * timer that could not be armed would have missed. */
static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        manager_dispatch(m);
        if (sd_event_source_set_time(s, usec + CHECK_INTERVAL_USEC) < 0 ||
            sd_event_source_set_enabled(s, SD_EVENT_ON) < 0) {
                log_error("cannot re-arm the check timer: nothing would catch a hung worker; "
                          "exiting");
                sd_event_exit(m->event, EXIT_FAILURE);
        }
        return 0;
}

/* ---- requests ---- */

int manager_reload(Manager *m) {
        if (m->state == MANAGER_STOPPING || m->stop_requested)
                return -ESHUTDOWN;
        if (m->state != MANAGER_RUNNING && m->state != MANAGER_DEGRADED) {
                m->reload_requested = true; /* after the start, or the reload under way */
                return 0;
        }
        return rollout_begin_reload(m);
}

int manager_reload_tls(Manager *m, int cert_fd, const char *cert_name, int key_fd,
                       const char *key_name) {
        TlsMaterial t = {};
        int r;

        if (m->state == MANAGER_STOPPING || m->stop_requested)
                return -ESHUTDOWN;
        /* the files of the configuration are read by every reload */
        if (m->config->config.tls_certificate || m->config->config.tls_key)
                return -EEXIST;
        r = tls_pem_read_fd(cert_fd, &t.cert);
        if (r >= 0)
                r = tls_pem_read_fd(key_fd, &t.key);
        if (r >= 0) {
                t.cert_path = strdup(cert_name);
                t.key_path = strdup(key_name);
                if (!t.cert_path || !t.key_path)
                        r = -ENOMEM;
        }
        if (r < 0) {
                tls_material_done(&t);
                return r == -EISDIR || r == -EFBIG ? -EINVAL : r;
        }
        /* checked by the reload, like the files it would read */
        tls_material_done(&m->tls_pending);
        m->tls_pending = t;
        log_info("reloading with the certificate %s and key %s passed by the reload helper",
                 cert_name, key_name);
        return manager_reload(m);
}

int manager_scale(Manager *m, unsigned workers) {
        int r;

        if (m->state == MANAGER_STOPPING || m->stop_requested)
                return -ESHUTDOWN;
        if (workers < 1 || workers > CONFIG_MAX_WORKERS)
                return -EINVAL;
        r = listen_grow(&m->listeners, workers);
        if (r < 0) {
                log_error("cannot open sockets for %u workers: %s", workers, strerror(-r));
                return r;
        }
        rollout_resize(m, workers);
        if (m->prev_config)
                m->prev_slots = workers; /* a reload that fails keeps this count */
        manager_schedule(m);
        return 0;
}

int manager_restart_worker(Manager *m, unsigned id) {
        if (m->state == MANAGER_STOPPING || m->stop_requested)
                return -ESHUTDOWN;
        if (!manager_slot(m, id))
                return -ENOENT;
        log_info("restarting worker %u on request", id);
        rollout_mark(m, id - 1);
        manager_schedule(m);
        return 0;
}

unsigned manager_reopen_logs(Manager *m) {
        unsigned n = 0;

        m->reopens++;
        for (const Child *c = m->children; c; c = c->next)
                n += child_logs_to_file(c);
        manager_schedule(m);
        return n;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        int sig = (int) si->ssi_signo;

        switch (sig) {
        case SIGHUP:
                log_info("SIGHUP: reloading");
                (void) manager_reload(m);
                break;
        case SIGTERM:
        case SIGINT:
        case SIGQUIT:
                m->stop_requested = sig == SIGINT    ? "SIGINT"
                                    : sig == SIGQUIT ? "SIGQUIT"
                                                     : "SIGTERM";
                break;
        case SIGUSR1: {
                unsigned n = manager_reopen_logs(m);
                if (n)
                        log_info("SIGUSR1: reopening the access log in %u worker(s)", n);
                else
                        log_info("SIGUSR1: no log file to reopen");
                break;
        }
        default:
                log_notice("ignoring SIG%s from pid %u", sigabbrev_np(sig) ?: "?",
                           (unsigned) si->ssi_pid);
        }
        manager_schedule(m);
        return 0;
}

/* ---- setup ---- */

static int manager_setup_event(Manager *m) {
        /* the signals the manager acts on, or logs; the others are ignored */
        static const int sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
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
        signals_ignore_stray(sigs, ELEMENTSOF(sigs));
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(m->event, NULL, sigs[i], on_signal, m);
                if (r < 0)
                        return log_error("cannot watch signal %d: %s", sigs[i], strerror(-r)), r;
        }
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning("cannot enable the watchdog: %s", strerror(-r));
        r = sd_event_add_defer(m->event, &m->dispatch, on_dispatch, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->dispatch, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->wake_timer, CLOCK_MONOTONIC, 0, 0, on_wake, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->wake_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->check_timer, CLOCK_MONOTONIC,
                                               CHECK_INTERVAL_USEC, 0, on_check, m);
        if (r < 0)
                return log_error("cannot set up the manager's event sources: %s", strerror(-r)), r;
        return 0;
}

int manager_new(Config *take_config, const char *config_path, bool config_required,
                const ConfigOverride *overrides, size_t n_overrides, Manager **ret) {
        _cleanup_free_ Manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        r = config_ref_new(take_config, 1, &m->config);
        if (r < 0)
                return r;
        r = scoreboard_new(&m->scoreboard);
        if (r < 0) {
                config_unref(m->config);
                return r;
        }
        m->config_gens = 1;
        m->config_path = config_path;
        m->config_required = config_required;
        m->overrides = overrides;
        m->n_overrides = n_overrides;
        m->rolling_slot = -1;
        m->notify_fd = -1;
        m->state = MANAGER_STARTING;
        m->started_realtime_usec = now_usec(CLOCK_REALTIME);
        *ret = TAKE_PTR(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        log_setup("manager", m->config->config.log_level);
        manager_raise_fd_limit();
        m->n_slots = manager_wanted_workers(&m->config->config);
        for (unsigned i = 0; i < m->n_slots; i++)
                slot_init(&m->slots[i], i + 1);
        r = manager_setup_event(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_open_sockets(m);
        if (r < 0)
                return EXIT_FAILURE;
        /* always, so that a reload can switch to application workers */
        r = manager_open_notify(m);
        if (r < 0)
                return EXIT_FAILURE;
        m->bus = bus_open(m, m->event, m->config->config.bus_name);
        if (m->config->config.exec)
                log_info("clusterd %s starting %u worker(s) running %s", CLUSTERD_VERSION,
                         m->n_slots, m->config->config.exec_path);
        else
                log_info("clusterd %s starting %u worker(s), root %s", CLUSTERD_VERSION, m->n_slots,
                         m->config->config.root);
        manager_check_config(&m->config->config);
        {
                char err[CONFIG_ERROR_MAX] = "";
                r = manager_check_tls(m, &m->config->config, err);
                if (r < 0) {
                        log_error("%s", err);
                        return EXIT_FAILURE;
                }
        }
        manager_warn_tls_expiry(m, true);
        sd_notify(false, "STATUS=starting workers");
        manager_dispatch(m);

        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        ManagerInfo info;
        manager_info(m, &info);
        log_info("stopped: %llu requests served, %llu restarts", (unsigned long long) info.requests,
                 (unsigned long long) info.restarts);
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
        bus_close(m->bus);
        sd_event_source_disable_unref(m->notify_source);
        safe_close(m->notify_fd);
        sd_event_source_disable_unref(m->dispatch);
        sd_event_source_disable_unref(m->check_timer);
        sd_event_source_disable_unref(m->wake_timer);
        sd_event_unref(m->event);
        listen_set_done(&m->listeners);
        scoreboard_free(m->scoreboard);
        config_unref(m->config);
        config_unref(m->prev_config);
        tls_material_done(&m->tls_pending);
        tls_material_done(&m->tls_passed);
        free(m);
        return NULL;
}
