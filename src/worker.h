/* One worker process: an sd-event loop driving libmicrohttpd and the IPC
 * channel to the manager. */
#pragma once

#include <stddef.h>

#include "config.h"

/* A worker's exit status when its drain timeout ended connections still
 * open; a worker that drained every connection exits 0. */
#define WORKER_EXIT_DRAIN_CUT 3

typedef struct Scoreboard Scoreboard;

/* What a worker is started with. */
typedef struct WorkerSetup {
        const Config *config;
        unsigned id;
        int ipc_fd; /* its end of the channel to the manager */
        const int *listen_fds;
        const char *const *listen_names; /* FileDescriptorName= of each: "https" is TLS */
        size_t n_listen_fds;
        Scoreboard *scoreboard; /* shared with the manager and the other workers */
        unsigned score_index;   /* its own entry there */
} WorkerSetup;

/* Runs a worker in a freshly forked child until it drains or its manager
 * goes away. The channel and the listening fds are the only fds it needs.
 * Returns the process exit status. */
int worker_main(const WorkerSetup *setup);
