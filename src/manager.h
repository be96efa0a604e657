/* The manager: the process systemd knows as MainPID. It owns the listening
 * sockets, forks one worker per slot, watches them, replaces the ones that
 * die or hang, rolls through them on reload and drains them on stop. This
 * header is what the rest of clusterd (main.c, bus.c) may ask of it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "child.h"
#include "config.h"

typedef struct Manager Manager;

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_RELOADING,
        MANAGER_DEGRADED,
        MANAGER_STOPPING,
} ManagerState;

/* Builds the manager from a loaded config; the config is moved in. The source
 * (path and overrides) must outlive the manager: reloads read it again. */
int manager_new(Config *take_config, const char *config_path, bool config_required,
                const ConfigOverride *overrides, size_t n_overrides, Manager **ret);

/* Takes or binds the sockets, forks the workers and runs until stopped.
 * Returns the exit status for the process. */
int manager_run(Manager *m);

Manager *manager_free(Manager *m);

/* ---- requests, from signals and the bus: each is recorded and carried out
 * by the manager's dispatch ---- */

/* 0 when the reload is under way or queued; -ESHUTDOWN while stopping. How
 * it ends shows in LastReload and STATUS. */
int manager_reload(Manager *m);
/* The same with the certificate chain and key read from these open files
 * (by root, who can read a key the service cannot): they replace, for this
 * and later reloads, the copies systemd made of the credentials tls.crt and
 * tls.key at start. The names are for messages. -EINVAL for fds that are
 * not regular files, or too large; -EEXIST when the configuration names
 * tls-certificate or tls-key, which a plain reload reads. */
int manager_reload_tls(Manager *m, int cert_fd, const char *cert_name, int key_fd,
                       const char *key_name);
/* -EINVAL for a count out of range, or the error of opening sockets for it. */
int manager_scale(Manager *m, unsigned workers);
/* id is the 1-based worker id; -ENOENT for no such worker. */
int manager_restart_worker(Manager *m, unsigned id);

/* Makes every built-in worker that writes an access log file reopen it, as
 * logrotate's postrotate asks (SIGUSR1, ReopenLogs). Application workers
 * are not told. Returns how many workers will be. */
unsigned manager_reopen_logs(Manager *m);

/* Sends a line to application worker id's message channel, or to every
 * application worker for id 0. -ENOENT: no such worker; -EOPNOTSUPP: it
 * runs the built-in server; -EINVAL: a newline in the text or too long;
 * -ENOBUFS: the worker does not read what it was sent. */
int manager_send_message(Manager *m, unsigned id, const char *text);

/* ---- queries ---- */

typedef struct ManagerInfo {
        ManagerState state;
        unsigned workers_serving;
        unsigned workers_wanted;
        unsigned connections;
        uint64_t requests; /* every worker's, those that have exited included */
        uint64_t restarts;
        uint64_t started_realtime_usec;
        const char *last_reload;     /* how the last reload ended, "" before any */
        uint64_t tls_not_after_usec; /* the served certificate's expiry; 0: no HTTPS */
} ManagerInfo;

void manager_info(const Manager *m, ManagerInfo *ret);

/* One worker process. */
typedef struct WorkerInfo {
        unsigned id;
        pid_t pid;
        ChildState state;
        uint64_t requests;
        uint64_t bytes_sent;
        uint32_t connections;
        uint64_t rss_bytes;
        uint64_t started_realtime_usec;
        uint64_t restarts;  /* of its worker id */
        const char *status; /* an application worker's STATUS=, "" if none */
        bool application;   /* the user's program, not the built-in server */
} WorkerInfo;

/* Every worker process, by id, the older first while an id is replaced.
 * Returns how many there are; fills at most max. */
size_t manager_list_workers(const Manager *m, WorkerInfo *ret, size_t max);

/* The process that worker id stands for: its current one, else one still
 * serving or draining. -ENOENT when the id has none. */
int manager_worker_info(const Manager *m, unsigned id, WorkerInfo *ret);

/* How many processes worker id has, not counting pid `except`. */
unsigned manager_worker_processes(const Manager *m, unsigned id, pid_t except);

/* Why the last reload was refused, or NULL. */
const char *manager_reload_error(const Manager *m);

/* The addresses listened on, one per group of sockets. */
size_t manager_listen_addresses(const Manager *m, const char **ret, size_t max);

const char *manager_state_name(ManagerState s);
