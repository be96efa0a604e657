/* The manager's state, shared by the files that make up the supervisor
 * (manager.c, rollout.c) and by no one else: bus.c and main.c go through
 * manager.h. */
#pragma once

#include <systemd/sd-event.h>

#include "bus.h"
#include "child.h"
#include "config.h"
#include "listen.h"
#include "macro.h"
#include "manager.h"
#include "scoreboard.h"
#include "slot.h"

struct Manager {
        ConfigRef *config;      /* what new workers start with */
        ConfigRef *prev_config; /* while a reload rolls: what it replaced */
        unsigned prev_slots;    /* and the worker count it had */
        unsigned config_gens;   /* the highest ConfigRef.gen given out */
        const char *config_path;
        bool config_required;
        const ConfigOverride *overrides;
        size_t n_overrides;

        sd_event *event;
        sd_event_source *dispatch; /* deferred manager_dispatch() */
        sd_event_source *check_timer;
        sd_event_source *wake_timer; /* for the next respawn that waits for its backoff */
        ListenSet listeners;
        Scoreboard *scoreboard;
        Bus *bus;
        /* where application workers send sd_notify messages */
        int notify_fd;
        sd_event_source *notify_source;
        char notify_addr[128];
        pid_t notify_stray; /* the last sender that was no worker, logged */

        Slot slots[CONFIG_MAX_WORKERS];
        unsigned n_slots; /* workers wanted */
        Child *children;  /* every live worker process */
        uint64_t serials; /* the last Child.serial given out */
        int rolling_slot; /* slot being replaced by the rolling restart, or -1 */

        ManagerState state;
        bool reload_requested;
        unsigned reopens;           /* SIGUSR1s and ReopenLogs calls: see Child.reopens_sent */
        const char *stop_requested; /* why, once asked */
        int exit_status;

        uint64_t restarts;
        uint64_t reloads;        /* begun or refused, numbering them */
        uint64_t reloads_failed; /* refused, or rolled back */
        uint64_t started_realtime_usec;
        char status[256];
        char reload_error[CONFIG_ERROR_MAX]; /* why the last reload was refused */
        char reload_note[96]; /* how the last one ended, for STATUS ("reload 3 failed: ...") */

        /* HTTPS: the certificate and key the reload helper passed
         * (io.clusterd1 ReloadTls) for the next reload, and those of the
         * last reload that took them: used in place of the copies of the
         * credentials that systemd made at start. And when the expiry was
         * last told. */
        TlsMaterial tls_pending, tls_passed;
        uint64_t tls_warned_usec;
};

/* Runs manager_dispatch() from the event loop, soon. Every event handler
 * records what happened and calls this; nothing else takes a step. */
void manager_schedule(Manager *m);

void manager_set_state(Manager *m, ManagerState s);

/* The slot of worker id, or NULL for an id beyond the workers wanted (one
 * scaled away). */
Slot *manager_slot(Manager *m, unsigned id);

/* Whether the slot's current worker serves. */
bool slot_serves(const Slot *s);

/* Forks a new worker for the slot with the current config, as the slot's
 * current worker, or (replacement) beside it. A failure counts as a failed
 * start of the slot, and is logged. */
int manager_spawn(Manager *m, Slot *slot, bool replacement);

void manager_update_status(Manager *m);

/* Every slot gets a worker once its backoff allows, a serving replacement
 * takes its slot over, and workers no slot owns drain. */
void manager_fill_slots(Manager *m, uint64_t now);

/* Kills the workers that are overdue by their own settings: hung, not
 * ready in time, or past their drain timeout. */
void manager_kill_overdue(Manager *m, uint64_t now);

/* Opens the notify socket application workers report on. */
int manager_open_notify(Manager *m);

#define CHECK_INTERVAL_USEC (250 * USEC_PER_MSEC)

/* Raises the soft open file limit to the hard one: each connection is an
 * fd in a worker. */
void manager_raise_fd_limit(void);

/* Takes the listening sockets from systemd, or binds one per worker for
 * each listen and listen-tls address. Logs what it listens on, or why not. */
int manager_open_sockets(Manager *m);

/* The worker count a config asks for: its own, or the usable CPUs. */
unsigned manager_wanted_workers(const Config *c);

/* Warns of what in a config is allowed but will not work well: a missing
 * MIME table, an fd limit too low for connection-limit. */
void manager_check_config(const Config *c);

/* Whether the workers of config c can serve the sockets: those that speak
 * TLS need a certificate, and a libmicrohttpd with HTTPS. 0, or an error
 * with err saying why. */
int manager_check_tls(const Manager *m, const Config *c, char err[CONFIG_ERROR_MAX]);

/* Logs that the current certificate expires within 14 days, or has: at
 * once when told (start, reload), else at most once a day. */
void manager_warn_tls_expiry(Manager *m, bool now);
