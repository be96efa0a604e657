/* The manager: the process systemd knows as MainPID. It owns the listening
 * sockets, forks one worker per slot, watches them over IPC, replaces the ones
 * that die or hang, rolls through them on reload and drains them on stop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "ipc.h"
#include "listen.h"

typedef struct Bus Bus;
typedef struct Manager Manager;

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_RELOADING,
        MANAGER_DEGRADED,
        MANAGER_STOPPING,
} ManagerState;

typedef enum ChildState {
        CHILD_STARTING, /* forked, not yet serving */
        CHILD_SERVING,
        CHILD_DRAINING, /* told to finish and exit */
} ChildState;

/* One worker process as the manager sees it. */
typedef struct Child {
        Manager *manager;
        unsigned slot; /* 0-based; the worker id shown to operators is slot + 1 */
        pid_t pid;
        int fd; /* manager's end of the socketpair */
        sd_event_source *io_source, *exit_source;
        ChildState state;
        uint64_t started_usec; /* CLOCK_MONOTONIC */
        uint64_t started_realtime_usec;
        uint64_t ready_usec;
        uint64_t last_seen_usec;
        IpcHeartbeat counters;
        int listen_fds[LISTEN_MAX_PER_WORKER];
        size_t n_listen_fds;
        const char *kill_reason; /* set when the manager killed it */
        unsigned config_gen;     /* the manager's config_gen when it was spawned */
        struct Child *next;
} Child;

/* A worker position. Its current child is replaced, never duplicated, except
 * while a replacement starts up next to the one it replaces. */
typedef struct Slot {
        Child *current;
        unsigned crashes;         /* consecutive */
        unsigned reload_failures; /* failed starts since the running reload began */
        uint64_t restarts;
        uint64_t backoff_usec; /* delay of the pending respawn, 0 if none */
        sd_event_source *respawn_timer;
        bool roll_pending; /* to be replaced by the rolling restart */
} Slot;

struct Manager {
        Config config;
        unsigned config_gen;  /* which config: bumped each time a reload applies one */
        unsigned config_gens; /* the highest config_gen given out */
        /* while a reload rolls: the config it replaced, to go back to if the
         * new workers do not start */
        Config prev_config;
        bool has_prev_config;
        unsigned prev_config_gen, prev_slots;
        const char *config_path;
        bool config_required;
        const ConfigOverride *overrides;
        size_t n_overrides;

        sd_event *event;
        sd_event_source *check_timer;
        sd_event_source *reload_check; /* deferred manager_reload_check_done() */
        sd_event_source *stop_timer;
        ListenSet listeners;
        Bus *bus;

        Slot slots[CONFIG_MAX_WORKERS];
        unsigned n_slots; /* workers wanted */
        Child *children;  /* every live worker process */
        int rolling_slot; /* slot being replaced by the rolling restart, or -1 */

        ManagerState state;
        bool reload_queued;
        int exit_status;

        uint64_t requests_retired; /* counted by workers that have exited */
        uint64_t restarts;
        uint64_t started_realtime_usec;
        char status[256];
        char reload_error[CONFIG_ERROR_MAX]; /* why the last reload was refused */
        unsigned roll_failures;              /* failed starts of the slot being rolled, this step */
        unsigned reloads;                    /* reloads begun or refused, numbering: */
        char reload_note[96]; /* how the last one ended, for STATUS ("reload 3 failed: ...") */
};

/* Builds the manager from a loaded config; the config is moved in. The source
 * (path and overrides) must outlive the manager: reloads read it again. */
int manager_new(Config *take_config, const char *config_path, bool config_required,
                const ConfigOverride *overrides, size_t n_overrides, Manager **ret);

/* Takes or binds the sockets, forks the workers and runs until stopped.
 * Returns the exit status for the process. */
int manager_run(Manager *m);

Manager *manager_free(Manager *m);

/* Operations shared by signals and the bus. */
int manager_reload(Manager *m);
int manager_scale(Manager *m, unsigned workers);
int manager_restart_worker(Manager *m, unsigned slot);

unsigned manager_workers_serving(const Manager *m);
unsigned manager_connections(const Manager *m);
uint64_t manager_requests_total(const Manager *m);
const char *manager_state_name(ManagerState s);
const char *child_state_name(ChildState s);
