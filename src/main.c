/* clusterd: argument handling, then the manager. */
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "manager.h"

#define MAX_OVERRIDES 64

static void help(void) {
        printf("Usage: clusterd [OPTION]...\n"
               "A prefork HTTP server for systemd: one libmicrohttpd worker per usable CPU.\n\n"
               "  -c, --config FILE             config file (default %s; optional unless given)\n"
               "  -l, --listen ADDR:PORT        listen here when systemd passes no socket;\n"
               "                                repeatable (default %s; IPv6 as [::1]:8080)\n"
               "      --listen-tls ADDR:PORT    listen here with HTTPS; repeatable (no default)\n"
               "      --tls-certificate FILE    certificate chain, PEM, leaf first (default\n"
               "                                $CREDENTIALS_DIRECTORY/tls.crt)\n"
               "      --tls-key FILE            its private key, PEM (default\n"
               "                                $CREDENTIALS_DIRECTORY/tls.key)\n"
               "      --tls-priorities STRING   GnuTLS priorities (default %s)\n"
               "  -w, --workers N|auto          worker processes (default auto: usable CPUs)\n"
               "  -r, --root DIR                document root (default %s)\n"
               "      --heartbeat-interval DUR  how often workers report (default 1s)\n"
               "      --heartbeat-timeout DUR   silence after which a worker is hung (default "
               "10s)\n"
               "      --drain-timeout DUR       time in-flight requests get on stop/reload "
               "(default 30s)\n"
               "      --restart-backoff-max DUR cap of the crash-loop restart delay (default 30s)\n"
               "      --crash-loop-limit N      crashes in a row that count as a crash loop "
               "(default 5)\n"
               "      --connection-timeout SEC  idle connection timeout (default 30)\n"
               "      --connection-limit N      connections per worker (default 4096)\n"
               "      --connection-memory SIZE  memory per connection (default 32K)\n"
               "      --mime-types FILE         extension to Content-Type map (default "
               "/etc/mime.types)\n"
               "      --log-level LEVEL         err, warning, notice, info or debug (default "
               "info)\n"
               "      --dotfiles allow|deny     serve paths with a segment starting with '.',\n"
               "                                /.well-known aside (default deny: 404)\n"
               "      --precompressed off|br,gz serve app.js.br or app.js.gz for app.js to\n"
               "                                clients that take it, in this order\n"
               "                                (default br,gz)\n"
               "      --compress on|off         compress small text files once, as they\n"
               "                                enter the cache (default on)\n"
               "      --access-log off|FILE|journal  log each request, in the combined format,\n"
               "                                to FILE (an absolute path) or the journal\n"
               "                                (default off)\n"
               "      --exec 'COMMAND [ARG]...' run this program as every worker, in place of\n"
               "                                the built-in server (split as ExecStart=)\n"
               "      --exec-ready notify|started  a program serves once it says READY=1\n"
               "                                (default), or once it started\n"
               "      --exec-ready-timeout DUR  time a program has to say READY=1 (default 30s)\n"
               "      --worker-seccomp yes|no|log\n"
               "                                confine each worker with a system call filter\n"
               "                                (default yes: a call outside it kills the\n"
               "                                worker; log: the kernel logs it, it goes on)\n"
               "      --bus-name NAME           the D-Bus name of the control API (default\n"
               "                                %s)\n"
               "      --check-config            check the configuration, print it and exit\n"
               "  -h, --help                    show this help\n"
               "      --version                 show the version\n\n"
               "Signals: SIGHUP reloads (rolling restart), SIGTERM/SIGINT drain and stop,\n"
               "SIGUSR1 reopens the access log.\n"
               "See clusterd(8).\n",
               CONFIG_DEFAULT_PATH, CONFIG_DEFAULT_LISTEN, TLS_DEFAULT_PRIORITIES,
               CONFIG_DEFAULT_ROOT, CONFIG_DEFAULT_BUS_NAME);
}

enum {
        OPT_VERSION = 0x100,
        OPT_CHECK,
        OPT_KEY, /* a long option whose name is a config key */
};

static void print_config(const Config *c) {
        printf("root = %s\n", c->root);
        for (size_t i = 0; i < c->n_listen; i++)
                printf("listen = %s\n", c->listen[i]);
        if (c->workers)
                printf("workers = %u\n", c->workers);
        else
                printf("workers = auto\n");
        printf("heartbeat-interval = %llums\nheartbeat-timeout = %llums\ndrain-timeout = %llums\n",
               (unsigned long long) c->heartbeat_interval_usec / 1000,
               (unsigned long long) c->heartbeat_timeout_usec / 1000,
               (unsigned long long) c->drain_timeout_usec / 1000);
        printf("restart-backoff-max = %llums\ncrash-loop-limit = %u\n",
               (unsigned long long) c->restart_backoff_max_usec / 1000, c->crash_loop_limit);
        printf("connection-timeout = %u\nconnection-limit = %u\nconnection-memory = %zu\n",
               c->connection_timeout_sec, c->connection_limit, c->connection_memory);
        printf("mime-types = %s\n", c->mime_types);
        static const char *const levels[] = { "emerg",   "alert",  "crit", "err",
                                              "warning", "notice", "info", "debug" };
        printf("log-level = %s\n", levels[c->log_level & 7]);
        printf("dotfiles = %s\n", c->dotfiles ? "allow" : "deny");
        char order[16];
        encoding_format_order(&c->precompressed, order, sizeof order);
        printf("precompressed = %s\ncompress = %s\n", order, c->compress ? "on" : "off");
        printf("access-log = %s\n", config_access_log_name(c));
        if (c->exec) {
                printf("exec = %s\n", c->exec);
                printf("# exec runs %s\n", c->exec_path);
        }
        printf("exec-ready = %s\nexec-ready-timeout = %llums\n",
               c->exec_ready_started ? "started" : "notify",
               (unsigned long long) c->exec_ready_timeout_usec / 1000);
        printf("worker-seccomp = %s\n", config_seccomp_name(c->worker_seccomp));
        printf("bus-name = %s\n", c->bus_name);
        for (size_t i = 0; i < c->n_listen_tls; i++)
                printf("listen-tls = %s\n", c->listen_tls[i]);
        if (tls_material_loaded(&c->tls)) {
                char when[32];
                tls_format_time(c->tls.not_after_usec, when);
                printf("tls-certificate = %s\ntls-key = %s\n# the certificate expires on %s\n",
                       c->tls.cert_path, c->tls.key_path, when);
        }
        printf("tls-priorities = %s\n", config_tls_priorities(c));
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "listen", required_argument, NULL, 'l' },
                { "listen-tls", required_argument, NULL, OPT_KEY },
                { "tls-certificate", required_argument, NULL, OPT_KEY },
                { "tls-key", required_argument, NULL, OPT_KEY },
                { "tls-priorities", required_argument, NULL, OPT_KEY },
                { "workers", required_argument, NULL, 'w' },
                { "root", required_argument, NULL, 'r' },
                { "heartbeat-interval", required_argument, NULL, OPT_KEY },
                { "heartbeat-timeout", required_argument, NULL, OPT_KEY },
                { "drain-timeout", required_argument, NULL, OPT_KEY },
                { "restart-backoff-max", required_argument, NULL, OPT_KEY },
                { "crash-loop-limit", required_argument, NULL, OPT_KEY },
                { "connection-timeout", required_argument, NULL, OPT_KEY },
                { "connection-limit", required_argument, NULL, OPT_KEY },
                { "connection-memory", required_argument, NULL, OPT_KEY },
                { "mime-types", required_argument, NULL, OPT_KEY },
                { "log-level", required_argument, NULL, OPT_KEY },
                { "dotfiles", required_argument, NULL, OPT_KEY },
                { "precompressed", required_argument, NULL, OPT_KEY },
                { "compress", required_argument, NULL, OPT_KEY },
                { "access-log", required_argument, NULL, OPT_KEY },
                { "exec", required_argument, NULL, OPT_KEY },
                { "exec-ready", required_argument, NULL, OPT_KEY },
                { "exec-ready-timeout", required_argument, NULL, OPT_KEY },
                { "worker-seccomp", required_argument, NULL, OPT_KEY },
                { "bus-name", required_argument, NULL, OPT_KEY },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        static ConfigOverride overrides[MAX_OVERRIDES];
        char err[CONFIG_ERROR_MAX] = "";
        const char *config_path = CONFIG_DEFAULT_PATH;
        bool config_required = false, check = false;
        size_t n = 0;
        Manager *m = NULL;
        Config c;
        int opt, idx, r;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":c:l:w:r:h", options, &idx)) != -1) {
                const char *key = NULL;
                switch (opt) {
                case 'c':
                        config_path = optarg;
                        config_required = true;
                        continue;
                case 'l':
                        key = "listen";
                        break;
                case 'w':
                        key = "workers";
                        break;
                case 'r':
                        key = "root";
                        break;
                case OPT_KEY:
                        key = options[idx].name;
                        break;
                case OPT_CHECK:
                        check = true;
                        continue;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case OPT_VERSION:
                        printf("clusterd %s (libmicrohttpd %s)\n", CLUSTERD_VERSION,
                               MHD_get_version());
                        return EXIT_SUCCESS;
                case ':':
                        fprintf(stderr, "clusterd: option '%s' needs a value (see --help)\n",
                                argv[optind - 1]);
                        return EXIT_FAILURE;
                default:
                        /* in a group like -zq getopt has not moved on yet */
                        if (optopt)
                                fprintf(stderr, "clusterd: unknown option '-%c' (see --help)\n",
                                        optopt);
                        else
                                fprintf(stderr, "clusterd: unknown option '%s' (see --help)\n",
                                        argv[optind - 1]);
                        return EXIT_FAILURE;
                }
                if (n == MAX_OVERRIDES) {
                        fprintf(stderr, "clusterd: too many options\n");
                        return EXIT_FAILURE;
                }
                overrides[n++] = (ConfigOverride) { key, optarg };
        }
        if (optind < argc) {
                fprintf(stderr, "clusterd: unexpected argument '%s' (see --help)\n", argv[optind]);
                return EXIT_FAILURE;
        }

        r = config_build(&c, config_path, config_required, overrides, n, err);
        if (r >= 0)
                r = config_load_tls(&c, NULL, now_usec(CLOCK_REALTIME), err);
        if (r < 0) {
                fprintf(stderr, "clusterd: %s\n", err);
                config_done(&c);
                return EXIT_FAILURE;
        }
        if (check) {
                const char *why = NULL;

                /* not an error, as at run time, but worth a line: every
                 * Content-Type would be application/octet-stream */
                r = config_check_mime_types(&c);
                if (r < 0 && !c.exec)
                        fprintf(stderr, "clusterd: warning: mime-types '%s': %s\n", c.mime_types,
                                strerror(-r));
                if (config_check_bus_name(c.bus_name, &why) < 0)
                        fprintf(stderr,
                                "clusterd: warning: bus-name '%s' is not a valid D-Bus name (%s): "
                                "the control API will be off\n",
                                c.bus_name, why);
                if (c.exec)
                        fprintf(stderr,
                                "clusterd: note: with exec, every worker runs '%s'; %s are "
                                "ignored\n",
                                c.exec_path, CONFIG_BUILTIN_ONLY_KEYS);
                print_config(&c);
                config_done(&c);
                return EXIT_SUCCESS;
        }

        r = manager_new(&c, config_path, config_required, overrides, n, &m);
        if (r < 0) {
                fprintf(stderr, "clusterd: %s\n", strerror(-r));
                config_done(&c);
                return EXIT_FAILURE;
        }
        r = manager_run(m);
        manager_free(m);
        return r;
}
