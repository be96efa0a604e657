/* Files that shrink while they are sent. A file answer goes out with
 * sendfile, which stops short at the file's new end; libmicrohttpd then
 * clears its write-ready flag and waits for the next EPOLLOUT edge, which
 * never comes while the socket stays writable, so the download hangs until
 * the connection timeout (libmicrohttpd 1.0.1, mhd_send.c; its read path,
 * used under TLS, closes at the new end by itself). The worker checks the
 * files being sent once a second and shuts down the connection of any that
 * no longer holds what was promised: the client sees a short body, as from
 * nginx, instead of a stall. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;
struct Conn;
struct ConnList;

typedef struct SentFile {
        bool watched;
        int fd; /* the answer's: libmicrohttpd closes it with the answer */
        dev_t dev;
        ino_t ino;
        uint64_t end; /* the offset one past the last byte promised */
} SentFile;

/* The answer on conn sends fd (st as opened) up to end. Takes a NULL conn. */
void sentfile_watch(struct Conn *conn, int fd, const struct stat *st, uint64_t end);

/* The request on conn ends: the file is no longer watched. If it shrank,
 * that is logged (libmicrohttpd's read path ends the answer short itself). */
void sentfile_done(struct Conn *conn);

/* Shuts down every connection whose file now ends before what its answer
 * promised, and logs each at info. Returns how many. */
unsigned sentfile_cut_shrunk(struct ConnList *l);
