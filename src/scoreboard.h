/* The scoreboard: a small shared-memory table, mapped before the first fork,
 * where each worker process keeps its own counters and the manager keeps
 * what workers that have exited served. The manager reads it for STATUS and
 * D-Bus without waiting for a heartbeat; any worker reads all of it to answer
 * /metrics the same whichever worker takes the scrape. Its contents are
 * statistics only: nobody trusts them as sizes or indexes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* Room for every slot's current child, a replacement starting beside it and
 * a few draining predecessors. */
#define SCOREBOARD_ENTRIES (4 * CONFIG_MAX_WORKERS)

/* What one worker process counts, written by that process alone. */
typedef struct ScoreCounters {
        uint64_t requests;              /* completed answers */
        uint64_t bytes_sent;            /* bodies queued, approximate */
        uint64_t stalled_closed;        /* connections cut because a request trickled in */
        uint64_t accept_failed;         /* accepts refused for want of fds (EMFILE/ENFILE) */
        uint64_t framing_refused;       /* requests refused with 400 for their framing */
        uint64_t tls_handshakes;        /* TLS connections whose handshake was done */
        uint64_t tls_handshakes_failed; /* closed before their handshake was */
        uint64_t access_log_errors;     /* access log lines lost: a full disk, a write error */
        uint32_t connections;           /* open right now */
        uint32_t draining;
} ScoreCounters;

/* One worker process's line: cache lines of its own (two), so that workers
 * counting on different CPUs never share one. */
typedef struct ScoreEntry {
        ScoreCounters c;        /* the worker's */
        uint32_t used;          /* the manager's: 0 while the entry is free */
        uint32_t worker_id;     /* the manager's */
        uint32_t pid;           /* the manager's, once forked */
        int32_t denied_syscall; /* the worker's seccomp trap: -1, or the call's number */
} __attribute__((aligned(64))) ScoreEntry;

/* What a worker id's past processes served, and how often it was replaced. */
typedef struct ScoreRetired {
        uint64_t requests, bytes_sent, stalled_closed, accept_failed, framing_refused;
        uint64_t tls_handshakes, tls_handshakes_failed;
        uint64_t access_log_errors;
        uint64_t restarts;
} ScoreRetired;

/* The manager's own figures, for /metrics. */
typedef struct ScoreManager {
        uint64_t restarts;
        uint64_t reloads;
        uint64_t reloads_failed;
        uint32_t workers_wanted;
        uint32_t workers_serving;
} ScoreManager;

typedef struct Scoreboard Scoreboard;

/* Maps a fresh, zeroed scoreboard, shared with every process forked later. */
int scoreboard_new(Scoreboard **ret);
void scoreboard_free(Scoreboard *sb);

/* ---- the manager's side; each change is made under the sequence count, so
 * that a reader never sees a worker's requests both retired and live ---- */

/* Takes a free entry for a new worker process. -ENOSPC when none is free. */
int scoreboard_claim(Scoreboard *sb, unsigned worker_id, unsigned *ret_index);
void scoreboard_set_pid(Scoreboard *sb, unsigned index, pid_t pid);
/* Adds what the entry's process served to its worker id's retired totals and
 * frees the entry; the final counters are returned in *ret (may be NULL). */
void scoreboard_retire(Scoreboard *sb, unsigned index, ScoreCounters *ret);
void scoreboard_count_restart(Scoreboard *sb, unsigned worker_id);
void scoreboard_set_manager(Scoreboard *sb, const ScoreManager *m);

/* ---- the worker's side ---- */

/* The entry a worker process counts in. */
ScoreCounters *scoreboard_counters(Scoreboard *sb, unsigned index);
/* Where the worker's seccomp trap notes the system call it was denied. */
int32_t *scoreboard_denied_syscall(Scoreboard *sb, unsigned index);

/* Single-writer counter updates: a plain load and an atomic store, so that
 * readers in other processes never see a torn value. */
static inline void score_add(uint64_t *counter, uint64_t n) {
        __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline void score_set32(uint32_t *field, uint32_t v) {
        __atomic_store_n(field, v, __ATOMIC_RELAXED);
}

/* ---- reading, from any process ---- */

/* The system call the entry's process was denied by its seccomp filter, or
 * -1: what the worker's SIGSYS handler noted. The manager reads it before
 * it retires the entry of a worker that died of SIGSYS. */
int32_t scoreboard_read_denied_syscall(const Scoreboard *sb, unsigned index);

/* A consistent copy of one entry's counters. false when it is free. */
bool scoreboard_read_entry(const Scoreboard *sb, unsigned index, ScoreCounters *ret,
                           unsigned *ret_worker_id, pid_t *ret_pid);

/* Everything /metrics shows, copied consistently. */
typedef struct ScoreSnapshot {
        ScoreManager manager;
        ScoreRetired retired[CONFIG_MAX_WORKERS]; /* by worker id - 1 */
        ScoreCounters live[CONFIG_MAX_WORKERS];   /* the live processes, by worker id - 1 */
        unsigned live_processes[CONFIG_MAX_WORKERS];
} ScoreSnapshot;

/* The sum of everything every worker id served, its past processes
 * included; connections are the live ones'. */
void scoreboard_total(const Scoreboard *sb, ScoreCounters *ret);

/* ret is large (tens of KiB): callers allocate it. */
void scoreboard_snapshot(const Scoreboard *sb, ScoreSnapshot *ret);
