/* libmicrohttpd's messages, and the failed accepts only they tell of.
 *
 * MHD accepts connections itself. When accept() fails for want of a
 * resource (EMFILE or ENFILE: out of file descriptors; or out of kernel
 * memory), MHD stops accepting until a connection closes and says so only
 * in its log: clients then wait unanswered in the backlog, and without a
 * logger nothing shows why. So each daemon gets this logger
 * (MHD_OPTION_EXTERNAL_LOGGER with MHD_USE_ERROR_LOG), which knows the
 * message by its format string (libmicrohttpd 1.0.1's, "Hit process or
 * system resource limit ..."), counts each such failed accept in the
 * worker's scoreboard entry (clusterd_worker_accept_failed_total), and
 * logs them at most once every MHD_LOG_ACCEPT_INTERVAL_USEC with their
 * count. Every other message goes to the log at debug. A library built
 * without messages (configure --disable-messages) reports nothing: the
 * count then stays 0. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define MHD_LOG_ACCEPT_INTERVAL_USEC (10u * 1000u * 1000u)
#define MHD_LOG_ERROR_MAX 64u

typedef struct MhdLog {
        uint64_t *accept_failed;  /* the scoreboard's counter */
        uint64_t open_file_limit; /* RLIMIT_NOFILE's soft limit, read at setup */
        uint64_t pending;         /* failed accepts not logged yet */
        /* an accept failed and none has succeeded since: MHD keeps its
         * listening socket out of its epoll set until a connection closes,
         * and puts it back only in the run after that (see daemon_run()) */
        bool accept_stalled;
        uint64_t last_logged_usec;     /* CLOCK_MONOTONIC; 0: never */
        char error[MHD_LOG_ERROR_MAX]; /* accept()'s last error, as MHD gave it */
} MhdLog;

/* Counts into accept_failed from now on; reads the open file limit, so call
 * it before the worker's seccomp filter is installed. */
void mhd_log_init(MhdLog *l, uint64_t *accept_failed);

/* The logger to pass as MHD_OPTION_EXTERNAL_LOGGER, with an MhdLog. */
void mhd_log_message(void *cls, const char *fmt, va_list ap);

/* What mhd_log_message() does, as of now (CLOCK_MONOTONIC usec). */
void mhd_log_note(MhdLog *l, uint64_t now, const char *fmt, va_list ap);

/* Logs the failed accepts not logged yet, once the interval since the last
 * line has passed, as of now (CLOCK_MONOTONIC usec): the worker's
 * once-a-second tick calls it, so the last of a burst is reported too. */
void mhd_log_flush(MhdLog *l, uint64_t now);
