/* The watch on files being sent: see sentfile.h. */
#include "sentfile.h"

#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

void sentfile_watch(Conn *conn, int fd, const struct stat *st, uint64_t end) {
        if (!conn)
                return;
        conn->file = (SentFile) {
                .watched = true, .fd = fd, .dev = st->st_dev, .ino = st->st_ino, .end = end
        };
}

/* Whether f's file now ends before f->end, with its size then. A file that
 * is no longer the one watched (its fd was closed and reused: should not
 * happen, as the watch ends before libmicrohttpd closes it) is not. */
static bool shrunk(const SentFile *f, uint64_t *ret_size) {
        struct stat st;

        if (fstat(f->fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)
                return false;
        *ret_size = (uint64_t) st.st_size;
        return (uint64_t) st.st_size < f->end;
}

static void log_shrunk(const SentFile *f, uint64_t size, const char *what) {
        char link[32], path[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", f->fd);
        n = readlink(link, path, sizeof path - 1);
        if (n < 0)
                snprintf(path, sizeof path, "(fd %d)", f->fd);
        else
                path[n] = '\0';
        log_info("%s: %s shrank to %llu bytes while sent, short of the %llu promised", what, path,
                 (unsigned long long) size, (unsigned long long) f->end);
}

void sentfile_done(Conn *conn) {
        uint64_t size;

        if (!conn || !conn->file.watched)
                return;
        if (shrunk(&conn->file, &size))
                log_shrunk(&conn->file, size, "answer ended short");
        conn->file.watched = false;
}

unsigned sentfile_cut_shrunk(ConnList *l) {
        unsigned cut = 0;
        uint64_t size;

        for (Conn *conn = l->head; conn; conn = conn->next) {
                if (!conn->file.watched || !shrunk(&conn->file, &size))
                        continue;
                /* the watch ends here: a cut is logged once, not again at the close */
                conn->file.watched = false;
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
                /* what the socket holds still goes out, then the FIN; MHD
                 * sees the shut-down socket and closes the connection */
                if (!ci || shutdown(ci->connect_fd, SHUT_RDWR) < 0)
                        continue;
                conn->cut = true;
                log_shrunk(&conn->file, size, "closed a connection");
                cut++;
        }
        return cut;
}
