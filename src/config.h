/* clusterd's settings: defaults, the INI file, and command-line overrides.
 * Helpers here never log; they fill an error message the caller prints once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encoding.h"
#include "tls.h"

#define CONFIG_DEFAULT_PATH "/etc/clusterd/clusterd.conf"
#define CONFIG_DEFAULT_LISTEN "127.0.0.1:8080"
#define CONFIG_DEFAULT_ROOT "/usr/share/clusterd/www"
#define CONFIG_DEFAULT_BUS_NAME "io.clusterd1"
#define CONFIG_MAX_WORKERS 256u
#define CONFIG_MAX_LISTEN 16u
#define CONFIG_ERROR_MAX 512

/* Where each answered request is logged (access-log). */
typedef enum ConfigAccessLog {
        CONFIG_ACCESS_LOG_OFF,
        CONFIG_ACCESS_LOG_FILE, /* appended to access_log_path */
        CONFIG_ACCESS_LOG_JOURNAL,
} ConfigAccessLog;

/* The socket journald takes native entries on. */
#define CONFIG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* What confines a built-in worker once it is set up (worker-seccomp). */
typedef enum ConfigSeccomp {
        CONFIG_SECCOMP_YES, /* a call outside the filter kills the worker */
        CONFIG_SECCOMP_NO,  /* no filter */
        CONFIG_SECCOMP_LOG, /* a call outside the filter is logged by the kernel and goes on */
} ConfigSeccomp;

typedef struct Config {
        char *root;
        char *listen[CONFIG_MAX_LISTEN];
        size_t n_listen;
        bool listen_given;                 /* by the file or command line, not the default */
        unsigned workers;                  /* 0 means auto */
        char *mime_types;                  /* path of the mime.types file */
        uint64_t heartbeat_interval_usec;  /* how often workers report */
        uint64_t heartbeat_timeout_usec;   /* silence after which a worker is hung */
        uint64_t drain_timeout_usec;       /* how long in-flight requests may finish */
        uint64_t restart_backoff_max_usec; /* cap of the crash-loop backoff */
        unsigned crash_loop_limit;         /* consecutive crashes that make a slot give up */
        unsigned connection_timeout_sec;   /* idle connection timeout */
        unsigned connection_limit;         /* per worker */
        size_t connection_memory;          /* bytes per connection */
        int log_level;                     /* syslog priority */
        bool dotfiles;                     /* serve paths with a segment starting with '.' */
        /* precompressed siblings (app.js.br, app.js.gz) served, in this
         * order on a tie; n 0: none */
        CodingOrder precompressed;
        bool compress; /* compress small text files as they enter the cache */
        ConfigAccessLog access_log;
        char *access_log_path; /* an absolute path, for CONFIG_ACCESS_LOG_FILE */
        char *bus_name;        /* the D-Bus name the control API takes */
        /* application workers: a program of the user's instead of the
         * built-in server (NULL: the built-in server) */
        char *exec;                       /* the command line as given */
        char **exec_argv;                 /* split into words */
        char *exec_path;                  /* the program found, by config_build */
        bool exec_ready_started;          /* serving once exec'd, not at READY=1 */
        uint64_t exec_ready_timeout_usec; /* to say READY=1 in, or be killed */
        ConfigSeccomp worker_seccomp;
        /* HTTPS (the built-in server): addresses bound here, and the
         * certificate chain and key; sockets from systemd named "https"
         * are TLS as well */
        char *listen_tls[CONFIG_MAX_LISTEN];
        size_t n_listen_tls;
        char *tls_certificate; /* tls-certificate =, or NULL */
        char *tls_key;         /* tls-key =, or NULL */
        char *tls_priorities;  /* GnuTLS priority string, or NULL: the default */
        TlsMaterial tls;       /* read by config_load_tls() */
} Config;

/* The settings only the built-in server uses: with exec, they are ignored. */
#define CONFIG_BUILTIN_ONLY_KEYS                                                    \
        "root, dotfiles, precompressed, compress, mime-types, access-log, "         \
        "connection-timeout, connection-limit, connection-memory, worker-seccomp, " \
        "tls-certificate, tls-key, tls-priorities"

/* One "key=value" taken from the command line, applied after the file. */
typedef struct ConfigOverride {
        const char *key;
        const char *value;
} ConfigOverride;

/* The defaults. -ENOMEM leaves c empty (config_done-able). */
int config_init(Config *c);
void config_done(Config *c);

/* A config shared by the manager and every worker started under it, so
 * that each worker is held to the settings it was started with, whatever a
 * later reload changed. */
typedef struct ConfigRef {
        unsigned n_ref;
        unsigned gen; /* 1 for the first config, one more per reload applied */
        Config config;
} ConfigRef;

/* Moves *take into a new reference-counted config. */
int config_ref_new(Config *take, unsigned gen, ConfigRef **ret);
ConfigRef *config_ref(ConfigRef *r);
/* Drops one reference; frees the config with the last. Returns NULL. */
ConfigRef *config_unref(ConfigRef *r);
static inline void config_unrefp(ConfigRef **r) {
        config_unref(*r);
}

/* Sets one key. Returns 0, -ENOENT for an unknown key, -EINVAL for a bad value;
 * on error *ret_reason (static string) says what is wrong with the value. */
int config_set(Config *c, const char *key, const char *value, const char **ret_reason);

/* Reads an INI file into c. A missing file is -ENOENT and leaves c untouched.
 * On any other error, err holds "FILE:LINE: ..." */
int config_load_file(Config *c, const char *path, char err[CONFIG_ERROR_MAX]);

/* Defaults, then the file (optional unless required), then the overrides:
 * the full load used at start and on every reload. */
int config_build(Config *c, const char *path, bool path_required, const ConfigOverride *o,
                 size_t n_o, char err[CONFIG_ERROR_MAX]);

/* The step after config_build(), at start and at every reload: reads the
 * certificate chain and key for HTTPS and checks them (tls.c); config_set()
 * checked tls-priorities already. The files are tls-certificate and tls-key;
 * without them,
 * `passed` when not NULL (what the reload helper passed for the
 * credentials, see clusterd-tls-pass), else tls.crt and tls.key in
 * $CREDENTIALS_DIRECTORY when it holds them (systemd's LoadCredential=).
 * No certificate at all is fine unless listen-tls is set: sockets from
 * systemd are the manager's to check. With exec, nothing is read. err
 * names the file at fault. */
int config_load_tls(Config *c, const TlsMaterial *passed, uint64_t now_usec,
                    char err[CONFIG_ERROR_MAX]);

/* The GnuTLS priority string in force. */
const char *config_tls_priorities(const Config *c);

/* Whether the mime-types file can be read: 0, or a negative errno. Not a
 * config error (workers then answer every file as application/octet-stream),
 * but worth a warning from whoever checks the config. */
int config_check_mime_types(const Config *c);

/* "off", "journal" or the file's path. */
const char *config_access_log_name(const Config *c);

/* "yes", "no" or "log". */
const char *config_seccomp_name(ConfigSeccomp s);
/* Whether name is a well-known D-Bus name (dot-separated elements of
 * [A-Za-z0-9_-], not starting with a digit, at least two, 255 bytes at
 * most): 0, or -EINVAL with *ret_reason (a static string) saying what is
 * wrong. Not a config error either: the control API is then off, serving
 * goes on, as when the name cannot be had on the bus. */
int config_check_bus_name(const char *name, const char **ret_reason);

/* Empty the listen or the listen-tls list: the file's first listen line
 * replaces the defaults rather than adding to them. */
void config_listen_clear(Config *c);
void config_listen_tls_clear(Config *c);

/* Value parsers, exposed for the command line and the tests. */
int config_parse_workers(const char *s, unsigned *ret);
int config_parse_duration(const char *s, uint64_t *ret_usec);
int config_parse_size(const char *s, uint64_t *ret);
int config_parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret);
