/* One worker process: an sd-event loop driving libmicrohttpd and the IPC
 * channel to the manager. */
#pragma once

#include <stddef.h>

#include "config.h"

/* A worker's exit status when its drain timeout ended connections still
 * open; a worker that drained every connection exits 0. */
#define WORKER_EXIT_DRAIN_CUT 3

/* Runs a worker in a freshly forked child until it drains or its manager
 * goes away. ipc_fd and the listening fds are the only fds it needs.
 * Returns the process exit status. */
int worker_main(const Config *c, unsigned id, int ipc_fd, const int *listen_fds, size_t n_fds);
