/* The worker objects of the D-Bus API. */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;

#define BUS_WORKER_PREFIX "/io/clusterd1/worker"
#define BUS_WORKER_INTERFACE "io.clusterd1.Worker"
#define BUS_WORKER_PATH_MAX sizeof(BUS_WORKER_PREFIX "/4294967295")

/* Registers the fallback vtable and the node enumerator under the prefix. */
int bus_worker_register(sd_bus *bus, Manager *m);

/* The object path of worker id: a plain decimal element, which
 * sd_bus_path_encode() would have escaped for its leading digit. */
void bus_worker_path(unsigned id, char *buf, size_t size);
