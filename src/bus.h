/* The D-Bus control API (io.clusterd1) on the system bus. Every function
 * accepts a NULL Bus, which is what clusterd runs with when no bus is to be had. */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct Bus Bus;
typedef struct Manager Manager;

/* Connects, registers the objects and takes the well-known name (bus-name).
 * Returns NULL, after logging once why, when the control API cannot be
 * offered. */
Bus *bus_open(Manager *m, sd_event *e, const char *name);
void bus_close(Bus *b);

/* Announces whichever of State, Workers and WorkersWanted changed since the
 * last announcement. */
void bus_emit_manager_changed(Bus *b);
void bus_emit_worker_started(Bus *b, unsigned id, pid_t pid);
void bus_emit_worker_exited(Bus *b, unsigned id, pid_t pid, const char *reason, int status);
/* An application worker's line on its message channel. */
void bus_emit_worker_message(Bus *b, unsigned id, pid_t pid, const char *text);
