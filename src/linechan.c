/* Newline-delimited text over a stream socket, bounded both ways. */
#include "linechan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"

/* The length of the UTF-8 sequence at s (at most n bytes), or 0 when it is
 * not one: overlong forms, surrogates and values past U+10FFFF included. */
static size_t utf8_length(const unsigned char *s, size_t n) {
        size_t want;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                want = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                want = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                want = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (n < want)
                return 0;
        for (size_t i = 1; i < want; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((want == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (want == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return want;
}

void linechan_sanitize(char *s) {
        size_t n = strlen(s);

        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) s[i];
                size_t k = utf8_length((const unsigned char *) s + i, n - i);

                if (k == 0) {
                        s[i++] = '?';
                        continue;
                }
                if (k == 1 && (c < 0x20 || c == 0x7f))
                        s[i] = ' ';
                i += k;
        }
}

static void emit(LineReader *r, LineHandler handle, void *userdata) {
        size_t len = r->len;

        if (len > 0 && r->buf[len - 1] == '\r')
                len--;
        r->buf[len] = 0;
        /* a NUL inside ends the line as a C string: make it visible instead */
        for (size_t i = 0; i < len; i++)
                if (r->buf[i] == 0)
                        r->buf[i] = ' ';
        linechan_sanitize(r->buf);
        handle(r->buf, len, userdata);
        r->len = 0;
}

void linechan_feed(LineReader *r, const char *data, size_t n, LineHandler handle, void *userdata) {
        for (size_t i = 0; i < n;) {
                const char *nl = memchr(data + i, '\n', n - i);
                size_t take = nl ? (size_t) (nl - (data + i)) : n - i;

                if (r->discarding) {
                        if (nl)
                                r->discarding = false;
                } else if (r->len + take > LINECHAN_LINE_MAX) {
                        r->dropped_long++;
                        r->len = 0;
                        r->discarding = !nl;
                } else {
                        memcpy(r->buf + r->len, data + i, take);
                        r->len += take;
                        if (nl)
                                emit(r, handle, userdata);
                }
                i += take + (nl ? 1 : 0);
        }
}

int linechan_queue(LineWriter *w, const char *text) {
        size_t n = strlen(text);
        char *buf;

        if (n > LINECHAN_LINE_MAX || memchr(text, '\n', n))
                return -EINVAL;
        if (w->len + n + 1 > LINECHAN_QUEUE_MAX)
                return -ENOBUFS;
        buf = realloc(w->buf, w->len + n + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf + w->len, text, n);
        buf[w->len + n] = '\n';
        w->buf = buf;
        w->len += n + 1;
        return 0;
}

int linechan_flush(LineWriter *w, int fd) {
        while (w->len > 0) {
                ssize_t k = send(fd, w->buf, w->len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 1;
                        return negative_errno();
                }
                memmove(w->buf, w->buf + k, w->len - (size_t) k);
                w->len -= (size_t) k;
        }
        return 0;
}

void linechan_writer_done(LineWriter *w) {
        free(w->buf);
        *w = (LineWriter) {};
}
