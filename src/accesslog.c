/* The access log: combined-format lines, escaped as nginx does, kept in a
 * per-worker buffer and appended to the file in one write() of whole lines,
 * or sent to journald as native-protocol datagrams. */
#include "accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "scoreboard.h"

struct AccessLog {
        ConfigAccessLog kind;
        char *path;   /* the file, or the journal's socket */
        int fd;       /* the file (-1 while it cannot be opened), or the socket */
        bool regular; /* the file is a regular one, on a file system that can fill */
        struct sockaddr_un journal;
        socklen_t journal_len;
        uint64_t *lost; /* shared: the scoreboard's counter */
        uint64_t lost_unreported;
        int last_error;
        /* a file's lines, from buf + 1; buf[0] is room for the newline that
         * ends a line the disk cut short (see accesslog_flush) */
        char *buf;
        size_t len;
        unsigned lines;
        bool torn;
        /* the time field of the current second, formatted once */
        time_t clock_sec;
        char clock[ACCESSLOG_TIME_MAX];
};

/* ---- the line ---- */

/* The bytes written as they are: printable ASCII but '"' (0x22) and '\\'
 * (0x5c). */
static const bool plain[256] = {
        [0x20 ... 0x21] = true,
        [0x23 ... 0x5b] = true,
        [0x5d ... 0x7e] = true,
};

size_t accesslog_escape(char *dst, size_t size, const char *src, size_t n) {
        static const char hex[] = "0123456789ABCDEF";
        size_t out = 0, i = 0;

        while (i < n) {
                /* a run of plain bytes in one copy, as far as there is room */
                size_t run = i;
                while (run < n && plain[(unsigned char) src[run]])
                        run++;
                if (run - i > size - out)
                        run = i + (size - out);
                memcpy(dst + out, src + i, run - i);
                out += run - i;
                i = run;
                if (i == n || out + 4 > size || plain[(unsigned char) src[i]])
                        break;
                unsigned char c = (unsigned char) src[i++];
                dst[out++] = '\\';
                dst[out++] = 'x';
                dst[out++] = hex[c >> 4];
                dst[out++] = hex[c & 15];
        }
        return out;
}

size_t accesslog_format_time(time_t t, char buf[ACCESSLOG_TIME_MAX]) {
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        long off;
        int n;

        if (!localtime_r(&t, &tm))
                return (size_t) snprintf(buf, ACCESSLOG_TIME_MAX, "[-]");
        off = tm.tm_gmtoff / 60;
        n = snprintf(buf, ACCESSLOG_TIME_MAX, "[%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld]",
                     tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
        return n > 0 && n < (int) ACCESSLOG_TIME_MAX ? (size_t) n : 0;
}

void accesslog_format_addr(const struct sockaddr *sa, char buf[ACCESSLOG_ADDR_MAX]) {
        const void *a = NULL;

        if (sa && sa->sa_family == AF_INET)
                a = &((const struct sockaddr_in *) sa)->sin_addr;
        else if (sa && sa->sa_family == AF_INET6)
                a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
        if (!a || !inet_ntop(sa->sa_family, a, buf, ACCESSLOG_ADDR_MAX))
                strcpy(buf, "-");
}

static char *put(char *p, const char *s, size_t n) {
        memcpy(p, s, n);
        return p + n;
}

static char *put_uint(char *p, uint64_t v) {
        char tmp[20];
        size_t n = 0;

        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        while (n)
                *p++ = tmp[--n];
        return p;
}

/* A field the client sent, escaped and cut to max bytes; "-" when it sent
 * none (or an empty one, as nginx shows it). */
static char *put_field(char *p, const char *s, size_t n, size_t max) {
        if (!s || n == 0)
                return put(p, "-", 1);
        return p + accesslog_escape(p, max, s, n);
}

static size_t len_or_0(const char *s) {
        return s ? strlen(s) : 0;
}

size_t accesslog_format_line(const AccessEntry *e, const char *time_field, char *buf) {
        char *p = buf;

        p = put(p, e->remote ? e->remote : "-", e->remote ? strnlen(e->remote, 47) : 1);
        p = put(p, " - - ", 5);
        p = put(p, time_field, strnlen(time_field, ACCESSLOG_TIME_MAX - 1));
        p = put(p, " \"", 2);
        p = put_field(p, e->method, len_or_0(e->method), ACCESSLOG_METHOD_MAX);
        *p++ = ' ';
        p = put_field(p, e->target, e->target ? e->target_len : 0, ACCESSLOG_TARGET_MAX);
        *p++ = ' ';
        p = put_field(p, e->version, len_or_0(e->version), ACCESSLOG_METHOD_MAX);
        p = put(p, "\" ", 2);
        p = put_uint(p, e->status % 1000);
        *p++ = ' ';
        p = e->bytes_known ? put_uint(p, e->bytes) : put(p, "-", 1);
        p = put(p, " \"", 2);
        p = put_field(p, e->referer, len_or_0(e->referer), ACCESSLOG_REFERER_MAX);
        p = put(p, "\" \"", 3);
        p = put_field(p, e->user_agent, len_or_0(e->user_agent), ACCESSLOG_AGENT_MAX);
        p = put(p, "\"\n", 2);
        return (size_t) (p - buf);
}

/* The time field for now, formatted again only when the second changed. */
static const char *clock_text(AccessLog *l, time_t now) {
        if (now != l->clock_sec || !l->clock[0]) {
                if (accesslog_format_time(now, l->clock) == 0)
                        strcpy(l->clock, "[-]");
                l->clock_sec = now;
        }
        return l->clock;
}

/* ---- losses ---- */

static void count_lost(AccessLog *l, uint64_t lines, int error) {
        if (lines == 0)
                return;
        score_add(l->lost, lines);
        l->lost_unreported += lines;
        l->last_error = error;
}

bool accesslog_take_losses(AccessLog *l, int *ret_error, uint64_t *ret_lost) {
        if (!l || l->lost_unreported == 0)
                return false;
        *ret_error = l->last_error;
        *ret_lost = l->lost_unreported;
        l->lost_unreported = 0;
        return true;
}

/* ---- a file ---- */

static int file_open(const char *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        return fd < 0 ? negative_errno() : fd;
}

/* Takes fd as the file written to from now on. */
static void file_use(AccessLog *l, int fd) {
        struct stat st;

        safe_close(l->fd);
        l->fd = fd;
        l->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        l->torn = false;
}

/* Blocks to spare beside the lines' own: the partly filled block they
 * begin in, and one for the file system's own use (an extent block). */
#define ROOM_SPARE_BLOCKS 2u

/* Whether the file system can take n more bytes. A write that does not fit
 * stops where the disk is full, in the middle of a line, and another
 * worker's lines would then run on from there; one that is not tried cuts
 * nothing. What another worker writes at the same moment can still take
 * the room, and a quota is not seen here: a line cut short stays rare, not
 * impossible. When it cannot be told, the write is tried. */
static bool file_has_room(const AccessLog *l, size_t n) {
        struct statfs sf;

        if (!l->regular || fstatfs(l->fd, &sf) < 0 || sf.f_bsize <= 0)
                return true;
        return (uint64_t) sf.f_bavail >=
               (n + (uint64_t) sf.f_bsize - 1) / (uint64_t) sf.f_bsize + ROOM_SPARE_BLOCKS;
}

/* How many lines end in the first n bytes of p. */
static unsigned lines_in(const char *p, size_t n) {
        unsigned lines = 0;

        for (const char *end = p + n; (p = memchr(p, '\n', (size_t) (end - p))); p++)
                lines++;
        return lines;
}

int accesslog_flush(AccessLog *l) {
        const char *p;
        size_t n, done = 0;
        int r = 0;

        if (!l || l->kind != CONFIG_ACCESS_LOG_FILE || l->len == 0)
                return 0;
        if (l->fd < 0) {
                /* it could not be opened before: try once per flush */
                int fd = file_open(l->path);
                if (fd < 0) {
                        count_lost(l, l->lines, fd);
                        l->len = l->lines = 0;
                        return fd;
                }
                file_use(l, fd);
        }
        p = l->buf + 1;
        n = l->len;
        if (l->torn) {
                l->buf[0] = '\n';
                p--;
                n++;
        }
        if (!file_has_room(l, n))
                r = -ENOSPC;
        while (r == 0 && done < n) {
                ssize_t k = write(l->fd, p + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? negative_errno() : -EIO;
                        break;
                }
                done += (size_t) k;
        }
        if (r < 0) {
                size_t lead = l->torn ? 1 : 0; /* the newline that ends a cut line */
                unsigned whole = done > lead ? lines_in(p + lead, done - lead) : 0;
                count_lost(l, l->lines - whole, r);
                if (done > 0)
                        l->torn = p[done - 1] != '\n';
        } else
                l->torn = false;
        l->len = l->lines = 0;
        return r;
}

int accesslog_reopen(AccessLog *l) {
        int fd;

        if (!l || l->kind != CONFIG_ACCESS_LOG_FILE)
                return 0;
        if (l->fd >= 0)
                (void) accesslog_flush(l); /* into the file the lines were meant for */
        fd = file_open(l->path);
        if (fd < 0) {
                l->last_error = fd;
                return fd;
        }
        file_use(l, fd);
        return 0;
}

bool accesslog_pending(const AccessLog *l) {
        return l && l->len > 0;
}

bool accesslog_has_losses(const AccessLog *l) {
        return l && l->lost_unreported > 0;
}

/* ---- the journal ---- */

/* One native-protocol datagram: FIELD=value lines, each value escaped as in
 * the line (so none holds a newline), MESSAGE= the line itself. A field the
 * client did not send is left out. */
static void journal_send(AccessLog *l, const AccessEntry *e, const char *line, size_t line_len) {
        char method[ACCESSLOG_METHOD_MAX], target[ACCESSLOG_TARGET_MAX];
        char referer[ACCESSLOG_REFERER_MAX], agent[ACCESSLOG_AGENT_MAX];
        char status[32], bytes[40];
        struct iovec iov[32];
        size_t n = 0;

#define FIELD(s, len)                                                                     \
        do {                                                                              \
                iov[n++] = (struct iovec) { .iov_base = (void *) (s), .iov_len = (len) }; \
        } while (0)
#define TEXT(s) FIELD(s, strlen(s))
#define ESCAPED(name, buf, s, len)                                                 \
        do {                                                                       \
                if ((s) && (len) > 0) {                                            \
                        TEXT(name "=");                                            \
                        FIELD(buf, accesslog_escape(buf, sizeof buf, (s), (len))); \
                        TEXT("\n");                                                \
                }                                                                  \
        } while (0)

        TEXT("MESSAGE=");
        FIELD(line, line_len - 1); /* without its newline */
        TEXT("\nPRIORITY=6\nSYSLOG_IDENTIFIER=clusterd\n");
        ESCAPED("REQUEST_METHOD", method, e->method, len_or_0(e->method));
        ESCAPED("REQUEST_PATH", target, e->target, e->target ? e->target_len : 0);
        snprintf(status, sizeof status, "STATUS=%u\n", e->status);
        TEXT(status);
        if (e->bytes_known) {
                snprintf(bytes, sizeof bytes, "BYTES=%llu\n", (unsigned long long) e->bytes);
                TEXT(bytes);
        }
        if (e->remote) {
                TEXT("REMOTE_ADDR=");
                TEXT(e->remote);
                TEXT("\n");
        }
        ESCAPED("REFERER", referer, e->referer, len_or_0(e->referer));
        ESCAPED("USER_AGENT", agent, e->user_agent, len_or_0(e->user_agent));
#undef ESCAPED
#undef TEXT
#undef FIELD

        struct msghdr mh = {
                .msg_name = &l->journal,
                .msg_namelen = l->journal_len,
                .msg_iov = iov,
                .msg_iovlen = n,
        };
        if (sendmsg(l->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                count_lost(l, 1, negative_errno());
}

/* ---- either ---- */

void accesslog_add(AccessLog *l, const AccessEntry *e, time_t now) {
        const char *t = clock_text(l, now);

        if (l->kind == CONFIG_ACCESS_LOG_JOURNAL) {
                char line[ACCESSLOG_LINE_MAX];
                journal_send(l, e, line, accesslog_format_line(e, t, line));
                return;
        }
        if (ACCESSLOG_BUFFER_SIZE - 1 - l->len < ACCESSLOG_LINE_MAX)
                (void) accesslog_flush(l);
        l->len += accesslog_format_line(e, t, l->buf + 1 + l->len);
        l->lines++;
}

static int log_new(ConfigAccessLog kind, const char *path, uint64_t *lost, AccessLog **ret) {
        _cleanup_free_ AccessLog *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l->kind = kind;
        l->fd = -1;
        l->lost = lost;
        l->clock_sec = (time_t) -1;
        l->path = strdup(path);
        if (!l->path)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int accesslog_open_file(const char *path, uint64_t *lost, AccessLog **ret) {
        AccessLog *l;
        int r = log_new(CONFIG_ACCESS_LOG_FILE, path, lost, &l);

        if (r < 0)
                return r;
        l->buf = malloc(ACCESSLOG_BUFFER_SIZE);
        if (!l->buf) {
                accesslog_free(l);
                return -ENOMEM;
        }
        tzset(); /* read once, now: localtime_r does not read it again */
        *ret = l;
        return 0;
}

int accesslog_open_journal(const char *socket_path, uint64_t *lost, AccessLog **ret) {
        AccessLog *l;
        int r;

        if (strlen(socket_path) >= sizeof l->journal.sun_path)
                return -ENAMETOOLONG;
        r = log_new(CONFIG_ACCESS_LOG_JOURNAL, socket_path, lost, &l);
        if (r < 0)
                return r;
        l->journal.sun_family = AF_UNIX;
        strcpy(l->journal.sun_path, socket_path);
        l->journal_len =
                (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(socket_path) + 1);
        l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->fd < 0) {
                r = negative_errno();
                accesslog_free(l);
                return r;
        }
        tzset();
        *ret = l;
        return 0;
}

int accesslog_open(const Config *c, uint64_t *lost, AccessLog **ret) {
        switch (c->access_log) {
        case CONFIG_ACCESS_LOG_FILE:
                return accesslog_open_file(c->access_log_path, lost, ret);
        case CONFIG_ACCESS_LOG_JOURNAL:
                return accesslog_open_journal(CONFIG_JOURNAL_SOCKET, lost, ret);
        case CONFIG_ACCESS_LOG_OFF:
        default:
                *ret = NULL;
                return 0;
        }
}

const char *accesslog_name(const AccessLog *l) {
        return l->kind == CONFIG_ACCESS_LOG_JOURNAL ? "the journal" : l->path;
}

AccessLog *accesslog_free(AccessLog *l) {
        if (!l)
                return NULL;
        (void) accesslog_flush(l);
        safe_close(l->fd);
        free(l->buf);
        free(l->path);
        free(l);
        return NULL;
}
