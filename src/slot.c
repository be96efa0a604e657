/* Crash accounting for a worker slot: failed starts in a row, and the
 * backoff they earn. */
#include "slot.h"

#include "backoff.h"

void slot_init(Slot *s, unsigned id) {
        *s = (Slot) { .id = id };
}

void slot_lost(Slot *s, bool was_ready, uint64_t now, uint64_t backoff_max_usec) {
        s->restarts++;
        if (was_ready) {
                s->failed_starts = 0;
                s->last_loss = SLOT_LOSS_DIED_SERVING;
        } else {
                s->failed_starts++;
                s->last_loss = SLOT_LOSS_FAILED_START;
        }
        /* a worker that served is replaced at once, and so is the first that
         * failed to start; after the second failure in a row 100 ms, then
         * 200 ms, ... */
        s->backoff_usec = backoff_delay(s->failed_starts, backoff_max_usec);
        s->respawn_at_usec = s->backoff_usec ? now + s->backoff_usec : 0;
}

void slot_ready(Slot *s) {
        s->failed_starts = 0;
        s->backoff_usec = 0;
        s->respawn_at_usec = 0;
}

bool slot_spawn_due(const Slot *s, uint64_t now) {
        return s->respawn_at_usec == 0 || now >= s->respawn_at_usec;
}

bool slot_failing(const Slot *s, unsigned limit) {
        return s->failed_starts >= limit;
}
