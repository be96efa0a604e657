/* libmicrohttpd's logger: see mhd-log.h. */
#include "mhd-log.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "scoreboard.h"

/* libmicrohttpd 1.0.1's messages for a failed accept (daemon.c,
 * MHD_accept_connection): first the error, then, for a lack of resources,
 * one of two lines that begin alike ("at FIRST connection" or "at %u
 * connections"). */
#define ACCEPT_ERROR "Error accepting connection: %s"
#define ACCEPT_OUT_OF_RESOURCES "Hit process or system resource limit at "

void mhd_log_init(MhdLog *l, uint64_t *accept_failed) {
        struct rlimit rl;

        *l = (MhdLog) { .accept_failed = accept_failed };
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                l->open_file_limit = rl.rlim_cur == RLIM_INFINITY ? 0 : (uint64_t) rl.rlim_cur;
        snprintf(l->error, sizeof l->error, "out of resources");
}

static void log_failed_accepts(MhdLog *l, uint64_t now) {
        log_warning("%llu connection(s) could not be accepted: %s (open file limit %llu); "
                    "they wait in the backlog until a connection closes: raise LimitNOFILE= "
                    "(ulimit -n) or lower connection-limit",
                    (unsigned long long) l->pending, l->error,
                    (unsigned long long) l->open_file_limit);
        l->pending = 0;
        l->last_logged_usec = now;
}

void mhd_log_flush(MhdLog *l, uint64_t now) {
        if (l->pending > 0 &&
            (l->last_logged_usec == 0 || now - l->last_logged_usec >= MHD_LOG_ACCEPT_INTERVAL_USEC))
                log_failed_accepts(l, now);
}

void mhd_log_message(void *cls, const char *fmt, va_list ap) {
        mhd_log_note(cls, now_usec(CLOCK_MONOTONIC), fmt, ap);
}

void mhd_log_note(MhdLog *l, uint64_t now, const char *fmt, va_list ap) {
        char msg[512];
        size_t n;

        if (strncmp(fmt, ACCEPT_OUT_OF_RESOURCES, strlen(ACCEPT_OUT_OF_RESOURCES)) == 0) {
                if (l->accept_failed)
                        score_add(l->accept_failed, 1);
                l->pending++;
                l->accept_stalled = true;
                mhd_log_flush(l, now);
                return;
        }
        if (strncmp(fmt, ACCEPT_ERROR, strlen(ACCEPT_ERROR)) == 0) {
                va_list copy;
                const char *err;

                va_copy(copy, ap);
                err = va_arg(copy, const char *);
                va_end(copy);
                if (err)
                        snprintf(l->error, sizeof l->error, "%s", err);
        }
        vsnprintf(msg, sizeof msg, fmt, ap);
        n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                msg[--n] = '\0';
        log_debug("libmicrohttpd: %s", msg);
}
