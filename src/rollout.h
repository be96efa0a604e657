/* Rolling restarts: a reload's new config, Scale and RestartWorker replace
 * the workers one slot at a time, each new worker ready before the old one
 * drains; and a reload whose new workers do not start is rolled back. */
#pragma once

#include <stdint.h>

typedef struct Manager Manager;

/* Reads the config again and starts rolling it out, or refuses it and
 * changes nothing (the error says why; m->reload_error too). */
int rollout_begin_reload(Manager *m);

/* Moves to `workers` slots, whose sockets must be open already. New slots
 * are filled by the dispatch; workers of slots gone drain; slots whose share
 * of the sockets changed are marked for replacement. Bookkeeping only. */
void rollout_resize(Manager *m, unsigned workers);

/* Marks one slot for replacement by a new worker. */
void rollout_mark(Manager *m, unsigned i);

/* The roll's next step, from the dispatch: replace the next marked slot,
 * note when a slot's new worker serves or failed to start too often, and
 * end a reload once every slot serves, or it failed. */
void rollout_step(Manager *m, uint64_t now);
