/* Unit tests for linechan.c: the reader cutting lines out of arbitrary feeds
 * (over-long lines, CRLF, bytes that are not UTF-8) and the bounded writer,
 * flushed over a real socketpair whose peer stops reading. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "linechan.h"
#include "macro.h"

/* ---- the reader ---- */

#define MAX_LINES 16

typedef struct Lines {
        size_t n;
        char *line[MAX_LINES];
        size_t len[MAX_LINES];
} Lines;

static void collect(const char *line, size_t len, void *userdata) {
        Lines *l = userdata;

        assert_true(l->n < MAX_LINES);
        /* the line is NUL-terminated where len says, with no NUL before */
        assert_int_equal(line[len], 0);
        assert_int_equal(strlen(line), len);
        l->line[l->n] = strdup(line);
        assert_non_null(l->line[l->n]);
        l->len[l->n++] = len;
}

static void lines_free(Lines *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->line[i]);
        *l = (Lines) { 0 };
}

static void feed(LineReader *r, Lines *l, const char *s) {
        linechan_feed(r, s, strlen(s), collect, l);
}

/* Feeds s in one go to a fresh reader and expects one line, want. */
static void expect_one_line(const char *s, size_t n, const char *want) {
        LineReader *r = calloc(1, sizeof *r);
        Lines l = { 0 };

        assert_non_null(r);
        linechan_feed(r, s, n, collect, &l);
        if (l.n != 1)
                fail_msg("%zu lines, expected 1", l.n);
        if (strcmp(l.line[0], want) != 0)
                fail_msg("line \"%s\", expected \"%s\"", l.line[0], want);
        assert_int_equal(r->dropped_long, 0);
        lines_free(&l);
        free(r);
}

static void test_split_across_feeds(void **state) {
        LineReader *r = calloc(1, sizeof *r);
        Lines l = { 0 };

        assert_non_null(r);
        feed(r, &l, "hel");
        feed(r, &l, "");
        assert_int_equal(l.n, 0); /* nothing until a newline */
        feed(r, &l, "lo\nwor");
        assert_int_equal(l.n, 1);
        assert_string_equal(l.line[0], "hello");
        assert_int_equal(l.len[0], 5);
        feed(r, &l, "ld");
        feed(r, &l, "\n");
        assert_int_equal(l.n, 2);
        assert_string_equal(l.line[1], "world");
        /* one byte at a time */
        for (const char *p = "byte\n"; *p; p++)
                linechan_feed(r, p, 1, collect, &l);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.line[2], "byte");
        lines_free(&l);
        free(r);
}

static void test_several_in_one_feed(void **state) {
        LineReader *r = calloc(1, sizeof *r);
        Lines l = { 0 };

        assert_non_null(r);
        feed(r, &l, "a\nbb\nccc\ndd");
        assert_int_equal(l.n, 3);
        assert_string_equal(l.line[0], "a");
        assert_string_equal(l.line[1], "bb");
        assert_string_equal(l.line[2], "ccc");
        feed(r, &l, "d\n");
        assert_int_equal(l.n, 4);
        assert_string_equal(l.line[3], "ddd");
        /* empty lines are lines */
        feed(r, &l, "\n\n");
        assert_int_equal(l.n, 6);
        assert_int_equal(l.len[4], 0);
        assert_int_equal(l.len[5], 0);
        lines_free(&l);
        free(r);
}

static void test_crlf(void **state) {
        LineReader *r = calloc(1, sizeof *r);
        Lines l = { 0 };

        assert_non_null(r);
        feed(r, &l, "one\r\ntwo\r");
        feed(r, &l, "\n");
        assert_int_equal(l.n, 2);
        assert_string_equal(l.line[0], "one");
        assert_string_equal(l.line[1], "two");
        assert_int_equal(l.len[1], 3);
        lines_free(&l);
        free(r);
        /* only one "\r", and only at the end, belongs to the line ending */
        expect_one_line("a\r\r\n", 4, "a ");
        expect_one_line("a\rb\n", 4, "a b");
        expect_one_line("\r\n", 2, "");
}

static void test_line_max(void **state) {
        LineReader *r = calloc(1, sizeof *r);
        char *s = malloc(LINECHAN_LINE_MAX + 2);
        Lines l = { 0 };

        assert_non_null(r);
        assert_non_null(s);
        /* exactly LINECHAN_LINE_MAX bytes: kept whole */
        memset(s, 'x', LINECHAN_LINE_MAX);
        s[LINECHAN_LINE_MAX] = '\n';
        linechan_feed(r, s, LINECHAN_LINE_MAX + 1, collect, &l);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.len[0], LINECHAN_LINE_MAX);
        assert_memory_equal(l.line[0], s, LINECHAN_LINE_MAX);
        assert_int_equal(r->dropped_long, 0);
        /* one more: dropped, counted, and the next line is fine */
        memset(s, 'y', LINECHAN_LINE_MAX + 1);
        s[LINECHAN_LINE_MAX + 1] = '\n';
        linechan_feed(r, s, LINECHAN_LINE_MAX + 2, collect, &l);
        assert_int_equal(l.n, 1);
        assert_int_equal(r->dropped_long, 1);
        feed(r, &l, "next\n");
        assert_int_equal(l.n, 2);
        assert_string_equal(l.line[1], "next");
        /* the maximum reached in one feed, its newline in the next */
        memset(s, 'z', LINECHAN_LINE_MAX);
        linechan_feed(r, s, LINECHAN_LINE_MAX, collect, &l);
        feed(r, &l, "\n");
        assert_int_equal(l.n, 3);
        assert_int_equal(l.len[2], LINECHAN_LINE_MAX);
        /* ... or one byte more in the next: dropped */
        linechan_feed(r, s, LINECHAN_LINE_MAX, collect, &l);
        feed(r, &l, "z\nafter\n");
        assert_int_equal(l.n, 4);
        assert_string_equal(l.line[3], "after");
        assert_int_equal(r->dropped_long, 2);
        /* the "\r" of "\r\n" counts: LINECHAN_LINE_MAX bytes and "\r\n" is too long */
        memset(s, 'w', LINECHAN_LINE_MAX);
        s[LINECHAN_LINE_MAX] = '\r';
        s[LINECHAN_LINE_MAX + 1] = '\n';
        linechan_feed(r, s, LINECHAN_LINE_MAX + 2, collect, &l);
        assert_int_equal(l.n, 4);
        assert_int_equal(r->dropped_long, 3);
        lines_free(&l);
        free(s);
        free(r);
}

static void test_long_line_over_many_feeds(void **state) {
        LineReader *r = calloc(1, sizeof *r);
        char chunk[3000];
        Lines l = { 0 };

        assert_non_null(r);
        memset(chunk, 'x', sizeof chunk);
        feed(r, &l, "before\n");
        /* 5 x 3000 bytes with no newline: one line too long, counted once */
        for (int i = 0; i < 5; i++)
                linechan_feed(r, chunk, sizeof chunk, collect, &l);
        assert_int_equal(r->dropped_long, 1);
        assert_int_equal(l.n, 1);
        /* its end, with the next line in the same feed: only the next line */
        feed(r, &l, "tail of the long one\nnext\n");
        assert_int_equal(l.n, 2);
        assert_string_equal(l.line[1], "next");
        assert_int_equal(r->dropped_long, 1);
        /* the end of a long line alone in a feed, then a line */
        for (int i = 0; i < 2; i++)
                linechan_feed(r, chunk, sizeof chunk, collect, &l);
        feed(r, &l, "\n");
        feed(r, &l, "last\n");
        assert_int_equal(l.n, 3);
        assert_string_equal(l.line[2], "last");
        assert_int_equal(r->dropped_long, 2);
        lines_free(&l);
        free(r);
}

static void test_invalid_utf8(void **state) {
        static const struct {
                const char *in, *want;
        } table[] = {
                { "a\x80"
                  "b\n",
                  "a?b" },                                     /* lone continuation byte */
                { "\xbf\n", "?" },                             /* another */
                { "\xc0\x80\n", "??" },                        /* overlong NUL */
                { "\xc1\xbf\n", "??" },                        /* overlong 2-byte */
                { "\xe0\x80\xaf\n", "???" },                   /* overlong 3-byte '/' */
                { "\xf0\x80\x80\xaf\n", "????" },              /* overlong 4-byte '/' */
                { "\xed\xa0\x80\n", "???" },                   /* surrogate U+D800 */
                { "\xed\xbf\xbf\n", "???" },                   /* surrogate U+DFFF */
                { "\xf4\x90\x80\x80\n", "????" },              /* past U+10FFFF */
                { "\xf5\x80\x80\x80\n", "????" },              /* F5 is never a lead */
                { "\xf8\x88\x80\x80\x80\n", "?????" },         /* nor are F8-FF */
                { "\xfe\xff\n", "??" },                        /* FE and FF, never */
                { "\xc3\n", "?" },                             /* cut at the end of the line */
                { "\xe2\x82\n", "??" },                        /* ... */
                { "\xc3(\n", "?(" },                           /* lead then ASCII */
                { "\xe2\x28\xa1\n", "?(?" },                   /* bad second byte */
                { "ok \xc3\xa9\xff ok\n", "ok \xc3\xa9? ok" }, /* good kept beside bad */
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                expect_one_line(table[i].in, strlen(table[i].in), table[i].want);
}

static void test_valid_utf8(void **state) {
        static const char *const kept[] = {
                "\xc2\x80",         /* U+0080, the first 2-byte */
                "\xc3\xa9",         /* é */
                "\xdf\xbf",         /* U+07FF */
                "\xe0\xa0\x80",     /* U+0800, the first 3-byte */
                "\xe2\x82\xac",     /* € */
                "\xed\x9f\xbf",     /* U+D7FF, just below the surrogates */
                "\xee\x80\x80",     /* U+E000, just above */
                "\xef\xbf\xbd",     /* U+FFFD */
                "\xf0\x90\x80\x80", /* U+10000, the first 4-byte */
                "\xf0\x9f\x98\x80", /* 😀 */
                "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
        };
        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                char in[48], want[32];
                snprintf(want, sizeof want, "<%s>", kept[i]);
                snprintf(in, sizeof in, "%s\n", want);
                expect_one_line(in, strlen(in), want);
        }
}

static void test_control_bytes(void **state) {
        expect_one_line("a\tb\x01"
                        "c\x1b[1m\x7f"
                        "d\x08\n",
                        13, "a b c [1m d ");
        expect_one_line("\x1f\x7f\n", 3, "  ");
        /* a NUL inside a line: made a space, the line goes on */
        expect_one_line("a\0b\n", 4, "a b");
        expect_one_line("\0\0\n", 3, "  ");
}

static void test_sanitize(void **state) {
        char s[] = "ok\t\xc3\xa9\xff\x80\xed\xa0\x80";

        linechan_sanitize(s);
        assert_string_equal(s, "ok \xc3\xa9?????");
        char empty[] = "";
        linechan_sanitize(empty);
        assert_string_equal(empty, "");
}

/* ---- the writer ---- */

static void test_queue_and_flush(void **state) {
        LineWriter w = { 0 };
        char buf[64];
        int sp[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(linechan_queue(&w, "hello"), 0);
        assert_int_equal(linechan_queue(&w, ""), 0);
        assert_int_equal(linechan_queue(&w, "caf\xc3\xa9"), 0);
        assert_int_equal(w.len, 6 + 1 + 6);
        assert_int_equal(linechan_flush(&w, sp[0]), 0);
        assert_int_equal(w.len, 0);
        assert_int_equal(read(sp[1], buf, sizeof buf), 13);
        assert_memory_equal(buf, "hello\n\ncaf\xc3\xa9\n", 13);
        /* nothing queued: nothing to do */
        assert_int_equal(linechan_flush(&w, sp[0]), 0);
        linechan_writer_done(&w);
        assert_null(w.buf);
        assert_int_equal(w.len, 0);
        linechan_writer_done(&w);
        close(sp[0]);
        close(sp[1]);
}

static void test_queue_refused(void **state) {
        char *text = malloc(LINECHAN_LINE_MAX + 2);
        LineWriter w = { 0 };

        assert_non_null(text);
        assert_int_equal(linechan_queue(&w, "two\nlines"), -EINVAL);
        assert_int_equal(linechan_queue(&w, "\n"), -EINVAL);
        assert_int_equal(linechan_queue(&w, "trailing\n"), -EINVAL);
        assert_int_equal(w.len, 0);
        /* a line of LINECHAN_LINE_MAX bytes goes, one more does not */
        memset(text, 'x', LINECHAN_LINE_MAX + 1);
        text[LINECHAN_LINE_MAX + 1] = 0;
        assert_int_equal(linechan_queue(&w, text), -EINVAL);
        assert_int_equal(w.len, 0);
        text[LINECHAN_LINE_MAX] = 0;
        assert_int_equal(linechan_queue(&w, text), 0);
        assert_int_equal(w.len, LINECHAN_LINE_MAX + 1);
        linechan_writer_done(&w);
        free(text);
}

static void test_queue_bound(void **state) {
        char *text = malloc(LINECHAN_LINE_MAX + 1);
        LineWriter w = { 0 };
        size_t rest;

        assert_non_null(text);
        memset(text, 'q', LINECHAN_LINE_MAX);
        text[LINECHAN_LINE_MAX] = 0;
        /* whole lines while they fit */
        while (w.len + LINECHAN_LINE_MAX + 1 <= LINECHAN_QUEUE_MAX)
                assert_int_equal(linechan_queue(&w, text), 0);
        assert_int_equal(linechan_queue(&w, text), -ENOBUFS);
        /* then exactly up to the bound */
        rest = LINECHAN_QUEUE_MAX - w.len;
        assert_true(rest >= 1 && rest <= LINECHAN_LINE_MAX);
        text[rest - 1] = 0;
        assert_int_equal(linechan_queue(&w, text), 0);
        assert_int_equal(w.len, LINECHAN_QUEUE_MAX);
        /* full: even an empty line is refused, and nothing of it is queued */
        assert_int_equal(linechan_queue(&w, ""), -ENOBUFS);
        assert_int_equal(linechan_queue(&w, "x"), -ENOBUFS);
        assert_int_equal(w.len, LINECHAN_QUEUE_MAX);
        assert_int_equal(w.buf[LINECHAN_QUEUE_MAX - 1], '\n');
        assert_int_equal(w.buf[LINECHAN_QUEUE_MAX - 2], 'q');
        linechan_writer_done(&w);
        free(text);
}

/* Reads what is there on a non-blocking fd, appending to out at *n. */
static size_t drain(int fd, char *out, size_t *n, size_t size) {
        size_t got = 0;

        for (;;) {
                ssize_t k = read(fd, out + *n, size - *n);
                if (k < 0) {
                        assert_int_equal(errno, EAGAIN);
                        return got;
                }
                assert_true(k > 0);
                *n += (size_t) k;
                got += (size_t) k;
        }
}

static void test_flush_full_peer(void **state) {
        size_t total = 0, n = 0;
        char *sent = malloc(LINECHAN_QUEUE_MAX), *got = malloc(LINECHAN_QUEUE_MAX);
        int sp[2], small = 4096, r, rounds = 0;
        char line[1001];
        LineWriter w = { 0 };

        assert_non_null(sent);
        assert_non_null(got);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
        assert_int_equal(setsockopt(sp[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
        assert_int_equal(fcntl(sp[1], F_SETFL, O_NONBLOCK), 0);
        /* lines that differ, so that order and content are checked */
        for (int i = 0; total + sizeof line <= LINECHAN_QUEUE_MAX; i++) {
                memset(line, 'a' + i % 26, sizeof line - 1);
                line[sizeof line - 1] = 0;
                snprintf(line, 8, "%07d", i);
                line[7] = ' ';
                assert_int_equal(linechan_queue(&w, line), 0);
                memcpy(sent + total, line, sizeof line - 1);
                sent[total + sizeof line - 1] = '\n';
                total += sizeof line;
        }
        assert_int_equal(w.len, total);
        /* the peer does not read: some is left, and stays queued */
        assert_int_equal(linechan_flush(&w, sp[0]), 1);
        assert_true(w.len > 0 && w.len < total);
        assert_int_equal(linechan_flush(&w, sp[0]), 1);
        /* the peer reads: it gets every byte, in order, and the queue empties */
        do {
                drain(sp[1], got, &n, LINECHAN_QUEUE_MAX);
                r = linechan_flush(&w, sp[0]);
                assert_true(r == 0 || r == 1);
                assert_true(++rounds < 10000);
        } while (r == 1);
        assert_int_equal(w.len, 0);
        drain(sp[1], got, &n, LINECHAN_QUEUE_MAX);
        assert_int_equal(n, total);
        assert_memory_equal(got, sent, total);
        assert_true(rounds > 1);
        /* a queue that was full takes lines again */
        assert_int_equal(linechan_queue(&w, "again"), 0);
        assert_int_equal(linechan_flush(&w, sp[0]), 0);
        linechan_writer_done(&w);
        close(sp[0]);
        close(sp[1]);
        free(sent);
        free(got);
}

static void test_flush_peer_gone(void **state) {
        LineWriter w = { 0 };
        int sp[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        close(sp[1]);
        assert_int_equal(linechan_queue(&w, "anyone?"), 0);
        /* an error, not SIGPIPE (which would end this test) */
        assert_int_equal(linechan_flush(&w, sp[0]), -EPIPE);
        assert_int_equal(w.len, 8);
        assert_int_equal(linechan_flush(&w, -1), -EBADF);
        linechan_writer_done(&w);
        close(sp[0]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_across_feeds),
                cmocka_unit_test(test_several_in_one_feed),
                cmocka_unit_test(test_crlf),
                cmocka_unit_test(test_line_max),
                cmocka_unit_test(test_long_line_over_many_feeds),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_valid_utf8),
                cmocka_unit_test(test_control_bytes),
                cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_queue_and_flush),
                cmocka_unit_test(test_queue_refused),
                cmocka_unit_test(test_queue_bound),
                cmocka_unit_test(test_flush_full_peer),
                cmocka_unit_test(test_flush_peer_gone),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
