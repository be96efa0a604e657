/* Rolling restarts. One slot at a time is "rolling": a replacement starts
 * beside its worker, and only once the replacement serves does the old one
 * drain (manager.c promotes it). A reload applies its config first, so that
 * every worker spawned from then on, replacement or respawn, runs it; a
 * reload whose workers cannot start is rolled back to the config before. */
#include "rollout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "manager-internal.h"

static bool child_fds_match(const Manager *m, const Child *c) {
        int fds[LISTEN_MAX_PER_WORKER];
        size_t n = listen_for_slot(&m->listeners, c->id - 1, m->n_slots, fds, ELEMENTSOF(fds));

        if (n > ELEMENTSOF(fds))
                n = ELEMENTSOF(fds);
        return n == c->n_listen_fds && memcmp(fds, c->listen_fds, n * sizeof *fds) == 0;
}

void rollout_mark(Manager *m, unsigned i) {
        m->slots[i].roll_pending = true;
        m->slots[i].roll_after = m->serials;
}

/* Marks every slot below all_below, and any whose share of the sockets
 * changed. */
static void rollout_mark_slots(Manager *m, unsigned all_below) {
        for (unsigned i = 0; i < m->n_slots; i++) {
                const Child *c = m->slots[i].current;
                if (i < all_below || (c && !child_fds_match(m, c)))
                        rollout_mark(m, i);
        }
}

void rollout_resize(Manager *m, unsigned workers) {
        unsigned old = m->n_slots;

        if (workers == old)
                return;
        /* logged before the drains and spawns it causes, which log too */
        log_info("scaling from %u to %u workers", old, workers);
        m->n_slots = workers;
        /* slots gone: their workers drain in the dispatch, as orphans */
        for (unsigned i = workers; i < old; i++)
                slot_init(&m->slots[i], i + 1);
        for (unsigned i = old; i < workers; i++)
                slot_init(&m->slots[i], i + 1);
        if (m->rolling_slot >= (int) workers)
                m->rolling_slot = -1;
        rollout_mark_slots(m, 0);
}

int rollout_begin_reload(Manager *m) {
        char err[CONFIG_ERROR_MAX] = "";
        _cleanup_(config_unrefp) ConfigRef *ref = NULL;
        unsigned wanted, old;
        Config c;
        int r;

        m->reload_requested = false;
        m->reloads++;
        r = config_build(&c, m->config_path, m->config_required, m->overrides, m->n_overrides, err);
        if (r >= 0) {
                wanted = manager_wanted_workers(&c);
                r = listen_grow(&m->listeners, wanted);
                if (r < 0)
                        snprintf(err, sizeof err, "cannot open sockets for %u workers: %s", wanted,
                                 strerror(-r));
        }
        if (r >= 0) {
                r = config_ref_new(&c, m->config_gens + 1, &ref);
                if (r < 0)
                        snprintf(err, sizeof err, "out of memory");
        }
        if (r < 0) {
                log_error("reload refused, keeping the running configuration: %s", err);
                memcpy(m->reload_error, err, sizeof m->reload_error);
                snprintf(m->reload_note, sizeof m->reload_note,
                         "reload %llu refused, running configuration kept",
                         (unsigned long long) m->reloads);
                m->reloads_failed++;
                config_done(&c);
                manager_schedule(m);
                return r;
        }
        m->reload_error[0] = 0;
        m->reload_note[0] = 0;
        for (size_t i = 0; i < ref->config.n_listen && !m->listeners.from_systemd; i++)
                if (i >= m->config->config.n_listen ||
                    strcmp(ref->config.listen[i], m->config->config.listen[i]) != 0) {
                        log_warning("reload: listen addresses cannot change while running; "
                                    "restart clusterd to apply them");
                        break;
                }
        if (strcmp(ref->config.bus_name, m->config->config.bus_name) != 0)
                log_warning("reload: bus-name cannot change while running; restart clusterd to "
                            "apply it");
        sd_notify(false, "RELOADING=1");
        log_info("reloading: replacing workers one at a time");
        config_unref(m->prev_config);
        m->prev_config = m->config;
        m->prev_slots = m->n_slots;
        m->config = TAKE_PTR(ref);
        m->config_gens = m->config->gen;
        /* the new config gets a count of its own, and a slot that waits
         * out its backoff tries it at once: the reload may be the fix */
        for (unsigned i = 0; i < m->n_slots; i++) {
                m->slots[i].failed_starts = 0;
                if (!m->slots[i].current && !m->slots[i].replacement)
                        m->slots[i].respawn_at_usec = 0;
        }
        log_setup("manager", m->config->config.log_level);
        manager_check_config(&m->config->config);
        manager_set_state(m, MANAGER_RELOADING);
        /* slots added by the resize start with the new config already; the
         * ones that were there before are replaced, each exactly once */
        old = m->n_slots;
        rollout_resize(m, wanted);
        rollout_mark_slots(m, old < m->n_slots ? old : m->n_slots);
        manager_schedule(m);
        return 0;
}

/* A failed reload leaves the service as it was, as systemd and operators
 * expect of a failed reload: the previous config and worker count come
 * back, and the workers that already run the new config are replaced, one
 * at a time, by workers with the previous one. */
static void rollout_revert(Manager *m) {
        if (!m->prev_config)
                return;
        config_unref(m->config);
        m->config = TAKE_PTR(m->prev_config);
        log_setup("manager", m->config->config.log_level);
        log_warning("reload: back to the previous configuration, %u worker(s)", m->prev_slots);
        rollout_resize(m, m->prev_slots);
        for (unsigned i = 0; i < m->n_slots; i++) {
                Slot *slot = &m->slots[i];
                slot->failed_starts = 0;
                if (slot->current && slot->current->settings != m->config)
                        rollout_mark(m, i);
        }
}

/* Ends the reload, finished or failed: systemd hears READY=1 again, with a
 * STATUS that says how it ended, and a reload asked for meanwhile starts. */
static void rollout_end_reload(Manager *m, const char *failure) {
        if (failure) {
                snprintf(m->reload_note, sizeof m->reload_note, "reload %llu failed: %s",
                         (unsigned long long) m->reloads, failure);
                m->reloads_failed++;
        } else
                snprintf(m->reload_note, sizeof m->reload_note, "reload %llu done",
                         (unsigned long long) m->reloads);
        manager_set_state(m, MANAGER_RUNNING);
        if (failure)
                rollout_revert(m);
        else
                m->prev_config = config_unref(m->prev_config);
        manager_update_status(m); /* STATUS before READY=1 */
        sd_notify(false, "READY=1");
}

/* The slot being rolled failed to start its new worker crash-loop-limit
 * times in a row: the roll (of a reload, Scale or RestartWorker) stops
 * there. The slots not yet replaced keep their workers, and this one its
 * old worker if that still serves. Each failed start is bounded by
 * heartbeat-timeout (a starting worker that stays silent is killed as
 * hung), so with the defaults a roll step fails within about 5 x 10 s plus
 * 0.7 s of backoff: before clusterd-reload's 85 s and systemd's 90 s. */
static void rollout_fail(Manager *m, Slot *slot) {
        bool reloading = m->state == MANAGER_RELOADING;
        char why[64];

        log_error("%s failed: worker %u did not start%s (%u failures in a row); %s, the "
                  "rolling restart stops",
                  reloading ? "reload" : "worker restart", slot->id,
                  reloading ? " with the new configuration" : "", slot->failed_starts,
                  slot_serves(slot) ? "its previous worker keeps serving"
                                    : "it stays down and is retried");
        for (unsigned i = 0; i < m->n_slots; i++)
                m->slots[i].roll_pending = false;
        m->rolling_slot = -1;
        if (slot_serves(slot))
                slot_ready(slot); /* nothing more to start: the old one serves */
        if (reloading) {
                snprintf(why, sizeof why, "worker %u did not start", slot->id);
                rollout_end_reload(m, why);
        }
}

/* A reload is over once no slot waits for its replacement and every slot
 * serves; only then may systemd hear READY=1 again. It has failed when a
 * slot that the roll did not replace itself (one added by a resize, or one
 * that was restarting already) cannot start either. */
static void rollout_check_reload(Manager *m) {
        char why[64];

        if (m->state != MANAGER_RELOADING || m->rolling_slot >= 0)
                return;
        for (unsigned i = 0; i < m->n_slots; i++) {
                const Slot *slot = &m->slots[i];
                if (slot->roll_pending)
                        return;
        }
        for (unsigned i = 0; i < m->n_slots; i++) {
                Slot *slot = &m->slots[i];
                if (slot_serves(slot) && !slot->replacement)
                        continue;
                if (!slot_failing(slot, m->config->config.crash_loop_limit))
                        return; /* still starting */
                log_error("reload failed: worker %u did not start (%u failures in a row)", slot->id,
                          slot->failed_starts);
                snprintf(why, sizeof why, "worker %u did not start", slot->id);
                rollout_end_reload(m, why);
                return;
        }
        log_info("reload finished: %u/%u workers serving", m->n_slots, m->n_slots);
        rollout_end_reload(m, NULL);
}

/* Whether the slot has been replaced since it was marked: its current
 * worker was spawned after that, and serves. */
static bool slot_rolled(const Slot *slot) {
        return slot->current && slot->current->serial > slot->roll_after &&
               slot->current->state == CHILD_SERVING && !slot->replacement;
}

/* Picks the next marked slot to replace. false when none is left. */
static bool rollout_next(Manager *m) {
        for (unsigned i = 0; i < m->n_slots; i++) {
                Slot *slot = &m->slots[i];
                if (!slot->roll_pending)
                        continue;
                slot->roll_pending = false;
                /* one that is down, or was restarted since it was marked,
                 * gets the current config anyway: nothing to replace */
                if (!slot->current || slot->current->serial > slot->roll_after)
                        continue;
                m->rolling_slot = (int) i;
                slot->failed_starts = 0; /* the roll's own count */
                return true;
        }
        return false;
}

void rollout_step(Manager *m, uint64_t now) {
        while (m->rolling_slot >= 0 || rollout_next(m)) {
                Slot *slot = &m->slots[m->rolling_slot];

                if (slot_rolled(slot)) {
                        m->rolling_slot = -1;
                        continue;
                }
                if (slot_failing(slot, m->config->config.crash_loop_limit)) {
                        rollout_fail(m, slot); /* a failed reload marks slots to roll back */
                        continue;
                }
                /* with no current worker, the dispatch fills the slot anew,
                 * with the current config */
                if (slot->current && !slot->replacement && slot_spawn_due(slot, now))
                        (void) manager_spawn(m, slot, true);
                break;
        }
        rollout_check_reload(m);
}
