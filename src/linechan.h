/* The message channel of an application worker (CLUSTERD_IPC_FD): newline-
 * delimited UTF-8 text on a stream socket, at most LINECHAN_LINE_MAX bytes a
 * line, both ways. The reader cuts lines out of whatever arrives and drops
 * the over-long ones; the writer queues lines up to a bound. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINECHAN_LINE_MAX 4096u
/* What the manager queues for a worker that does not read, at most. */
#define LINECHAN_QUEUE_MAX (64u * 1024u)

typedef struct LineReader {
        char buf[LINECHAN_LINE_MAX + 1];
        size_t len;
        bool discarding;       /* in an over-long line, until its newline */
        uint64_t dropped_long; /* over-long lines dropped */
} LineReader;

typedef void (*LineHandler)(const char *line, size_t len, void *userdata);

/* Feeds n bytes; calls handle for every complete line, NUL-terminated,
 * without its newline (a "\r\n" loses its "\r" too), with bytes that are
 * not UTF-8 replaced by '?' and control bytes by spaces. */
void linechan_feed(LineReader *r, const char *data, size_t n, LineHandler handle, void *userdata);

typedef struct LineWriter {
        char *buf;
        size_t len;
} LineWriter;

/* Queues text and a newline. -EINVAL for text with a newline or a NUL, or
 * longer than a line may be; -ENOBUFS when the queue would pass
 * LINECHAN_QUEUE_MAX (nothing is queued). */
int linechan_queue(LineWriter *w, const char *text);

/* Writes what is queued to fd without blocking. 0 when all went, 1 when some
 * is left (wait for EPOLLOUT), or a negative errno. */
int linechan_flush(LineWriter *w, int fd);

void linechan_writer_done(LineWriter *w);

/* Replaces what is not UTF-8 in s by '?' and control bytes by spaces, in
 * place; s is NUL-terminated. */
void linechan_sanitize(char *s);
