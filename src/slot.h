/* A worker slot: one position of the cluster, with a stable worker id, the
 * worker process that fills it, and the crash accounting that decides when
 * the next one may start. Bookkeeping only: nothing here forks or kills. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct Child Child;

/* How the slot's last worker process ended. */
typedef enum SlotLoss {
        SLOT_LOSS_NONE,
        SLOT_LOSS_FAILED_START, /* it died before it was ready */
        SLOT_LOSS_DIED_SERVING, /* it was serving, then died */
} SlotLoss;

typedef struct Slot {
        unsigned id;              /* the worker id operators see: 1-based, stable */
        Child *current;           /* its worker: serving, or starting while none serves */
        Child *replacement;       /* a new worker starting beside current, in a roll */
        unsigned failed_starts;   /* in a row: workers that died before they were ready */
        uint64_t restarts;        /* workers started because the one before died */
        uint64_t respawn_at_usec; /* CLOCK_MONOTONIC: not before this; 0: at once */
        uint64_t backoff_usec;    /* the delay that set respawn_at_usec */
        SlotLoss last_loss;
        bool roll_pending;   /* to be replaced by the rolling restart... */
        uint64_t roll_after; /* ...by a worker with a serial above this */
} Slot;

void slot_init(Slot *s, unsigned id);

/* A worker of the slot (its current one or its replacement) died at `now`.
 * A worker that had been ready was serving: its successor starts at once,
 * for ever. One that died before it was ready is a failed start: the delay
 * before the next grows with each in a row, up to backoff_max_usec. */
void slot_lost(Slot *s, bool was_ready, uint64_t now, uint64_t backoff_max_usec);

/* A worker of the slot became ready: failed starts and backoff start again
 * from nothing. */
void slot_ready(Slot *s);

/* Whether the slot's next worker may start now. */
bool slot_spawn_due(const Slot *s, uint64_t now);

/* Whether its workers failed to start `limit` times in a row. */
bool slot_failing(const Slot *s, unsigned limit);
