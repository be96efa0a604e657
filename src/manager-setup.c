/* The manager's setup, at start and at each reload: how many workers, the
 * checks of a config that are warnings rather than errors (the fd limit,
 * the MIME table, the certificate's expiry), the open file limit, and the
 * listening sockets, from systemd or bound here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cpu.h"
#include "log.h"
#include "macro.h"
#include "manager-internal.h"
#include "mhd-tls.h"

unsigned manager_wanted_workers(const Config *c) {
        unsigned n;

        if (c->workers)
                return c->workers;
        n = cpu_usable("");
        if (n > CONFIG_MAX_WORKERS) {
                log_notice("%u usable CPUs, starting the maximum of %u workers", n,
                           CONFIG_MAX_WORKERS);
                n = CONFIG_MAX_WORKERS;
        }
        return n;
}

/* What one worker may have open besides its connections: the listening
 * sockets, its channel, epoll and timer fds, a file being cached. */
#define FD_OVERHEAD 64u
/* A connection holds its socket, and while it sends a large file, the file. */
#define FDS_PER_CONNECTION 2u

void manager_check_config(const Config *c) {
        struct rlimit rl;
        uint64_t need = (uint64_t) c->connection_limit * FDS_PER_CONNECTION + FD_OVERHEAD;
        int r;

        if (c->exec) {
                log_info("every worker runs %s; %s are not used", c->exec_path,
                         CONFIG_BUILTIN_ONLY_KEYS);
                return;
        }
        r = config_check_mime_types(c);

        /* workers serve every file as application/octet-stream without the
         * MIME table, which browsers download instead of showing: say so
         * once, here, rather than in every worker */
        if (r < 0)
                log_warning("mime-types '%s': %s; every file is served as "
                            "application/octet-stream",
                            c->mime_types, strerror(-r));
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < need) {
                uint64_t fits = rl.rlim_cur > FD_OVERHEAD
                                        ? (rl.rlim_cur - FD_OVERHEAD) / FDS_PER_CONNECTION
                                        : 0;
                log_warning("the open file limit is %llu, but connection-limit %u needs up to "
                            "%llu fds per worker: connections beyond that wait unaccepted "
                            "(counted in clusterd_accept_failed_total); raise "
                            "LimitNOFILE= (ulimit -n) or set connection-limit to %llu",
                            (unsigned long long) rl.rlim_cur, c->connection_limit,
                            (unsigned long long) need, (unsigned long long) (fits ?: 1));
        }
}

int manager_check_tls(const Manager *m, const Config *c, char err[CONFIG_ERROR_MAX]) {
        size_t n = listen_count_tls(&m->listeners);

        if (c->exec || n == 0)
                return 0;
        if (!mhd_tls_supported()) {
                snprintf(err, CONFIG_ERROR_MAX,
                         "%zu socket(s) speak TLS, but this libmicrohttpd was built without "
                         "HTTPS",
                         n);
                return -EOPNOTSUPP;
        }
        if (!tls_material_loaded(&c->tls)) {
                snprintf(err, CONFIG_ERROR_MAX,
                         "%zu socket(s) named \"%s\" (clusterd-https.socket) need a "
                         "certificate: set tls-certificate and tls-key, or pass tls.crt and "
                         "tls.key with LoadCredential=",
                         n, LISTEN_NAME_TLS);
                return -ENOKEY;
        }
        return 0;
}

#define DAY_USEC (24 * 3600 * USEC_PER_SEC)

void manager_warn_tls_expiry(Manager *m, bool now) {
        const Config *c = &m->config->config;
        uint64_t t = now_usec(CLOCK_REALTIME), left;
        char when[32];

        /* the dispatch asks four times a second: the cheap tests first */
        if (c->exec || !tls_material_loaded(&c->tls) ||
            c->tls.not_after_usec > t + TLS_EXPIRY_WARN_USEC)
                return;
        if (!now && m->tls_warned_usec && t - m->tls_warned_usec < DAY_USEC)
                return;
        if (listen_count_tls(&m->listeners) == 0)
                return;
        m->tls_warned_usec = t;
        tls_format_time(c->tls.not_after_usec, when);
        if (c->tls.not_after_usec <= t) {
                log_error("the certificate %s expired on %s: clients refuse it; renew it and "
                          "reload",
                          c->tls.cert_path, when);
                return;
        }
        left = c->tls.not_after_usec - t;
        log_warning("the certificate %s expires in %.1f days, on %s: renew it and reload",
                    c->tls.cert_path, (double) left / DAY_USEC, when);
}

/* Each connection is an fd in a worker: take the hard limit, not the 1024
 * soft default (systemd's LimitNOFILE= sets both). */
void manager_raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning("cannot raise the open file limit: %s", strerror(errno));
        }
}

static void manager_log_listening(const Manager *m) {
        const ListenSet *set = &m->listeners;

        for (unsigned g = 0; g < set->n_groups; g++)
                for (size_t i = 0; i < set->n; i++)
                        if (set->items[i].group == g) {
                                log_info("listening on %s%s", set->items[i].addr,
                                         listen_name_is_tls(set->items[i].name) ? " (HTTPS)" : "");
                                break;
                        }
}

int manager_open_sockets(Manager *m) {
        const Config *c = &m->config->config;
        const char *failed = NULL;
        int r;

        r = listen_from_systemd(&m->listeners);
        if (r < 0) {
                log_error("cannot use the sockets passed by systemd: %s", strerror(-r));
                return r;
        }
        if (r > 0) {
                log_info("using %d socket(s) from systemd on %zu address(es)", r,
                         m->listeners.n_groups);
                if (c->listen_given || c->n_listen_tls > 0)
                        log_warning("listen addresses of the configuration are not used: systemd "
                                    "passed the sockets (ListenStream= in clusterd.socket and "
                                    "clusterd-https.socket)");
                manager_log_listening(m);
                for (unsigned g = 0; g < m->listeners.n_groups; g++) {
                        size_t size = listen_group_size(&m->listeners, g);
                        if (size > 1 && size % m->n_slots != 0)
                                log_warning("%zu sockets on one address do not divide evenly over "
                                            "%u workers: some workers will get more connections; "
                                            "repeat ListenStream= a multiple of %u times",
                                            size, m->n_slots, m->n_slots);
                }
                return 0;
        }
        /* one SO_REUSEPORT socket per worker spreads connections evenly */
        r = listen_bind(&m->listeners, c->listen, c->n_listen, m->n_slots, NULL, &failed);
        if (r >= 0)
                r = listen_bind(&m->listeners, c->listen_tls, c->n_listen_tls, m->n_slots,
                                LISTEN_NAME_TLS, &failed);
        if (r < 0) {
                log_error("cannot listen on %s: %s", failed, strerror(-r));
                return r;
        }
        for (size_t i = 0; i < c->n_listen; i++)
                log_info("listening on %s", c->listen[i]);
        for (size_t i = 0; i < c->n_listen_tls; i++)
                log_info("listening on %s (HTTPS)", c->listen_tls[i]);
        return 0;
}
