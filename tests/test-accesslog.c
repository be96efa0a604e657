/* Unit tests for accesslog.c: the escaping, the time and address fields and
 * the combined-format line, then the file writer (whole lines, the buffer,
 * reopen, errors, a line the disk cut short) and the journal datagram. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "accesslog.h"

/* 2026-12-03 10:00:00 UTC */
#define T0 ((time_t) 1796292000)

static void set_tz(const char *tz) {
        setenv("TZ", tz, 1);
        tzset();
}

static char *escaped(const char *s, size_t n, size_t size) {
        static char out[256];
        size_t k = accesslog_escape(out, size, s, n);
        out[k] = '\0';
        return out;
}

static void test_escape(void **state) {
        assert_string_equal(escaped("/hello.txt?a=1&b=%20", 20, 256), "/hello.txt?a=1&b=%20");
        assert_string_equal(escaped("say \"hi\"", 8, 256), "say \\x22hi\\x22");
        assert_string_equal(escaped("a\\b", 3, 256), "a\\x5Cb");
        assert_string_equal(escaped("tab\there\r\n", 10, 256), "tab\\x09here\\x0D\\x0A");
        assert_string_equal(escaped("\x7f", 1, 256), "\\x7F");
        /* UTF-8 and any other byte from 0x80, as nginx writes them */
        assert_string_equal(escaped("caf\xc3\xa9", 5, 256), "caf\\xC3\\xA9");
        /* a NUL inside the given length is a byte like any other */
        assert_string_equal(escaped("a\0b", 3, 256), "a\\x00b");
        assert_string_equal(escaped("", 0, 256), "");
}

static void test_escape_cut(void **state) {
        /* an escape is never split: what does not fit whole is left out */
        assert_string_equal(escaped("ab\"", 3, 5), "ab");
        assert_string_equal(escaped("ab\"", 3, 6), "ab\\x22");
        assert_string_equal(escaped("abcdef", 6, 4), "abcd");
        assert_string_equal(escaped("\"", 1, 3), "");
}

static void test_time(void **state) {
        char buf[ACCESSLOG_TIME_MAX];

        set_tz("UTC");
        assert_int_equal(accesslog_format_time(T0, buf), 28);
        assert_string_equal(buf, "[03/Dec/2026:10:00:00 +0000]");
        /* POSIX TZ: "XXX-5:30" is 5 h 30 min east of UTC */
        set_tz("XXX-5:30");
        accesslog_format_time(T0, buf);
        assert_string_equal(buf, "[03/Dec/2026:15:30:00 +0530]");
        set_tz("XXX+3");
        accesslog_format_time(T0 - 12 * 3600, buf);
        assert_string_equal(buf, "[02/Dec/2026:19:00:00 -0300]");
        /* month names are English whatever the locale */
        set_tz("UTC");
        accesslog_format_time(T0 - 200 * 86400, buf);
        assert_string_equal(buf, "[17/May/2026:10:00:00 +0000]");
}

static void test_addr(void **state) {
        struct sockaddr_in in = { .sin_family = AF_INET };
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        char buf[ACCESSLOG_ADDR_MAX];

        inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
        accesslog_format_addr((struct sockaddr *) &in, buf);
        assert_string_equal(buf, "127.0.0.1");
        inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
        accesslog_format_addr((struct sockaddr *) &in6, buf);
        assert_string_equal(buf, "2001:db8::1");
        inet_pton(AF_INET6, "::ffff:192.0.2.7", &in6.sin6_addr);
        accesslog_format_addr((struct sockaddr *) &in6, buf);
        assert_string_equal(buf, "::ffff:192.0.2.7");
        accesslog_format_addr((struct sockaddr *) &un, buf);
        assert_string_equal(buf, "-");
        accesslog_format_addr(NULL, buf);
        assert_string_equal(buf, "-");
}

static AccessEntry entry(void) {
        return (AccessEntry) {
                .remote = "127.0.0.1",
                .method = "GET",
                .target = "/hello.txt",
                .target_len = 10,
                .version = "HTTP/1.1",
                .status = 200,
                .bytes_known = true,
                .bytes = 6,
                .referer = "http://ref.example/",
                .user_agent = "curl/7.88.1",
        };
}

static char line[ACCESSLOG_LINE_MAX + 1];

static const char *format(const AccessEntry *e) {
        size_t n = accesslog_format_line(e, "[03/Dec/2026:10:00:00 +0000]", line);
        assert_true(n <= ACCESSLOG_LINE_MAX);
        line[n] = '\0';
        return line;
}

static void test_line(void **state) {
        AccessEntry e = entry();

        assert_string_equal(format(&e), "127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "
                                        "\"GET /hello.txt HTTP/1.1\" 200 6 "
                                        "\"http://ref.example/\" \"curl/7.88.1\"\n");
        e.referer = NULL;
        e.user_agent = "";
        e.remote = "::1";
        e.method = "HEAD";
        e.bytes = 0;
        assert_string_equal(format(&e), "::1 - - [03/Dec/2026:10:00:00 +0000] "
                                        "\"HEAD /hello.txt HTTP/1.1\" 200 0 \"-\" \"-\"\n");
}

/* what clusterd does not know (a request MHD refused before clusterd saw
 * its method) is "-" */
static void test_line_unknown(void **state) {
        AccessEntry e = { .remote = NULL, .target = "/x", .target_len = 2, .status = 400 };

        assert_string_equal(format(&e), "- - - [03/Dec/2026:10:00:00 +0000] \"- /x -\" 400 - "
                                        "\"-\" \"-\"\n");
        e.target = NULL;
        e.bytes_known = true;
        assert_string_equal(format(&e),
                            "- - - [03/Dec/2026:10:00:00 +0000] \"- - -\" 400 0 \"-\" \"-\"\n");
}

static void test_line_escaped(void **state) {
        AccessEntry e = entry();

        e.user_agent = "evil\" \"agent\\\x1b[31m\n";
        e.target = "/a b\"c";
        e.target_len = 6;
        assert_string_equal(format(&e), "127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "
                                        "\"GET /a b\\x22c HTTP/1.1\" 200 6 "
                                        "\"http://ref.example/\" "
                                        "\"evil\\x22 \\x22agent\\x5C\\x1B[31m\\x0A\"\n");
        /* one line: the only newline ends it, and every quote inside a
         * field is escaped */
        assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
}

/* fields as long as a client may send are cut, and the line still fits */
static void test_line_cut(void **state) {
        static char huge[1 << 20];
        AccessEntry e = entry();
        size_t n;

        memset(huge, '"', sizeof huge - 1);
        e.target = huge;
        e.target_len = sizeof huge - 1;
        e.referer = huge;
        e.user_agent = huge;
        e.method = huge;
        e.version = huge;
        n = strlen(format(&e));
        assert_true(n <= ACCESSLOG_LINE_MAX);
        assert_int_equal(line[n - 1], '\n');
        assert_ptr_equal(strchr(line, '\n'), line + n - 1);
        /* each field holds as many whole escapes as fit its room */
        assert_non_null(strstr(line, " \"\\x22"));
        assert_int_equal(
                n, strlen("127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] \"  \" 200 6 \"\" "
                          "\"\"\n") +
                           (ACCESSLOG_METHOD_MAX / 4) * 4 * 2 + (ACCESSLOG_TARGET_MAX / 4) * 4 +
                           (ACCESSLOG_REFERER_MAX / 4) * 4 + (ACCESSLOG_AGENT_MAX / 4) * 4);
}

/* ---- the file ---- */

typedef struct Files {
        char dir[64];
        char path[96];
} Files;

static int files_setup(void **state) {
        Files *f = calloc(1, sizeof *f);

        strcpy(f->dir, "/tmp/test-accesslog.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/access.log", f->dir);
        *state = f;
        set_tz("UTC");
        return 0;
}

static int files_teardown(void **state) {
        Files *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static char *slurp(const char *path, size_t *ret_len) {
        static char buf[1 << 20];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        assert_true(n >= 0);
        buf[n] = '\0';
        if (ret_len)
                *ret_len = (size_t) n;
        return buf;
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;

        for (; (s = strchr(s, '\n')); s++)
                n++;
        return n;
}

static AccessLog *open_file(const char *path, uint64_t *lost) {
        AccessLog *l;

        assert_int_equal(accesslog_open_file(path, lost, &l), 0);
        assert_int_equal(accesslog_reopen(l), 0);
        return l;
}

static void test_file_buffered(void **state) {
        Files *f = *state;
        uint64_t lost = 0;
        AccessLog *l = open_file(f->path, &lost);
        AccessEntry e = entry();

        assert_false(accesslog_pending(l));
        accesslog_add(l, &e, T0);
        accesslog_add(l, &e, T0);
        assert_true(accesslog_pending(l));
        /* nothing is written until the flush */
        assert_string_equal(slurp(f->path, NULL), "");
        assert_int_equal(accesslog_flush(l), 0);
        assert_false(accesslog_pending(l));
        assert_string_equal(slurp(f->path, NULL),
                            "127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] \"GET /hello.txt "
                            "HTTP/1.1\" 200 6 \"http://ref.example/\" \"curl/7.88.1\"\n"
                            "127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] \"GET /hello.txt "
                            "HTTP/1.1\" 200 6 \"http://ref.example/\" \"curl/7.88.1\"\n");
        /* the time field follows the clock */
        accesslog_add(l, &e, T0 + 61);
        accesslog_free(l); /* writes out what waits */
        assert_non_null(strstr(slurp(f->path, NULL), "[03/Dec/2026:10:01:01 +0000]"));
        assert_int_equal(lost, 0);
}

/* a buffer that cannot take the next line is written out first, in whole
 * lines, and never more than its size at once */
static void test_file_full_buffer(void **state) {
        Files *f = *state;
        uint64_t lost = 0;
        AccessLog *l = open_file(f->path, &lost);
        AccessEntry e = entry();
        size_t len, n = 0;
        unsigned added = 0;

        while (n == 0) {
                accesslog_add(l, &e, T0);
                added++;
                slurp(f->path, &n);
                assert_true(added < 10000);
        }
        assert_true(n <= ACCESSLOG_BUFFER_SIZE);
        assert_true(n > ACCESSLOG_BUFFER_SIZE - ACCESSLOG_LINE_MAX - 200);
        assert_int_equal(count_lines(slurp(f->path, &len)), added - 1);
        assert_int_equal(slurp(f->path, NULL)[len - 1], '\n');
        accesslog_free(l);
        assert_int_equal(count_lines(slurp(f->path, NULL)), added);
}

/* logrotate renames the file, then the worker reopens: what was buffered
 * goes to the old file, what follows to the new one */
static void test_file_reopen(void **state) {
        Files *f = *state;
        char old[128];
        uint64_t lost = 0;
        AccessLog *l = open_file(f->path, &lost);
        AccessEntry e = entry();

        snprintf(old, sizeof old, "%s.1", f->path);
        accesslog_add(l, &e, T0);
        assert_int_equal(rename(f->path, old), 0);
        accesslog_add(l, &e, T0);
        assert_int_equal(accesslog_reopen(l), 0);
        e.status = 404;
        accesslog_add(l, &e, T0);
        accesslog_free(l);
        assert_int_equal(count_lines(slurp(old, NULL)), 2);
        assert_null(strstr(slurp(old, NULL), "404"));
        assert_int_equal(count_lines(slurp(f->path, NULL)), 1);
        assert_non_null(strstr(slurp(f->path, NULL), "\" 404 6 \""));
        assert_int_equal(lost, 0);
}

/* /dev/full: every line is counted lost, reported once, and never fatal */
static void test_file_write_error(void **state) {
        uint64_t lost = 0, reported;
        AccessLog *l = open_file("/dev/full", &lost);
        AccessEntry e = entry();
        int err;

        assert_false(accesslog_take_losses(l, &err, &reported));
        accesslog_add(l, &e, T0);
        accesslog_add(l, &e, T0);
        accesslog_add(l, &e, T0);
        assert_int_equal(accesslog_flush(l), -ENOSPC);
        assert_false(accesslog_pending(l));
        assert_int_equal(lost, 3);
        assert_true(accesslog_take_losses(l, &err, &reported));
        assert_int_equal(err, -ENOSPC);
        assert_int_equal(reported, 3);
        assert_false(accesslog_take_losses(l, &err, &reported));
        accesslog_add(l, &e, T0);
        accesslog_free(l);
        assert_int_equal(lost, 4);
}

/* a path that cannot be opened: lines are lost until it can, then written */
static void test_file_unopenable(void **state) {
        Files *f = *state;
        char path[128];
        uint64_t lost = 0, reported;
        AccessLog *l;
        AccessEntry e = entry();
        int err;

        snprintf(path, sizeof path, "%s/later/access.log", f->dir);
        assert_int_equal(accesslog_open_file(path, &lost, &l), 0);
        assert_int_equal(accesslog_reopen(l), -ENOENT);
        accesslog_add(l, &e, T0);
        assert_int_equal(accesslog_flush(l), -ENOENT);
        assert_int_equal(lost, 1);
        assert_true(accesslog_take_losses(l, &err, &reported));
        assert_int_equal(err, -ENOENT);
        snprintf(path, sizeof path, "%s/later", f->dir);
        assert_int_equal(mkdir(path, 0700), 0);
        accesslog_add(l, &e, T0);
        assert_int_equal(accesslog_flush(l), 0);
        accesslog_free(l);
        snprintf(path, sizeof path, "%s/later/access.log", f->dir);
        assert_int_equal(count_lines(slurp(path, NULL)), 1);
        assert_int_equal(lost, 1);
}

/* The disk fills in the middle of a line (RLIMIT_FSIZE makes write() stop
 * there as a full disk would): the lines not written whole are counted,
 * and the next write ends the cut line first, so later lines stay whole. */
static void test_file_cut_line(void **state) {
        Files *f = *state;
        struct rlimit saved, small;
        uint64_t lost = 0;
        AccessLog *l = open_file(f->path, &lost);
        AccessEntry e = entry();
        size_t one = strlen(format(&e)), len;
        const char *text;
        int r;

        assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
        small = (struct rlimit) { .rlim_cur = one + 40, .rlim_max = saved.rlim_max };
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
        accesslog_add(l, &e, T0);
        accesslog_add(l, &e, T0);
        accesslog_add(l, &e, T0);
        r = accesslog_flush(l);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(r, -EFBIG);
        /* one line whole, one cut after 40 bytes, one not begun */
        assert_int_equal(lost, 2);
        slurp(f->path, &len);
        assert_int_equal(len, one + 40);

        e.status = 404;
        accesslog_add(l, &e, T0);
        accesslog_free(l);
        text = slurp(f->path, &len);
        assert_int_equal(len, one + 40 + 1 + one);
        assert_int_equal(text[one + 40], '\n'); /* the cut line, ended */
        assert_int_equal(count_lines(text), 3);
        assert_int_equal(strncmp(text + one + 41, "127.0.0.1 - - [", 15), 0);
        assert_non_null(strstr(text + one + 41, "\" 404 6 \""));
        assert_int_equal(lost, 2);
        signal(SIGXFSZ, SIG_DFL);
}

/* ---- the journal ---- */

static void test_journal(void **state) {
        Files *f = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char sock[128], buf[65536];
        uint64_t lost = 0;
        AccessLog *l;
        AccessEntry e = entry();
        int fd;
        ssize_t n;

        snprintf(sock, sizeof sock, "%s/journal.sock", f->dir);
        strcpy(sa.sun_path, sock);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);

        assert_int_equal(accesslog_open_journal(sock, &lost, &l), 0);
        assert_false(accesslog_pending(l));
        e.status = 404;
        e.user_agent = "a\nb";
        accesslog_add(l, &e, T0);
        n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "MESSAGE=127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] \"GET "
                                 "/hello.txt HTTP/1.1\" 404 6 \"http://ref.example/\" "
                                 "\"a\\x0Ab\"\n"
                                 "PRIORITY=6\n"
                                 "SYSLOG_IDENTIFIER=clusterd\n"
                                 "REQUEST_METHOD=GET\n"
                                 "REQUEST_PATH=/hello.txt\n"
                                 "STATUS=404\n"
                                 "BYTES=6\n"
                                 "REMOTE_ADDR=127.0.0.1\n"
                                 "REFERER=http://ref.example/\n"
                                 "USER_AGENT=a\\x0Ab\n");
        /* what the client did not send is left out */
        e.referer = e.user_agent = NULL;
        e.bytes_known = false;
        accesslog_add(l, &e, T0);
        n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_null(strstr(buf, "REFERER="));
        assert_null(strstr(buf, "USER_AGENT="));
        assert_null(strstr(buf, "BYTES="));
        assert_int_equal(lost, 0);

        /* no journal listening: counted, never blocking */
        close(fd);
        accesslog_add(l, &e, T0);
        assert_int_equal(lost, 1);
        accesslog_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_escape_cut),
                cmocka_unit_test(test_time),
                cmocka_unit_test(test_addr),
                cmocka_unit_test(test_line),
                cmocka_unit_test(test_line_unknown),
                cmocka_unit_test(test_line_escaped),
                cmocka_unit_test(test_line_cut),
                cmocka_unit_test_setup_teardown(test_file_buffered, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_file_full_buffer, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_file_reopen, files_setup, files_teardown),
                cmocka_unit_test(test_file_write_error),
                cmocka_unit_test_setup_teardown(test_file_unopenable, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_file_cut_line, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_journal, files_setup, files_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
