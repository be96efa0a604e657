/* A worker: MHD in external epoll mode inside an sd-event loop, plus the IPC
 * channel. It reports READY once serving and a heartbeat every interval,
 * keeps its counters in the scoreboard, drains on IPC_DRAIN or SIGTERM, and
 * exits when the manager's end of the channel closes, so no worker outlives
 * its manager. A worker that cannot do its job exits non-zero, to be
 * replaced. */
#include "worker.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "http.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "scoreboard.h"
#include "signals.h"
#include "worker-seccomp.h"

/* MHD deadlines further away than this are idle timeouts, which may fire
 * up to MHD_TIMER_ACCURACY_USEC late. */
#define MHD_TIMER_COARSE_USEC (1 * USEC_PER_SEC)
#define MHD_TIMER_ACCURACY_USEC (100 * USEC_PER_MSEC)

/* An access log line is written at most a second after its request: the
 * timer fires within its accuracy after LOG_FLUSH_USEC. Lost lines are
 * logged at most once per LOG_LOSS_REPORT_USEC. */
#define LOG_FLUSH_USEC (900 * USEC_PER_MSEC)
#define LOG_FLUSH_ACCURACY_USEC (100 * USEC_PER_MSEC)
#define LOG_LOSS_REPORT_USEC (60 * USEC_PER_SEC)

/* What the access log's timer is armed for: writing the buffered lines
 * out within a second, or, later, telling of losses held back. */
typedef enum LogTimer {
        LOG_TIMER_OFF,
        LOG_TIMER_FLUSH,
        LOG_TIMER_REPORT,
} LogTimer;

typedef struct Worker {
        const Config *config;
        unsigned id;
        int ipc_fd;
        Scoreboard *scoreboard;
        unsigned score_index;
        sd_event *event;
        HttpServer *http;
        sd_event_source *mhd_timer;
        AccessLog *log;             /* NULL: access-log = off */
        sd_event_source *log_timer; /* writes the buffered lines out */
        LogTimer log_timer_for;
        uint64_t log_reported_usec; /* when lost lines were last logged */
        uint32_t connections_peak;  /* since memory was last handed back */
        uint64_t last_trim_usec;
        bool exiting;
} Worker;

static uint64_t rss_bytes(void) {
        unsigned long long size, resident;
        FILE *f = fopen("/proc/self/statm", "re");
        int ok;

        if (!f)
                return 0;
        ok = fscanf(f, "%llu %llu", &size, &resident) == 2;
        fclose(f);
        return ok ? resident * (uint64_t) sysconf(_SC_PAGESIZE) : 0;
}

static int worker_send_heartbeat(Worker *w) {
        IpcHeartbeat hb = { .rss_bytes = rss_bytes() };

        return ipc_send(w->ipc_fd, IPC_HEARTBEAT, w->id, &hb, sizeof hb);
}

static void worker_exit(Worker *w, int status) {
        if (w->exiting)
                return;
        w->exiting = true;
        sd_event_exit(w->event, status);
}

/* Serving can no longer go on as it should: exit, to be replaced. */
static int worker_fail(Worker *w, const char *what, int r) {
        log_error("%s: %s, exiting", what, strerror(-r));
        worker_exit(w, EXIT_FAILURE);
        return 0;
}

/* A draining worker leaves as soon as its last connection is gone. */
static void worker_check_drained(Worker *w) {
        if (!http_server_draining(w->http) || http_server_connections(w->http) > 0)
                return;
        log_info("drained, exiting");
        worker_exit(w, EXIT_SUCCESS);
}

/* Each connection's memory pool comes from malloc, which keeps freed memory
 * in the heap. Hand it back after a burst: when the last connection of at
 * least TRIM_IDLE_PEAK has gone (checked after every MHD run, at most once
 * per TRIM_IDLE_INTERVAL_USEC so short-connection traffic that keeps
 * touching zero does not pay for it), or at a heartbeat once fewer than half
 * of a large peak remain. */
#define TRIM_IDLE_PEAK 8u
#define TRIM_IDLE_INTERVAL_USEC (1 * USEC_PER_SEC)
#define TRIM_LARGE_PEAK 64u

static void worker_trim_memory(Worker *w, bool idle_only) {
        uint32_t now = http_server_connections(w->http);
        bool trim;

        if (now > w->connections_peak) {
                w->connections_peak = now;
                return;
        }
        if (now == 0 && w->connections_peak >= TRIM_IDLE_PEAK) {
                uint64_t t = now_usec(CLOCK_MONOTONIC);
                trim = t - w->last_trim_usec >= TRIM_IDLE_INTERVAL_USEC;
                if (trim)
                        w->last_trim_usec = t;
        } else
                trim = !idle_only && w->connections_peak >= TRIM_LARGE_PEAK &&
                       now < w->connections_peak / 2;
        if (trim) {
                malloc_trim(0);
                w->connections_peak = now;
        }
}

static int on_mhd_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Worker *w = userdata;
        int r = http_server_run_fd(w->http, fd);

        if (r < 0)
                return worker_fail(w, "libmicrohttpd cannot run", r);
        worker_trim_memory(w, true);
        worker_check_drained(w);
        return 0;
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Worker *w = userdata;
        int r = http_server_run(w->http);

        if (r < 0)
                return worker_fail(w, "libmicrohttpd cannot run", r);
        worker_trim_memory(w, true);
        worker_check_drained(w);
        return 0;
}

/* ---- the access log ---- */

/* Lost lines, logged at once the first time, then at most once a minute
 * (always at exit), with the count since the last report. Never fatal. */
static void worker_report_log_losses(Worker *w, bool at_exit) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), lost;
        int err;

        if (!at_exit && w->log_reported_usec && now - w->log_reported_usec < LOG_LOSS_REPORT_USEC)
                return;
        if (!accesslog_take_losses(w->log, &err, &lost))
                return;
        log_warning("access log %s: %s: %llu line(s) lost%s; serving goes on",
                    accesslog_name(w->log), strerror(-err), (unsigned long long) lost,
                    w->log_reported_usec ? " since the last report" : "");
        w->log_reported_usec = now;
}

static int worker_arm_log_timer(Worker *w, LogTimer what, uint64_t usec) {
        int r = sd_event_source_set_time(w->log_timer, usec);

        if (r >= 0)
                r = sd_event_source_set_enabled(w->log_timer, SD_EVENT_ONESHOT);
        w->log_timer_for = r >= 0 ? what : LOG_TIMER_OFF;
        return r;
}

static int on_log_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Worker *w = userdata;

        w->log_timer_for = LOG_TIMER_OFF;
        (void) accesslog_flush(w->log); /* counted and reported, never fatal */
        worker_report_log_losses(w, false);
        /* losses held back by the once-a-minute rule are told when it
         * allows, unless a flush comes first (see on_prepare) */
        if (accesslog_has_losses(w->log) &&
            worker_arm_log_timer(w, LOG_TIMER_REPORT, w->log_reported_usec + LOG_LOSS_REPORT_USEC) <
                    0)
                return worker_fail(w, "cannot arm the access log timer", -EIO);
        return 0;
}

static void worker_reopen_log(Worker *w) {
        int r;

        if (!w->log)
                return;
        r = accesslog_reopen(w->log);
        if (r < 0)
                log_warning("cannot reopen the access log %s: %s; writing on to the file open "
                            "before",
                            accesslog_name(w->log), strerror(-r));
        else
                log_debug("access log %s reopened", accesslog_name(w->log));
}

/* Before every wait: arm the one timer to MHD's next deadline, and the
 * access log's when lines wait. A prepare callback that fails would have
 * sd-event switch the MHD source off for good, so it never fails: it ends
 * the worker instead. */
static int on_prepare(sd_event_source *s, void *userdata) {
        Worker *w = userdata;
        uint64_t usec;
        int r;

        /* lines wait: written out within a second, whatever else the timer
         * was armed for; losses of the journal, which buffers nothing, are
         * told as soon */
        if (w->log && w->log_timer_for != LOG_TIMER_FLUSH &&
            (accesslog_pending(w->log) ||
             (w->log_timer_for == LOG_TIMER_OFF && accesslog_has_losses(w->log))) &&
            worker_arm_log_timer(w, LOG_TIMER_FLUSH, now_usec(CLOCK_MONOTONIC) + LOG_FLUSH_USEC) <
                    0)
                return worker_fail(w, "cannot arm the access log timer", -EIO);

        if (!http_server_timeout(w->http, &usec))
                r = sd_event_source_set_enabled(w->mhd_timer, SD_EVENT_OFF);
        else {
                /* "run again now" must not wait; idle-connection timeouts
                 * may be coalesced, which spares a timerfd update on every
                 * loop iteration */
                r = sd_event_source_set_time_accuracy(
                        w->mhd_timer, usec < MHD_TIMER_COARSE_USEC ? 1 : MHD_TIMER_ACCURACY_USEC);
                if (r >= 0)
                        r = sd_event_source_set_time(w->mhd_timer,
                                                     now_usec(CLOCK_MONOTONIC) + usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(w->mhd_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                return worker_fail(w, "cannot arm the HTTP timer", r);
        return 0;
}

static int on_drain_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Worker *w = userdata;
        unsigned open = http_server_connections(w->http);

        log_warning("drain timeout reached with %u connection(s) open, exiting", open);
        worker_exit(w, open > 0 ? WORKER_EXIT_DRAIN_CUT : EXIT_SUCCESS);
        return 0;
}

static int worker_drain(Worker *w, uint64_t timeout_usec) {
        if (http_server_draining(w->http))
                return 0;
        log_info("draining, %u connection(s) open", http_server_connections(w->http));
        http_server_drain(w->http);
        (void) accesslog_flush(w->log);
        int r = sd_event_add_time(w->event, NULL, CLOCK_MONOTONIC,
                                  now_usec(CLOCK_MONOTONIC) + timeout_usec, 0, on_drain_deadline,
                                  w);
        if (r < 0)
                return r;
        worker_check_drained(w);
        return 0;
}

static int on_ipc(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Worker *w = userdata;
        IpcMessage m;
        int r;

        for (;;) {
                r = ipc_recv(fd, &m);
                if (r == -EAGAIN)
                        return 0;
                if (r == 0) {
                        log_info("manager closed the channel, exiting");
                        worker_exit(w, EXIT_FAILURE);
                        return 0;
                }
                if (r < 0) {
                        log_error("bad message from manager: %s, exiting", strerror(-r));
                        worker_exit(w, EXIT_FAILURE);
                        return 0;
                }
                switch (m.hdr.type) {
                case IPC_DRAIN:
                        r = worker_drain(w, m.drain.timeout_usec);
                        if (r < 0)
                                return worker_fail(w, "cannot start draining", r);
                        break;
                case IPC_REOPEN:
                        worker_reopen_log(w);
                        break;
                default:
                        log_error("unexpected %s message from manager, exiting",
                                  ipc_type_name(m.hdr.type));
                        worker_exit(w, EXIT_FAILURE);
                        return 0;
                }
        }
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        Worker *w = userdata;
        int r = worker_send_heartbeat(w);

        worker_trim_memory(w, false);

        if (r < 0 && r != -EAGAIN) {
                log_error("cannot reach the manager: %s, exiting", strerror(-r));
                worker_exit(w, EXIT_FAILURE);
                return 0;
        }
        r = sd_event_source_set_time(s, usec + w->config->heartbeat_interval_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0)
                return worker_fail(w, "cannot re-arm the heartbeat", r);
        return 0;
}

/* Once a second: cut the connections whose request is not arriving in
 * time, and those sending a file that shrank (each logged by sentfile.c),
 * and report failed accepts (mhd-log.h). */
#define STALL_CHECK_USEC (1000u * 1000u)

static int on_stall_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Worker *w = userdata;
        unsigned cut = http_server_cut_stalled(w->http, now_usec(CLOCK_MONOTONIC));
        int r;

        if (cut > 0)
                log_info("closed %u connection(s) whose request took longer than %us to arrive",
                         cut, w->config->connection_timeout_sec);
        (void) http_server_cut_shrunk(w->http);
        http_server_tick(w->http, now_usec(CLOCK_MONOTONIC));
        r = sd_event_source_set_time(s, usec + STALL_CHECK_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0)
                return worker_fail(w, "cannot re-arm the stall check", r);
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Worker *w = userdata;
        int r = worker_drain(w, w->config->drain_timeout_usec);

        if (r < 0)
                return worker_fail(w, "cannot start draining", r);
        return 0;
}

/* The access log, opened now, before anything confines the worker: a file
 * that cannot be opened is not fatal (each flush tries again), a journal
 * socket that cannot be made is. */
static int worker_setup_log(Worker *w) {
        ScoreCounters *counters = scoreboard_counters(w->scoreboard, w->score_index);
        int r;

        r = accesslog_open(w->config, &counters->access_log_errors, &w->log);
        if (r < 0)
                return log_error("cannot set up the access log (%s): %s",
                                 config_access_log_name(w->config), strerror(-r)),
                       r;
        if (!w->log)
                return 0;
        r = accesslog_reopen(w->log);
        if (r < 0)
                log_warning("cannot open the access log %s: %s; serving on, its lines are lost "
                            "until it can be opened",
                            accesslog_name(w->log), strerror(-r));
        r = sd_event_add_time(w->event, &w->log_timer, CLOCK_MONOTONIC, 0, LOG_FLUSH_ACCURACY_USEC,
                              on_log_timer, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->log_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_error("cannot add the access log timer: %s", strerror(-r)), r;
        http_server_set_access_log(w->http, w->log);
        return 0;
}

static int worker_setup(Worker *w, const int *listen_fds, const char *const *names, size_t n_fds) {
        static const int watched[] = { SIGTERM };
        bool tls[LISTEN_MAX_PER_WORKER] = {};
        sigset_t mask;
        int r;

        for (size_t i = 0; i < n_fds && i < ELEMENTSOF(tls); i++)
                tls[i] = names && listen_name_is_tls(names[i]);

        r = sd_event_new(&w->event);
        if (r < 0)
                return log_error("sd_event_new: %s", strerror(-r)), r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* SIGPIPE ignored is what lets MHD use sendfile; Ctrl-C's SIGINT
         * reaches the manager too, which drains us; a stray SIGUSR1 or
         * SIGHUP must not end a worker mid-request */
        signals_ignore_stray(watched, ELEMENTSOF(watched));
        r = sd_event_add_signal(w->event, NULL, SIGTERM, on_sigterm, w);
        if (r < 0)
                return log_error("cannot watch SIGTERM: %s", strerror(-r)), r;

        r = http_server_new(w->config, w->id, listen_fds, tls, n_fds, w->scoreboard, w->score_index,
                            &w->http);
        if (r < 0)
                return log_error("cannot start HTTP on %zu socket(s) with root %s: %s", n_fds,
                                 w->config->root, strerror(-r)),
                       r;

        r = worker_setup_log(w);
        if (r < 0)
                return r;

        r = sd_event_add_time(w->event, &w->mhd_timer, CLOCK_MONOTONIC, 0, 1, on_mhd_timer, w);
        if (r < 0)
                return log_error("cannot add MHD timer: %s", strerror(-r)), r;
        for (size_t i = 0; i < http_server_n_daemons(w->http); i++) {
                sd_event_source *io;
                r = sd_event_add_io(w->event, &io, http_server_epoll_fd(w->http, i), EPOLLIN,
                                    on_mhd_io, w);
                if (r < 0)
                        return log_error("cannot watch MHD: %s", strerror(-r)), r;
                if (i == 0)
                        r = sd_event_source_set_prepare(io, on_prepare);
                if (r < 0)
                        return log_error("cannot add prepare callback: %s", strerror(-r)), r;
                sd_event_source_set_floating(io, true);
                sd_event_source_unref(io);
        }

        r = sd_event_add_io(w->event, NULL, w->ipc_fd, EPOLLIN, on_ipc, w);
        if (r < 0)
                return log_error("cannot watch IPC: %s", strerror(-r)), r;
        r = sd_event_add_time_relative(w->event, NULL, CLOCK_MONOTONIC,
                                       w->config->heartbeat_interval_usec, 0, on_heartbeat, w);
        if (r < 0)
                return log_error("cannot add heartbeat timer: %s", strerror(-r)), r;
        r = sd_event_add_time_relative(w->event, NULL, CLOCK_MONOTONIC, STALL_CHECK_USEC,
                                       STALL_CHECK_USEC / 4, on_stall_check, w);
        if (r < 0)
                return log_error("cannot add the stalled-header timer: %s", strerror(-r)), r;
        return 0;
}

/* Once set up, a worker only serves: from here on its seccomp filter
 * refuses anything else (worker-seccomp). It is installed here, not where
 * the process is forked, because it fits the built-in worker alone. */
static int worker_confine(Worker *w) {
        ConfigSeccomp mode = w->config->worker_seccomp;
        int r = worker_seccomp_install(mode,
                                       scoreboard_denied_syscall(w->scoreboard, w->score_index));

        if (r < 0)
                return log_error("cannot install the seccomp filter (worker-seccomp %s): %s",
                                 config_seccomp_name(mode), strerror(-r)),
                       r;
        return 0;
}

int worker_main(const WorkerSetup *setup) {
        Worker w = {
                .config = setup->config,
                .id = setup->id,
                .ipc_fd = setup->ipc_fd,
                .scoreboard = setup->scoreboard,
                .score_index = setup->score_index,
        };
        char tag[32];
        int r;

        snprintf(tag, sizeof tag, "worker %u", w.id);
        log_setup(tag, w.config->log_level);

        r = worker_setup(&w, setup->listen_fds, setup->listen_names, setup->n_listen_fds);
        if (r >= 0)
                r = worker_confine(&w);
        if (r >= 0) {
                IpcReady ready = { .pid = (uint32_t) getpid(),
                                   .listeners = (uint32_t) setup->n_listen_fds };
                r = ipc_send(w.ipc_fd, IPC_READY, w.id, &ready, sizeof ready);
                if (r < 0)
                        log_error("cannot tell the manager we are ready: %s", strerror(-r));
        }
        if (r >= 0)
                r = sd_event_loop(w.event);

        /* the last requests end as MHD stops: their lines come after */
        http_server_free(w.http);
        if (w.log) {
                (void) accesslog_flush(w.log);
                worker_report_log_losses(&w, true);
                accesslog_free(w.log);
        }
        sd_event_source_unref(w.log_timer);
        sd_event_source_unref(w.mhd_timer);
        sd_event_unref(w.event);
        return r < 0 ? EXIT_FAILURE : r;
}
