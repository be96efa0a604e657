/* The access log of one worker: one line per answered request, in the
 * combined log format, buffered and appended to a file in whole lines, or
 * sent to the journal as structured entries. Never logs itself: what goes
 * wrong is counted, and kept for the worker to report. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"

/* What the client sent is cut to these many bytes once escaped (a \xHH
 * escape is never split), so that a line always fits ACCESSLOG_LINE_MAX. */
#define ACCESSLOG_METHOD_MAX 32u
#define ACCESSLOG_TARGET_MAX 8192u
#define ACCESSLOG_REFERER_MAX 4096u
#define ACCESSLOG_AGENT_MAX 2048u
/* The longest line, its newline included. */
#define ACCESSLOG_LINE_MAX 16384u
/* A worker's buffer: written out when the next line would not fit, after at
 * most a second, on reopen and at exit. */
#define ACCESSLOG_BUFFER_SIZE (64u * 1024u)

/* One request as the log tells it. Strings are as the client sent them,
 * NULL when it sent none or clusterd does not know them; each is escaped on
 * the way out. */
typedef struct AccessEntry {
        const char *remote; /* the client's address, formatted (accesslog_format_addr) */
        const char *method;
        const char *target; /* the request-target, raw: path and query as sent */
        size_t target_len;
        const char *version; /* "HTTP/1.1" */
        unsigned status;
        bool bytes_known; /* false: "-" (an answer clusterd did not make) */
        uint64_t bytes;   /* body bytes of the answer */
        const char *referer;
        const char *user_agent;
} AccessEntry;

/* ---- the line: pure functions, for the tests too ---- */

/* Copies src (n bytes) to dst as the log shows it: printable ASCII as is,
 * but '"' and '\\', control bytes, DEL and every byte from 0x80 as \xHH,
 * as nginx does. Stops before an escape that does not fit in size bytes.
 * Returns the bytes written; nothing is NUL-terminated. */
size_t accesslog_escape(char *dst, size_t size, const char *src, size_t n);

/* "[03/Dec/2026:10:00:00 +0000]" for t, in local time: the combined
 * format's time field, whatever the locale. Returns its length. */
#define ACCESSLOG_TIME_MAX 32u
size_t accesslog_format_time(time_t t, char buf[ACCESSLOG_TIME_MAX]);

/* A client address as the log shows it: "127.0.0.1", "::1", an IPv4 client
 * of an IPv6 socket as "::ffff:127.0.0.1", anything else as "-". */
#define ACCESSLOG_ADDR_MAX 48u
void accesslog_format_addr(const struct sockaddr *sa, char buf[ACCESSLOG_ADDR_MAX]);

/* The line for e, at the time field given, with its newline, into buf of at
 * least ACCESSLOG_LINE_MAX bytes. Returns its length. */
size_t accesslog_format_line(const AccessEntry *e, const char *time_field, char *buf);

/* ---- the log of one worker ---- */

typedef struct AccessLog AccessLog;

/* Makes the log a config asks for: NULL in *ret when it is off. For the
 * journal it opens a socket of its own, so no other fd is needed for the
 * worker's life; a file is opened by accesslog_reopen(), which the caller
 * calls next. lost counts the lines that could not be written (it lives in
 * the worker's scoreboard entry). */
int accesslog_open(const Config *c, uint64_t *lost, AccessLog **ret);

/* The same for a file, or for a journal listening on socket_path. */
int accesslog_open_file(const char *path, uint64_t *lost, AccessLog **ret);
int accesslog_open_journal(const char *socket_path, uint64_t *lost, AccessLog **ret);

/* Adds the line for e, as of now (CLOCK_REALTIME seconds). A file's lines
 * wait in the buffer; when it is full it is written out first. A journal
 * entry goes at once, without blocking: one journald does not take now is
 * lost. */
void accesslog_add(AccessLog *l, const AccessEntry *e, time_t now);

/* Whether lines wait in the buffer. */
bool accesslog_pending(const AccessLog *l);

/* Whether lines were lost since accesslog_take_losses() last said so. */
bool accesslog_has_losses(const AccessLog *l);

/* Writes the buffered lines out in one write(), as whole lines appended to
 * the file. On an error the lines are dropped and counted as lost. A write
 * the file system has no room for is not tried (-ENOSPC), so that a full
 * disk does not cut a line short; should one be cut all the same (another
 * worker took the room first), the next write starts with a newline, so
 * that every later line stays whole. Returns 0 or the error. */
int accesslog_flush(AccessLog *l);

/* Opens the file: at start, and for logrotate. What is buffered is written
 * out to the file open now, then the path is opened again (a new file after
 * a rename: open(O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640),
 * less the umask) and written to from now on. This is the only place that
 * opens the file, but for the retry of a flush while none is open. When
 * the path cannot be opened, the file open before is kept (none at start:
 * each flush then tries again, and the lines are lost until one opens it)
 * and the error returned. Nothing to do for the journal. */
int accesslog_reopen(AccessLog *l);

/* The losses not yet reported: true with the last error and the lines lost
 * since the last call, false when there were none. */
bool accesslog_take_losses(AccessLog *l, int *ret_error, uint64_t *ret_lost);

/* "/var/log/clusterd/access.log", or "the journal". */
const char *accesslog_name(const AccessLog *l);

/* Writes out what is buffered, and closes. Takes NULL. */
AccessLog *accesslog_free(AccessLog *l);
