/* The worker objects of the D-Bus API: /io/clusterd1/worker/<id>, one per
 * worker id with a process, each with the io.clusterd1.Worker interface,
 * read through manager.h's queries. */
#include "bus-worker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "manager.h"

void bus_worker_path(unsigned id, char *buf, size_t size) {
        /* a plain decimal element: sd_bus_path_encode() would escape the leading digit */
        snprintf(buf, size, BUS_WORKER_PREFIX "/%u", id);
}

/* The worker id of a worker object path, or -1 for anything else. */
static int worker_path_id(const char *path) {
        const char *prefix = BUS_WORKER_PREFIX "/", *p;
        unsigned long id = 0;

        if (strncmp(path, prefix, strlen(prefix)) != 0)
                return -1;
        p = path + strlen(prefix);
        if (*p < '1' || *p > '9')
                return -1;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                id = id * 10 + (unsigned long) (*p - '0');
                if (id > CONFIG_MAX_WORKERS)
                        return -1;
        }
        return (int) id;
}

static int worker_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **ret_found, sd_bus_error *error) {
        Manager *m = userdata;
        int id = worker_path_id(path);
        WorkerInfo w;

        if (id < 0 || manager_worker_info(m, (unsigned) id, &w) < 0)
                return 0;
        *ret_found = m; /* the getters read the id from the path */
        return 1;
}

/* The worker a property is read from, by its object's path. */
static int worker_of_path(const Manager *m, const char *path, WorkerInfo *ret,
                          sd_bus_error *error) {
        int id = worker_path_id(path);

        if (id < 0 || manager_worker_info(m, (unsigned) id, ret) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                         "no worker at %s any more", path);
        return 0;
}

static int worker_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error) {
        Manager *m = userdata;
        bool seen[CONFIG_MAX_WORKERS] = {};
        char **nodes;
        size_t n = 0;
        WorkerInfo w;

        for (unsigned id = 1; id <= CONFIG_MAX_WORKERS; id++)
                if (manager_worker_info(m, id, &w) >= 0) {
                        seen[id - 1] = true;
                        n++;
                }
        nodes = calloc(n + 1, sizeof *nodes);
        if (!nodes)
                return -ENOMEM;
        n = 0;
        for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++) {
                char path[BUS_WORKER_PATH_MAX];
                if (!seen[i])
                        continue;
                bus_worker_path(i + 1, path, sizeof path);
                nodes[n] = strdup(path);
                if (!nodes[n]) {
                        while (n > 0)
                                free(nodes[--n]);
                        free(nodes);
                        return -ENOMEM;
                }
                n++;
        }
        *ret_nodes = nodes;
        return 0;
}

/* One getter for every worker property: the property's name picks the field. */
static int worker_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        WorkerInfo w;
        int r = worker_of_path(userdata, path, &w, error);

        if (r < 0)
                return r;
        if (strcmp(property, "Id") == 0)
                return sd_bus_message_append(reply, "u", w.id);
        if (strcmp(property, "Pid") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) w.pid);
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", child_state_name(w.state));
        if (strcmp(property, "Requests") == 0)
                return sd_bus_message_append(reply, "t", w.requests);
        if (strcmp(property, "BytesSent") == 0)
                return sd_bus_message_append(reply, "t", w.bytes_sent);
        if (strcmp(property, "ConnectionsActive") == 0)
                return sd_bus_message_append(reply, "u", w.connections);
        if (strcmp(property, "StartedAtUSec") == 0)
                return sd_bus_message_append(reply, "t", w.started_realtime_usec);
        if (strcmp(property, "Restarts") == 0)
                return sd_bus_message_append(reply, "t", w.restarts);
        if (strcmp(property, "MemoryRSSBytes") == 0)
                return sd_bus_message_append(reply, "t", w.rss_bytes);
        if (strcmp(property, "Status") == 0)
                return sd_bus_message_append(reply, "s", w.status);
        return -ENOENT;
}

/* Counters are read live from the scoreboard and not announced: read them.
 * Reading needs no UNPRIVILEGED flag (sd-bus rejects it on read-only
 * properties); who may read is the D-Bus policy's business. */
static const sd_bus_vtable worker_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", worker_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", worker_get, 0, 0),
        SD_BUS_PROPERTY("State", "s", worker_get, 0, 0),
        SD_BUS_PROPERTY("Requests", "t", worker_get, 0, 0),
        SD_BUS_PROPERTY("BytesSent", "t", worker_get, 0, 0),
        SD_BUS_PROPERTY("ConnectionsActive", "u", worker_get, 0, 0),
        SD_BUS_PROPERTY("StartedAtUSec", "t", worker_get, 0, 0),
        SD_BUS_PROPERTY("Restarts", "t", worker_get, 0, 0),
        SD_BUS_PROPERTY("MemoryRSSBytes", "t", worker_get, 0, 0),
        SD_BUS_PROPERTY("Status", "s", worker_get, 0, 0),
        SD_BUS_VTABLE_END
};

int bus_worker_register(sd_bus *bus, Manager *m) {
        int r = sd_bus_add_fallback_vtable(bus, NULL, BUS_WORKER_PREFIX, BUS_WORKER_INTERFACE,
                                           worker_vtable, worker_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, BUS_WORKER_PREFIX, worker_enumerate, m);
        return r;
}
