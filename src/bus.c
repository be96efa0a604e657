/* The D-Bus control API: io.clusterd1 on the system bus. The manager's state
 * as properties, its operations as methods, one object per worker slot.
 * service/dbus/io.clusterd1.xml describes the same interfaces by hand. */
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "config.h"
#include "linechan.h"
#include "tls.h"
#include "log.h"
#include "macro.h"
#include "bus-worker.h"
#include "manager.h"

#define BUS_PATH "/io/clusterd1"
#define BUS_MANAGER_INTERFACE "io.clusterd1.Manager"

struct Bus {
        Manager *manager;
        char *name;               /* the well-known name asked for (bus-name) */
        sd_bus *bus;              /* NULL once the API is off */
        sd_event_source *release; /* drops the connection outside of sd-bus callbacks */
        bool off;                 /* "control API off" was logged */
        /* what PropertiesChanged last announced */
        ManagerState state;
        unsigned workers;
        unsigned workers_wanted;
};

/* Logs, once, that the API is off and why, and lets go of the connection. */
static void bus_go_off(Bus *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bus_go_off(Bus *b, const char *fmt, ...) {
        char why[256];
        va_list ap;

        if (b->off)
                return;
        b->off = true;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        log_warning("control API off: %s; serving goes on", why);
        (void) sd_event_source_set_enabled(b->release, SD_EVENT_ONESHOT);
}

static int bus_on_release(sd_event_source *s, void *userdata) {
        Bus *b = userdata;

        b->bus = sd_bus_close_unref(b->bus);
        return 0;
}

/* ---- the manager object: /io/clusterd1 ---- */

static int manager_get_version(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", CLUSTERD_VERSION);
}

/* The manager's properties but Listen, from one snapshot. */
static int manager_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ManagerInfo info;

        manager_info(userdata, &info);
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", manager_state_name(info.state));
        if (strcmp(property, "Workers") == 0)
                return sd_bus_message_append(reply, "u", info.workers_serving);
        if (strcmp(property, "WorkersWanted") == 0)
                return sd_bus_message_append(reply, "u", info.workers_wanted);
        if (strcmp(property, "RequestsTotal") == 0)
                return sd_bus_message_append(reply, "t", info.requests);
        if (strcmp(property, "ConnectionsActive") == 0)
                return sd_bus_message_append(reply, "u", info.connections);
        if (strcmp(property, "WorkerRestarts") == 0)
                return sd_bus_message_append(reply, "t", info.restarts);
        if (strcmp(property, "StartedAtUSec") == 0)
                return sd_bus_message_append(reply, "t", info.started_realtime_usec);
        if (strcmp(property, "LastReload") == 0)
                return sd_bus_message_append(reply, "s", info.last_reload);
        if (strcmp(property, "TlsCertificateNotAfter") == 0)
                return sd_bus_message_append(reply, "t", info.tls_not_after_usec);
        return -ENOENT;
}

static int manager_get_listen(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error) {
        _cleanup_free_ const char **addrs = calloc(LISTEN_MAX_FDS, sizeof *addrs);
        size_t n;
        int r;

        if (!addrs)
                return -ENOMEM;
        n = manager_listen_addresses(userdata, addrs, LISTEN_MAX_FDS);
        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "s", addrs[i]);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* Every worker process, by id, the older one first while an id is replaced. */
static int method_list_workers(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ WorkerInfo *list = NULL;
        Manager *m = userdata;
        size_t n, max = 0;
        int r;

        /* children come and go only between event loop iterations */
        n = manager_list_workers(m, NULL, 0);
        max = n;
        list = calloc(max ?: 1, sizeof *list);
        if (!list)
                return -ENOMEM;
        n = manager_list_workers(m, list, max);
        if (n > max)
                n = max;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(uusttttt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const WorkerInfo *w = &list[i];
                r = sd_bus_message_append(reply, "(uusttttt)", w->id, (uint32_t) w->pid,
                                          child_state_name(w->state), w->requests,
                                          (uint64_t) w->connections, w->started_realtime_usec,
                                          w->restarts, w->rss_bytes);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* sd-bus already refuses unflagged methods to callers other than root and our
 * own user; this repeats the rule here, where the change is made. */
static int bus_check_caller(sd_bus_message *msg, uid_t *ret_uid, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot tell who is calling: %m");
        if (uid != 0 && uid != geteuid())
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s is for root and the service user only",
                                         sd_bus_message_get_member(msg));
        *ret_uid = uid;
        return 0;
}

static int bus_reply_result(sd_bus_message *msg, int r, sd_bus_error *error, const char *what) {
        if (r == -ESHUTDOWN)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s: clusterd is stopping",
                                         what);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "%s: %m (see the service log)", what);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_scale(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        char what[64];
        uint32_t count;
        uid_t uid;
        int r;

        r = bus_check_caller(msg, &uid, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "u", &count);
        if (r < 0)
                return r;
        if (count == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "cannot scale to 0 workers: at least 1 is needed "
                                         "(stop the service to stop serving)");
        if (count > CONFIG_MAX_WORKERS)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "cannot scale to %" PRIu32 " workers: at most %u are "
                                         "supported",
                                         count, CONFIG_MAX_WORKERS);
        log_info("bus: uid %u asks for %" PRIu32 " worker(s)", (unsigned) uid, count);
        snprintf(what, sizeof what, "cannot scale to %" PRIu32 " workers", count);
        return bus_reply_result(msg, manager_scale(m, count), error, what);
}

/* The answer to Reload and ReloadTls: refused with the reason the reload
 * gave, or the usual reply (a stop under way is no error). */
static int reply_reload(Manager *m, sd_bus_message *msg, int r, sd_bus_error *error) {
        if (r < 0 && r != -ESHUTDOWN)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "reload refused, the running configuration stays: %s",
                                         manager_reload_error(m) ?: strerror(-r));
        return bus_reply_result(msg, r, error, "cannot reload");
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uid_t uid;
        int r;

        r = bus_check_caller(msg, &uid, error);
        if (r < 0)
                return r;
        log_info("bus: uid %u asks for a reload", (unsigned) uid);
        r = manager_reload(m);
        return reply_reload(m, msg, r, error);
}

/* Reload with the certificate and key passed as open files: root (the
 * reload helper, ExecReload=+) opens what the service cannot read. */
static int method_reload_tls(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *cert_name, *key_name;
        Manager *m = userdata;
        int cert_fd, key_fd;
        uid_t uid;
        int r;

        r = bus_check_caller(msg, &uid, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "shsh", &cert_name, &cert_fd, &key_name, &key_fd);
        if (r < 0)
                return r;
        log_info("bus: uid %u asks for a reload with the certificate and key it passes",
                 (unsigned) uid);
        r = manager_reload_tls(m, cert_fd, cert_name, key_fd, key_name);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "the certificate and key must be regular files of at "
                                         "most %u bytes",
                                         TLS_FILE_MAX);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "the configuration names tls-certificate and tls-key, "
                                         "which Reload reads again: ReloadTls is for the "
                                         "credentials tls.crt and tls.key");
        return reply_reload(m, msg, r, error);
}

static int method_reopen_logs(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uid_t uid;
        int r;

        r = bus_check_caller(msg, &uid, error);
        if (r < 0)
                return r;
        log_info("bus: uid %u asks to reopen the logs: %u worker(s) reopen the access log",
                 (unsigned) uid, manager_reopen_logs(m));
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_restart_worker(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        ManagerInfo info;
        char what[64];
        uint32_t id;
        uid_t uid;
        int r;

        r = bus_check_caller(msg, &uid, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "u", &id);
        if (r < 0)
                return r;
        manager_info(m, &info);
        if (id < 1 || id > info.workers_wanted)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "no worker %" PRIu32 ": workers are numbered 1 to %u", id,
                                         info.workers_wanted);
        log_info("bus: uid %u asks to restart worker %" PRIu32, (unsigned) uid, id);
        snprintf(what, sizeof what, "cannot restart worker %" PRIu32, id);
        return bus_reply_result(msg, manager_restart_worker(m, id), error, what);
}

static int method_send_message(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *text;
        uint32_t id;
        uid_t uid;
        int r;

        r = bus_check_caller(msg, &uid, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "us", &id, &text);
        if (r < 0)
                return r;
        r = manager_send_message(m, id, text);
        switch (r) {
        case 0:
                return sd_bus_reply_method_return(msg, NULL);
        case -ENOENT:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "no worker %" PRIu32 " to send to", id);
        case -EOPNOTSUPP:
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "worker %" PRIu32 " runs the built-in server, which "
                                         "takes no messages (set exec = ...)",
                                         id);
        case -EINVAL:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "a message is one line of at most %u bytes",
                                         LINECHAN_LINE_MAX);
        case -ENOBUFS:
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "worker %" PRIu32 " does not read its messages: %u "
                                         "bytes wait for it already",
                                         id, LINECHAN_QUEUE_MAX);
        default:
                return sd_bus_error_set_errnof(error, r, "cannot send to worker %" PRIu32 ": %m",
                                               id);
        }
}

/* State, Workers and WorkersWanted announce their changes; the counters are
 * read on demand and never announced. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", manager_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", manager_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Workers", "u", manager_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WorkersWanted", "u", manager_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Listen", "as", manager_get_listen, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RequestsTotal", "t", manager_get, 0, 0),
        SD_BUS_PROPERTY("ConnectionsActive", "u", manager_get, 0, 0),
        SD_BUS_PROPERTY("WorkerRestarts", "t", manager_get, 0, 0),
        SD_BUS_PROPERTY("StartedAtUSec", "t", manager_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LastReload", "s", manager_get, 0, 0),
        SD_BUS_PROPERTY("TlsCertificateNotAfter", "t", manager_get, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListWorkers", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(uusttttt)", workers), method_list_workers,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        /* not flagged: only root and the service's own user may call these */
        SD_BUS_METHOD_WITH_ARGS("Scale", SD_BUS_ARGS("u", count), SD_BUS_NO_RESULT, method_scale,
                                0),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload, 0),
        SD_BUS_METHOD_WITH_ARGS(
                "ReloadTls",
                SD_BUS_ARGS("s", certificate_name, "h", certificate, "s", key_name, "h", key),
                SD_BUS_NO_RESULT, method_reload_tls, 0),
        SD_BUS_METHOD_WITH_ARGS("RestartWorker", SD_BUS_ARGS("u", id), SD_BUS_NO_RESULT,
                                method_restart_worker, 0),
        SD_BUS_METHOD_WITH_ARGS("SendMessage", SD_BUS_ARGS("u", id, "s", text), SD_BUS_NO_RESULT,
                                method_send_message, 0),
        SD_BUS_METHOD_WITH_ARGS("ReopenLogs", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reopen_logs,
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkerStarted", SD_BUS_ARGS("u", id, "u", pid), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkerMessage", SD_BUS_ARGS("u", id, "u", pid, "s", text), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkerExited",
                                SD_BUS_ARGS("u", id, "u", pid, "s", reason, "i", status), 0),
        SD_BUS_VTABLE_END
};

/* ---- connection ---- */

static int bus_on_message(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        if (sd_bus_message_is_signal(msg, "org.freedesktop.DBus.Local", "Disconnected"))
                bus_go_off(b, "lost the connection to the system bus");
        return 0;
}

static int bus_on_name(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t ret;
        int r;

        if (e) {
                r = sd_bus_message_get_errno(reply);
                bus_go_off(b, "cannot own the name %s: %s", b->name,
                           r == EACCES ? "the D-Bus policy does not allow it (for the API, copy "
                                         "service/dbus/io.clusterd1.conf to "
                                         "/usr/share/dbus-1/system.d/, run 'systemctl reload "
                                         "dbus' and start clusterd again, as root or user "
                                         "clusterd)"
                                       : e->message ?: e->name);
                return 0;
        }
        r = sd_bus_message_read(reply, "u", &ret);
        if (r < 0)
                bus_go_off(b, "cannot own the name %s: %s", b->name, strerror(-r));
        else if (ret != 1 && ret != 4) /* primary owner, or already it */
                bus_go_off(b, "the name %s belongs to another process", b->name);
        else
                log_info("control API on the system bus as %s", b->name);
        return 0;
}

/* Objects first, then the name, so that no caller finds the name without them.
 * The name is requested without waiting: the manager starts serving meanwhile. */
static int bus_setup(Bus *b, sd_event *e, Manager *m, const char **ret_step) {
        int r;

        *ret_step = "cannot connect to the system bus";
        r = sd_bus_open_system_with_description(&b->bus, "clusterd");
        if (r < 0)
                return r;
        (void) sd_bus_set_exit_on_disconnect(b->bus, false);
        r = sd_bus_attach_event(b->bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        *ret_step = "cannot watch the connection";
        r = sd_bus_add_filter(b->bus, NULL, bus_on_message, b);
        if (r < 0)
                return r;
        r = sd_event_add_defer(e, &b->release, bus_on_release, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(b->release, SD_EVENT_OFF);

        *ret_step = "cannot register the objects";
        r = sd_bus_add_object_manager(b->bus, NULL, BUS_PATH);
        if (r >= 0)
                r = sd_bus_add_object_vtable(b->bus, NULL, BUS_PATH, BUS_MANAGER_INTERFACE,
                                             manager_vtable, m);
        if (r >= 0)
                r = bus_worker_register(b->bus, m);
        if (r < 0)
                return r;

        *ret_step = "cannot ask for the name";
        return sd_bus_request_name_async(b->bus, NULL, b->name, 0, bus_on_name, b);
}

Bus *bus_open(Manager *m, sd_event *e, const char *name) {
        const char *step = NULL, *why = NULL;
        ManagerInfo info;
        Bus *b;
        int r;

        /* sd-bus would refuse it with a bare EINVAL: say what is wrong */
        if (config_check_bus_name(name, &why) < 0) {
                log_warning("control API off: bus-name '%s' is not a valid D-Bus name (%s); "
                            "serving goes on",
                            name, why);
                return NULL;
        }
        b = calloc(1, sizeof *b);
        if (!b) {
                log_warning("control API off: out of memory; serving goes on");
                return NULL;
        }
        manager_info(m, &info);
        *b = (Bus) {
                .manager = m,
                .name = strdup(name),
                .state = info.state,
                .workers = info.workers_serving,
                .workers_wanted = info.workers_wanted,
        };
        if (!b->name) {
                log_warning("control API off: out of memory; serving goes on");
                bus_close(b);
                return NULL;
        }
        r = bus_setup(b, e, m, &step);
        if (r < 0) {
                log_warning("control API off: %s: %s; serving goes on", step, strerror(-r));
                bus_close(b);
                return NULL;
        }
        return b;
}

void bus_close(Bus *b) {
        if (!b)
                return;
        sd_bus_flush_close_unref(b->bus);
        sd_event_source_disable_unref(b->release);
        free(b->name);
        free(b);
}

/* ---- announcements ---- */

static void bus_emit_failed(Bus *b, const char *what, int r) {
        /* a lost connection is reported by its Disconnected message */
        if (r < 0 && r != -ENOTCONN && r != -ECONNRESET)
                log_warning("bus: cannot announce %s: %s", what, strerror(-r));
}

/* Announces whichever of State, Workers and WorkersWanted differs from what was
 * last announced. Callers do not name a property: one change can move the
 * others too (draining lowers Workers, scaling changes both), so all three are
 * compared every time. */
void bus_emit_manager_changed(Bus *b) {
        const char *changed[4];
        ManagerInfo info;
        size_t n = 0;

        if (!b || !b->bus)
                return;
        manager_info(b->manager, &info);
        if (info.state != b->state)
                changed[n++] = "State";
        if (info.workers_serving != b->workers)
                changed[n++] = "Workers";
        if (info.workers_wanted != b->workers_wanted)
                changed[n++] = "WorkersWanted";
        changed[n] = NULL;
        if (n == 0)
                return;
        b->state = info.state;
        b->workers = info.workers_serving;
        b->workers_wanted = info.workers_wanted;
        bus_emit_failed(b, "a property change",
                        sd_bus_emit_properties_changed_strv(b->bus, BUS_PATH, BUS_MANAGER_INTERFACE,
                                                            (char **) changed));
}

/* Called once the child is in the manager's list: its slot's object appears
 * with the first child, not with a replacement. */
void bus_emit_worker_started(Bus *b, unsigned id, pid_t pid) {
        char path[BUS_WORKER_PATH_MAX];

        if (!b || !b->bus)
                return;
        if (manager_worker_processes(b->manager, id, pid) == 0) {
                bus_worker_path(id, path, sizeof path);
                bus_emit_failed(b, "a new worker object", sd_bus_emit_object_added(b->bus, path));
        }
        bus_emit_failed(b, "WorkerStarted",
                        sd_bus_emit_signal(b->bus, BUS_PATH, BUS_MANAGER_INTERFACE, "WorkerStarted",
                                           "uu", (uint32_t) id, (uint32_t) pid));
}

/* Called while the child is still in the manager's list, so that the object
 * still resolves for InterfacesRemoved when it was the slot's last child. */
void bus_emit_worker_exited(Bus *b, unsigned id, pid_t pid, const char *reason, int status) {
        char path[BUS_WORKER_PATH_MAX];

        if (!b || !b->bus)
                return;
        bus_emit_failed(b, "WorkerExited",
                        sd_bus_emit_signal(b->bus, BUS_PATH, BUS_MANAGER_INTERFACE, "WorkerExited",
                                           "uusi", (uint32_t) id, (uint32_t) pid, reason,
                                           (int32_t) status));
        if (manager_worker_processes(b->manager, id, pid) == 0) {
                bus_worker_path(id, path, sizeof path);
                bus_emit_failed(b, "a worker object's removal",
                                sd_bus_emit_object_removed(b->bus, path));
        }
}

void bus_emit_worker_message(Bus *b, unsigned id, pid_t pid, const char *text) {
        if (!b || !b->bus)
                return;
        bus_emit_failed(b, "WorkerMessage",
                        sd_bus_emit_signal(b->bus, BUS_PATH, BUS_MANAGER_INTERFACE, "WorkerMessage",
                                           "uus", (uint32_t) id, (uint32_t) pid, text));
}
