/* clusterd-tls-pass: the part of the reload helper (service/clusterd-reload)
 * that runs as root. systemd 252 copies LoadCredential= files into
 * $CREDENTIALS_DIRECTORY when the service starts, and never again: a reload
 * would find the certificate and key of the start. So this opens the files
 * the unit names for tls.crt and tls.key, as root (the key need not be
 * readable by the service user), and passes them to the manager as open
 * files with io.clusterd1 ReloadTls. A unit without them gets a plain
 * Reload.
 *   clusterd-tls-pass [--bus-name NAME] [UNIT]    the files of UNIT
 *   clusterd-tls-pass [--bus-name NAME] --files CERT KEY   these files
 * to the manager that owns NAME (io.clusterd1), of UNIT (clusterd.service).
 * Exits 0 once the manager has taken the reload, 1 when it refused it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "macro.h"

#define PATH "/io/clusterd1"
#define IFACE "io.clusterd1.Manager"

static void bus_unrefp(sd_bus **b) {
        sd_bus_flush_close_unref(*b);
}

/* The paths the unit's LoadCredential= gives tls.crt and tls.key; NULL for
 * one it does not name. */
static int credential_paths(sd_bus *bus, const char *unit, char **ret_cert, char **ret_key) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *id, *source;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property(bus, "org.freedesktop.systemd1", path,
                                "org.freedesktop.systemd1.Service", "LoadCredential", &error,
                                &reply, "a(ss)");
        if (r < 0) {
                fprintf(stderr, "clusterd-tls-pass: cannot read LoadCredential= of %s: %s\n", unit,
                        error.message ?: strerror(-r));
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &id, &source)) > 0) {
                char **to = strcmp(id, "tls.crt") == 0   ? ret_cert
                            : strcmp(id, "tls.key") == 0 ? ret_key
                                                         : NULL;
                if (!to)
                        continue;
                free(*to);
                *to = strdup(source);
                if (!*to)
                        return -ENOMEM;
        }
        return r;
}

/* A credential's source as root opens it: an absolute path to a regular
 * file. systemd also takes other sources (a socket, its own credentials):
 * those cannot be read again here. */
static int open_source(const char *id, const char *source) {
        struct stat st;
        int fd;

        if (source[0] != '/') {
                fprintf(stderr,
                        "clusterd-tls-pass: credential %s comes from '%s', not a file: restart "
                        "clusterd to load a new one\n",
                        id, source);
                return -EINVAL;
        }
        fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                int r = fd < 0 ? -errno : -EINVAL;
                fprintf(stderr, "clusterd-tls-pass: credential %s: %s: %s\n", id, source,
                        r == -EINVAL ? "not a regular file" : strerror(-r));
                safe_close(fd);
                return r;
        }
        return fd;
}

static int call(sd_bus *bus, const char *dest, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, dest, PATH, IFACE, member);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, NULL);
        if (r < 0)
                fprintf(stderr, "clusterd-tls-pass: %s: %s\n", member,
                        error.message ?: strerror(-r));
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *cert = NULL, *key = NULL;
        const char *unit = "clusterd.service", *dest = "io.clusterd1";
        const char *file_cert = NULL, *file_key = NULL;
        _cleanup_close_ int cert_fd = -1, key_fd = -1;
        bool usage = false;
        int r;

        for (int i = 1; i < argc && !usage; i++) {
                if (strcmp(argv[i], "--bus-name") == 0 && i + 1 < argc)
                        dest = argv[++i];
                else if (strcmp(argv[i], "--files") == 0 && i + 2 < argc) {
                        file_cert = argv[++i];
                        file_key = argv[++i];
                } else if (argv[i][0] != '-' && i == argc - 1 && !file_cert)
                        unit = argv[i];
                else
                        usage = true;
        }
        if (usage) {
                fprintf(stderr, "usage: clusterd-tls-pass [--bus-name NAME] [UNIT]\n"
                                "       clusterd-tls-pass [--bus-name NAME] --files CERTIFICATE "
                                "KEY\n");
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "clusterd-tls-pass: cannot connect to the system bus: %s\n",
                        strerror(-r));
                return 1;
        }
        if (file_cert) {
                cert = strdup(file_cert);
                key = strdup(file_key);
                if (!cert || !key)
                        return 1;
        } else
                /* no systemd to ask (or no such unit): nothing to pass */
                (void) credential_paths(bus, unit, &cert, &key);
        if (!cert && !key)
                return call(bus, dest, "Reload", NULL) < 0;
        if (!cert || !key) {
                fprintf(stderr,
                        "clusterd-tls-pass: %s loads %s but not %s: LoadCredential= both "
                        "tls.crt and tls.key\n",
                        unit, cert ? "tls.crt" : "tls.key", cert ? "tls.key" : "tls.crt");
                return 1;
        }
        cert_fd = open_source("tls.crt", cert);
        if (cert_fd < 0)
                return 1;
        key_fd = open_source("tls.key", key);
        if (key_fd < 0)
                return 1;
        return call(bus, dest, "ReloadTls", "shsh", cert, cert_fd, key, key_fd) < 0;
}
