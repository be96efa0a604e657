/* clusterd's settings: one table of keys shared by the INI file and the
 * command line, so both accept exactly the same names and values. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "cmdline.h"
#include "macro.h"

int config_init(Config *c) {
        *c = (Config) {
                .workers = 0,
                .heartbeat_interval_usec = 1 * USEC_PER_SEC,
                .heartbeat_timeout_usec = 10 * USEC_PER_SEC,
                .drain_timeout_usec = 30 * USEC_PER_SEC,
                .restart_backoff_max_usec = 30 * USEC_PER_SEC,
                .crash_loop_limit = 5,
                .connection_timeout_sec = 30,
                .connection_limit = 4096,
                .connection_memory = 32 * 1024,
                .log_level = LOG_INFO,
                .dotfiles = false,
                .precompressed = { .coding = { CODING_BR, CODING_GZIP }, .n = 2 },
                .compress = true,
                .exec_ready_timeout_usec = 30 * USEC_PER_SEC,
                .worker_seccomp = CONFIG_SECCOMP_YES,
        };
        c->root = strdup(CONFIG_DEFAULT_ROOT);
        c->mime_types = strdup("/etc/mime.types");
        c->bus_name = strdup(CONFIG_DEFAULT_BUS_NAME);
        c->listen[0] = strdup(CONFIG_DEFAULT_LISTEN);
        c->n_listen = 1;
        if (!c->root || !c->mime_types || !c->bus_name || !c->listen[0]) {
                config_done(c);
                return -ENOMEM;
        }
        return 0;
}

void config_listen_clear(Config *c) {
        for (size_t i = 0; i < c->n_listen; i++)
                free(c->listen[i]);
        c->n_listen = 0;
}

void config_listen_tls_clear(Config *c) {
        for (size_t i = 0; i < c->n_listen_tls; i++)
                free(c->listen_tls[i]);
        c->n_listen_tls = 0;
}

static void exec_clear(Config *c) {
        free(c->exec);
        cmdline_free(c->exec_argv);
        free(c->exec_path);
        c->exec = c->exec_path = NULL;
        c->exec_argv = NULL;
}

void config_done(Config *c) {
        free(c->root);
        free(c->mime_types);
        free(c->access_log_path);
        free(c->bus_name);
        config_listen_clear(c);
        exec_clear(c);
        config_listen_tls_clear(c);
        free(c->tls_certificate);
        free(c->tls_key);
        free(c->tls_priorities);
        tls_material_done(&c->tls); /* wipes the key */
        c->root = c->mime_types = c->access_log_path = c->bus_name = NULL;
        c->tls_certificate = c->tls_key = c->tls_priorities = NULL;
}

int config_ref_new(Config *take, unsigned gen, ConfigRef **ret) {
        ConfigRef *r = calloc(1, sizeof *r);

        if (!r)
                return -ENOMEM;
        r->n_ref = 1;
        r->gen = gen;
        r->config = *take;
        *take = (Config) {};
        *ret = r;
        return 0;
}

ConfigRef *config_ref(ConfigRef *r) {
        if (r)
                r->n_ref++;
        return r;
}

ConfigRef *config_unref(ConfigRef *r) {
        if (!r || --r->n_ref > 0)
                return NULL;
        config_done(&r->config);
        free(r);
        return NULL;
}

static int set_string(char **field, const char *value) {
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int set_log_level(Config *c, const char *v) {
        static const char *const names[] = { "emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(v, names[i]) == 0) {
                        c->log_level = (int) i;
                        return 0;
                }
        return -EINVAL;
}

static int set_dotfiles(Config *c, const char *v) {
        if (strcmp(v, "allow") == 0)
                c->dotfiles = true;
        else if (strcmp(v, "deny") == 0)
                c->dotfiles = false;
        else
                return -EINVAL;
        return 0;
}

/* access-log = off | journal | /absolute/path: a relative one would depend
 * on the directory clusterd was started in. */
static int set_access_log(Config *c, const char *v) {
        if (strcmp(v, "off") == 0 || strcmp(v, "journal") == 0) {
                c->access_log = *v == 'o' ? CONFIG_ACCESS_LOG_OFF : CONFIG_ACCESS_LOG_JOURNAL;
                free(c->access_log_path);
                c->access_log_path = NULL;
                return 0;
        }
        if (*v != '/' || v[strlen(v) - 1] == '/')
                return -EINVAL;
        int r = set_string(&c->access_log_path, v);
        if (r < 0)
                return r;
        c->access_log = CONFIG_ACCESS_LOG_FILE;
        return 0;
}

const char *config_access_log_name(const Config *c) {
        switch (c->access_log) {
        case CONFIG_ACCESS_LOG_FILE:
                return c->access_log_path;
        case CONFIG_ACCESS_LOG_JOURNAL:
                return "journal";
        default:
                return "off";
        }
}

/* exec = COMMAND [ARG]...; an empty value goes back to the built-in server. */
static int set_exec(Config *c, const char *v, const char **ret_reason) {
        char **argv = NULL;
        char *copy;
        int r;

        if (!*v) {
                exec_clear(c);
                return 0;
        }
        r = cmdline_split(v, &argv, ret_reason);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        copy = strdup(v);
        if (!copy) {
                cmdline_free(argv);
                return -ENOMEM;
        }
        exec_clear(c);
        c->exec = copy;
        c->exec_argv = argv;
        return 0;
}

static const char *const seccomp_names[] = {
        [CONFIG_SECCOMP_YES] = "yes",
        [CONFIG_SECCOMP_NO] = "no",
        [CONFIG_SECCOMP_LOG] = "log",
};

const char *config_seccomp_name(ConfigSeccomp s) {
        return (size_t) s < ELEMENTSOF(seccomp_names) ? seccomp_names[s] : "?";
}

static int set_seccomp(Config *c, const char *v) {
        for (size_t i = 0; i < ELEMENTSOF(seccomp_names); i++)
                if (strcmp(v, seccomp_names[i]) == 0) {
                        c->worker_seccomp = (ConfigSeccomp) i;
                        return 0;
                }
        return -EINVAL;
}

/* Listen addresses accumulate; config_build clears the list before each source
 * that names one, so a file or command line replaces the default. */
static int add_address(char **list, size_t *n, const char *v) {
        struct sockaddr_storage ss;
        socklen_t len;

        if (addr_parse(v, &ss, &len) < 0)
                return -EINVAL;
        if (*n >= CONFIG_MAX_LISTEN)
                return -E2BIG;
        list[*n] = strdup(v);
        if (!list[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int add_listen(Config *c, const char *v) {
        int r = add_address(c->listen, &c->n_listen, v);

        if (r >= 0)
                c->listen_given = true;
        return r;
}

int config_set(Config *c, const char *key, const char *value, const char **ret_reason) {
        uint64_t u64;
        int r;

#define REASON(s) (*ret_reason = (s))
        if (!value)
                value = "";
        if (strcmp(key, "root") == 0) {
                if (!*value)
                        return REASON("expected a directory"), -EINVAL;
                return set_string(&c->root, value);
        }
        if (strcmp(key, "listen") == 0 || strcmp(key, "listen-tls") == 0) {
                bool tls = strcmp(key, "listen-tls") == 0;
                r = tls ? add_address(c->listen_tls, &c->n_listen_tls, value)
                        : add_listen(c, value);
                if (r == -E2BIG)
                        REASON("too many listen addresses (at most 16)");
                else if (r < 0)
                        REASON(tls ? "expected ADDR:PORT, e.g. 0.0.0.0:8443 or [::]:443"
                                   : "expected ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
                return r;
        }
        if (strcmp(key, "tls-certificate") == 0 || strcmp(key, "tls-key") == 0) {
                char **field = key[4] == 'c' ? &c->tls_certificate : &c->tls_key;
                if (!*value) {
                        free(*field);
                        *field = NULL;
                        return 0;
                }
                return set_string(field, value);
        }
        if (strcmp(key, "tls-priorities") == 0) {
                char why[TLS_REASON_MAX];
                if (!*value) {
                        free(c->tls_priorities);
                        c->tls_priorities = NULL;
                        return 0;
                }
                /* GnuTLS's own parser: a string it refuses fails here, not
                 * in every worker */
                if (tls_check_priorities(value, why) < 0)
                        return REASON("GnuTLS cannot parse it (see \"Priority strings\" in "
                                      "the GnuTLS manual)"),
                               -EINVAL;
                return set_string(&c->tls_priorities, value);
        }
        if (strcmp(key, "workers") == 0) {
                r = config_parse_workers(value, &c->workers);
                if (r < 0)
                        REASON("expected 'auto' or a number from 1 to 256");
                return r;
        }
        if (strcmp(key, "mime-types") == 0)
                return set_string(&c->mime_types, value);
        if (strcmp(key, "bus-name") == 0) /* checked when the bus is opened */
                return set_string(&c->bus_name, value);
        if (strcmp(key, "log-level") == 0) {
                r = set_log_level(c, value);
                if (r < 0)
                        REASON("expected one of emerg, alert, crit, err, warning, notice, info, "
                               "debug");
                return r;
        }
        if (strcmp(key, "dotfiles") == 0) {
                r = set_dotfiles(c, value);
                if (r < 0)
                        REASON("expected allow or deny");
                return r;
        }
        if (strcmp(key, "precompressed") == 0) {
                r = encoding_parse_order(value, &c->precompressed);
                if (r < 0)
                        REASON("expected off, or br and gz in the order preferred, such as "
                               "br,gz");
                return r;
        }
        if (strcmp(key, "compress") == 0) {
                if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0)
                        c->compress = value[1] == 'n';
                else
                        return REASON("expected on or off"), -EINVAL;
                return 0;
        }
        if (strcmp(key, "access-log") == 0) {
                r = set_access_log(c, value);
                if (r == -EINVAL)
                        REASON("expected off, journal or the absolute path of a file");
                return r;
        }
        if (strcmp(key, "exec") == 0) {
                const char *why = NULL;
                r = set_exec(c, value, &why);
                if (r == -EINVAL)
                        *ret_reason = why;
                return r;
        }
        if (strcmp(key, "exec-ready") == 0) {
                if (strcmp(value, "notify") == 0)
                        c->exec_ready_started = false;
                else if (strcmp(value, "started") == 0)
                        c->exec_ready_started = true;
                else
                        return REASON("expected notify or started"), -EINVAL;
                return 0;
        }
        if (strcmp(key, "worker-seccomp") == 0) {
                r = set_seccomp(c, value);
                if (r < 0)
                        REASON("expected yes, no or log");
                return r;
        }

        /* each reason names the range, which the limits below enforce */
        struct {
                const char *key;
                uint64_t *field;
                uint64_t min, max;
                const char *reason;
        } durations[] = {
                { "heartbeat-interval", &c->heartbeat_interval_usec, 10 * USEC_PER_MSEC,
                  60 * USEC_PER_SEC, "expected a duration from 10ms to 60s, such as 500ms or 2s" },
                { "heartbeat-timeout", &c->heartbeat_timeout_usec, 100 * USEC_PER_MSEC,
                  3600 * USEC_PER_SEC, "expected a duration from 100ms to 60min, such as 10s" },
                { "drain-timeout", &c->drain_timeout_usec, 0, 3600 * USEC_PER_SEC,
                  "expected a duration from 0 to 60min, such as 30s or 2min" },
                { "restart-backoff-max", &c->restart_backoff_max_usec, 0, 3600 * USEC_PER_SEC,
                  "expected a duration from 0 to 60min, such as 30s or 2min" },
                { "exec-ready-timeout", &c->exec_ready_timeout_usec, 100 * USEC_PER_MSEC,
                  3600 * USEC_PER_SEC, "expected a duration from 100ms to 60min, such as 30s" },
        };
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                if (strcmp(key, durations[i].key) != 0)
                        continue;
                r = config_parse_duration(value, &u64);
                if (r < 0 || u64 < durations[i].min || u64 > durations[i].max)
                        return REASON(durations[i].reason), -EINVAL;
                *durations[i].field = u64;
                return 0;
        }

        struct {
                const char *key;
                unsigned *field;
                unsigned min, max;
                const char *reason;
        } numbers[] = {
                { "connection-timeout", &c->connection_timeout_sec, 1, 3600,
                  "expected a whole number of seconds from 1 to 3600" },
                { "connection-limit", &c->connection_limit, 1, 1000000,
                  "expected a whole number from 1 to 1000000" },
                { "crash-loop-limit", &c->crash_loop_limit, 1, 1000,
                  "expected a whole number from 1 to 1000" },
        };
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++) {
                if (strcmp(key, numbers[i].key) != 0)
                        continue;
                r = config_parse_uint(value, numbers[i].min, numbers[i].max, numbers[i].field);
                if (r < 0)
                        REASON(numbers[i].reason);
                return r;
        }

        if (strcmp(key, "connection-memory") == 0) {
                r = config_parse_size(value, &u64);
                if (r < 0 || u64 < 4096 || u64 > 16 * 1024 * 1024)
                        return REASON("expected a size from 4K to 16M"), -EINVAL;
                c->connection_memory = (size_t) u64;
                return 0;
        }
#undef REASON
        *ret_reason = "unknown key";
        return -ENOENT;
}

/* The program of exec = ..., found now: at start and at each reload. */
static int config_find_program(Config *c, char err[CONFIG_ERROR_MAX]) {
        char *path = NULL;
        int r = cmdline_find_program(c->exec_argv[0], getenv("PATH"), &path);

        if (r < 0) {
                snprintf(err, CONFIG_ERROR_MAX, "exec '%s': %s", c->exec_argv[0], strerror(-r));
                return r;
        }
        free(c->exec_path);
        c->exec_path = path;
        return 0;
}

/* Whether the workers will be able to append to the access log, without
 * creating it: a --check-config run as root must not leave a file that the
 * service's user cannot write. An existing file is opened for appending and
 * closed; for a missing one its directory must let us create it. */
static int check_access_log(const Config *c, char err[CONFIG_ERROR_MAX]) {
        const char *path = c->access_log_path;
        struct stat st;
        int fd, r = 0;

        if (c->access_log == CONFIG_ACCESS_LOG_JOURNAL) {
                if (stat(CONFIG_JOURNAL_SOCKET, &st) < 0)
                        r = negative_errno();
                else if (!S_ISSOCK(st.st_mode))
                        r = -ENOTSOCK;
                if (r < 0)
                        snprintf(err, CONFIG_ERROR_MAX,
                                 "access-log journal: no journal to send to: %s: %s",
                                 CONFIG_JOURNAL_SOCKET, strerror(-r));
                return r;
        }
        if (c->access_log != CONFIG_ACCESS_LOG_FILE)
                return 0;
        /* O_NONBLOCK: a FIFO without a reader fails at once instead of waiting */
        fd = open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                return 0;
        }
        r = negative_errno();
        if (r == -ENOENT) {
                _cleanup_free_ char *dir = strdup(path);
                if (!dir)
                        return -ENOMEM;
                *strrchr(dir, '/') = '\0';
                if (faccessat(AT_FDCWD, *dir ? dir : "/", W_OK | X_OK, AT_EACCESS) == 0)
                        return 0;
                r = negative_errno();
        }
        snprintf(err, CONFIG_ERROR_MAX, "access-log '%s': %s", path, strerror(-r));
        return r;
}

static int config_validate(Config *c, const char *where, char err[CONFIG_ERROR_MAX]) {
        struct stat st;

        if (c->heartbeat_interval_usec * 2 > c->heartbeat_timeout_usec) {
                snprintf(err, CONFIG_ERROR_MAX,
                         "%sheartbeat-timeout must be at least twice heartbeat-interval", where);
                return -EINVAL;
        }
        if (c->exec)
                return config_find_program(c, err); /* the root and access log are not used */
        if (stat(c->root, &st) < 0) {
                snprintf(err, CONFIG_ERROR_MAX, "%sroot '%s': %s", where, c->root, strerror(errno));
                return -ENOENT;
        }
        if (!S_ISDIR(st.st_mode)) {
                snprintf(err, CONFIG_ERROR_MAX, "%sroot '%s': not a directory", where, c->root);
                return -ENOTDIR;
        }
        return check_access_log(c, err);
}

int config_check_mime_types(const Config *c) {
        return access(c->mime_types, R_OK) < 0 ? negative_errno() : 0;
}

static int name_refused(const char *reason, const char **ret_reason) {
        *ret_reason = reason;
        return -EINVAL;
}

int config_check_bus_name(const char *name, const char **ret_reason) {
        size_t len = strlen(name), elements = 1;

        if (len == 0)
                return name_refused("empty", ret_reason);
        if (len > 255)
                return name_refused("longer than 255 bytes", ret_reason);
        for (const char *p = name; *p; p++) {
                bool element_start = p == name || p[-1] == '.';

                if (*p == '.') {
                        if (element_start || !p[1])
                                return name_refused("an empty element (a dot at either end, or "
                                                    "two in a row)",
                                                    ret_reason);
                        elements++;
                } else if (*p >= '0' && *p <= '9') {
                        if (element_start)
                                return name_refused("an element begins with a digit", ret_reason);
                } else if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && *p != '_' &&
                           *p != '-')
                        return name_refused("only letters, digits, '_' and '-' may stand between "
                                            "the dots",
                                            ret_reason);
        }
        if (elements < 2)
                return name_refused("a single element: it needs at least two, such as "
                                    "io.clusterd1.myapp",
                                    ret_reason);
        return 0;
}

int config_build(Config *c, const char *path, bool path_required, const ConfigOverride *o,
                 size_t n_o, char err[CONFIG_ERROR_MAX]) {
        bool listen_cleared = false, listen_tls_cleared = false;
        const char *root_from = "";
        int r;

        r = config_init(c);
        if (r < 0) {
                snprintf(err, CONFIG_ERROR_MAX, "out of memory");
                return r;
        }
        if (path) {
                r = config_load_file(c, path, err);
                if (r == -ENOENT && !path_required)
                        r = 0;
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_o; i++) {
                const char *reason = "invalid value";

                if (strcmp(o[i].key, "listen") == 0 && !listen_cleared) {
                        config_listen_clear(c);
                        listen_cleared = true;
                }
                if (strcmp(o[i].key, "listen-tls") == 0 && !listen_tls_cleared) {
                        config_listen_tls_clear(c);
                        listen_tls_cleared = true;
                }
                if (strcmp(o[i].key, "root") == 0)
                        root_from = "--";
                r = config_set(c, o[i].key, o[i].value, &reason);
                if (r < 0) {
                        snprintf(err, CONFIG_ERROR_MAX, "--%s '%s': %s", o[i].key, o[i].value,
                                 reason);
                        return r;
                }
        }
        /* the default plain address is for a config that names none at all */
        if (c->n_listen_tls > 0 && !c->listen_given)
                config_listen_clear(c);
        return config_validate(c, root_from, err);
}
