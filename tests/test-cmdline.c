/* Unit tests for cmdline.c: splitting `exec = ...` into words as systemd splits
 * ExecStart= (and where clusterd differs), and finding the program in PATH. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmdline.h"
#include "macro.h"

/* ---- cmdline_split ---- */

/* Splits s and checks the words against the NULL-terminated list after it. */
static void expect_words(const char *s, ...) {
        const char *reason = "unset";
        char **argv = NULL;
        va_list ap;
        size_t i = 0;
        int r = cmdline_split(s, &argv, &reason);

        if (r != 0)
                fail_msg("cmdline_split(\"%s\") = %d (%s)", s, r, reason ? reason : "no reason");
        assert_null(reason);
        va_start(ap, s);
        for (const char *want; (want = va_arg(ap, const char *)); i++) {
                if (!argv[i])
                        fail_msg("\"%s\": word %zu missing, expected \"%s\"", s, i, want);
                if (strcmp(argv[i], want) != 0)
                        fail_msg("\"%s\": word %zu is \"%s\", expected \"%s\"", s, i, argv[i],
                                 want);
        }
        va_end(ap);
        if (argv[i])
                fail_msg("\"%s\": extra word %zu \"%s\"", s, i, argv[i]);
        cmdline_free(argv);
}

/* Expects s refused with err and a reason that mentions about. */
static void expect_error(const char *s, int err, const char *about) {
        const char *reason = NULL;
        char **argv = NULL;
        int r = cmdline_split(s, &argv, &reason);

        if (r != err)
                fail_msg("cmdline_split(\"%s\") = %d, expected %d", s, r, err);
        if (!reason || !strstr(reason, about))
                fail_msg("cmdline_split(\"%s\"): reason \"%s\" does not mention \"%s\"", s,
                         reason ? reason : "(none)", about);
        assert_null(argv); /* nothing handed back on failure */
}

static void test_blanks(void **state) {
        expect_words("/bin/echo", "/bin/echo", NULL);
        expect_words("  /bin/echo   a\tb \n c\r\rd  ", "/bin/echo", "a", "b", "c", "d", NULL);
        expect_words("\t\tprog\t", "prog", NULL);
}

static void test_quotes_in_a_word(void **state) {
        /* as systemd's extract_first_word: a quote may open anywhere in a word */
        expect_words("a\"b c\"d", "ab cd", NULL);
        expect_words("prog 'x y'z", "prog", "x yz", NULL);
        expect_words("prog \"a\"'b'c", "prog", "abc", NULL);
        expect_words("prog --opt=\"one two\"", "prog", "--opt=one two", NULL);
        expect_words("\"/path with spaces/daemon\" -1 -2", "/path with spaces/daemon", "-1", "-2",
                     NULL);
        expect_words("prog \"  \"", "prog", "  ", NULL);
        /* blanks of every kind inside quotes are kept */
        expect_words("prog \"a\tb\nc\"", "prog", "a\tb\nc", NULL);
}

static void test_single_and_double(void **state) {
        /* each quote is plain inside the other */
        expect_words("prog 'say \"hi\"'", "prog", "say \"hi\"", NULL);
        expect_words("prog \"it's\"", "prog", "it's", NULL);
        /* unlike a shell, escapes work inside single quotes too (as in systemd) */
        expect_words("prog 'a\\tb'", "prog", "a\tb", NULL);
        expect_words("prog 'a\\'b'", "prog", "a'b", NULL);
        expect_words("prog \"a\\\"b\"", "prog", "a\"b", NULL);
        expect_words("prog 'a\\\\b'", "prog", "a\\b", NULL);
}

static void test_escapes(void **state) {
        /* every escape the header lists, outside quotes and inside both kinds */
        static const struct {
                const char *escape;
                const char *value;
        } table[] = {
                { "\\a", "\a" },  { "\\b", "\b" },     { "\\f", "\f" },     { "\\n", "\n" },
                { "\\r", "\r" },  { "\\t", "\t" },     { "\\v", "\v" },     { "\\\\", "\\" },
                { "\\\"", "\"" }, { "\\'", "'" },      { "\\s", " " },      { "\\x41", "A" },
                { "\\x7e", "~" }, { "\\xAb", "\xab" }, { "\\xff", "\xff" }, { "\\x01", "\x01" },
                { "\\101", "A" }, { "\\040", " " },    { "\\377", "\xff" }, { "\\001", "\x01" },
                { "\\073", ";" }, { "\\x20", " " },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                static const char *const quotes[] = { "", "\"", "'" };
                char in[32], want[32];

                snprintf(want, sizeof want, "<%s>", table[i].value);
                for (size_t k = 0; k < ELEMENTSOF(quotes); k++) {
                        snprintf(in, sizeof in, "%s<%s>%s", quotes[k], table[i].escape, quotes[k]);
                        expect_words(in, want, NULL);
                }
        }
        /* an escaped blank or quote does not split or open anything */
        expect_words("a\\sb c", "a b", "c", NULL);
        expect_words("a\\\"b c\\'d", "a\"b", "c'd", NULL);
        /* clusterd takes "\ " for a space; systemd has no such escape (it keeps
         * the backslash with a warning) */
        expect_words("a\\ b", "a b", NULL);
        /* escapes run together with plain bytes and quotes */
        expect_words("\\x41\\102C\"\\x44\\s\"E", "ABCD E", NULL);
        /* an escape yields one byte, never a separator */
        expect_words("prog \\x20", "prog", " ", NULL);
}

static void test_empty_words(void **state) {
        expect_words("prog \"\" ''", "prog", "", "", NULL);
        expect_words("\"\"", "", NULL);
        expect_words("prog '' x", "prog", "", "x", NULL);
        /* an empty pair inside a word adds nothing to it */
        expect_words("a\"\"b ''c", "ab", "c", NULL);
}

/* What systemd's ExecStart= does and clusterd does not: no specifiers, no
 * $VAR expansion, no prefixes, no ';' between commands. Every byte is literal. */
static void test_no_shell_no_systemd_extras(void **state) {
        expect_words("echo $HOME ${X} $$ %i %% ~ * | > &", "echo", "$HOME", "${X}", "$$", "%i",
                     "%%", "~", "*", "|", ">", "&", NULL);
        expect_words("-/bin/false", "-/bin/false", NULL);
        expect_words("@/bin/sh sh -c x", "@/bin/sh", "sh", "-c", "x", NULL);
        expect_words("+/bin/true :x !y !!z", "+/bin/true", ":x", "!y", "!!z", NULL);
        expect_words("echo one ; echo two", "echo", "one", ";", "echo", "two", NULL);
}

static void test_errors(void **state) {
        expect_error("prog \"abc", -EINVAL, "quote");
        expect_error("prog 'abc", -EINVAL, "quote");
        expect_error("a\"b", -EINVAL, "quote");
        expect_error("prog 'it\"s", -EINVAL, "quote");  /* the other quote does not close */
        expect_error("prog \"a\\\"", -EINVAL, "quote"); /* an escaped quote does not either */

        expect_error("prog abc\\", -EINVAL, "backslash");
        expect_error("prog \\", -EINVAL, "backslash");

        /* unknown escapes: systemd warns and keeps them, clusterd refuses;
         * \u and \U are systemd's, not clusterd's */
        static const char *const unknown[] = {
                "a\\q",   "a\\;",   "a\\8",   "a\\9",     "a\\u0041",    "a\\U00000041", "a\\x4",
                "a\\x",   "a\\xg0", "a\\x4g", "a\\12",    "a\\12x",      "a\\1",         "a\\400",
                "a\\777", "a\\w",   "'a\\q'", "\"a\\e\"", "a\\\xc3\xa9",
        };
        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                expect_error(unknown[i], -EINVAL, "escape");
        /* a NUL byte cannot be spelt either */
        expect_error("a\\x00b", -EINVAL, "escape");
        expect_error("a\\000b", -EINVAL, "escape");
        expect_error("\"\\x00\"", -EINVAL, "escape");

        expect_error("", -ENODATA, "command");
        expect_error("   ", -ENODATA, "command");
        expect_error(" \t\n\r ", -ENODATA, "command");
}

static void test_limits(void **state) {
        char s[CMDLINE_MAX + 2];
        const char *reason = NULL;
        char **argv = NULL;

        /* CMDLINE_MAX_WORDS words, then one more */
        s[0] = 0;
        for (unsigned i = 0; i < CMDLINE_MAX_WORDS; i++)
                strcat(s, "w ");
        assert_int_equal(cmdline_split(s, &argv, &reason), 0);
        for (unsigned i = 0; i < CMDLINE_MAX_WORDS; i++)
                assert_string_equal(argv[i], "w");
        assert_null(argv[CMDLINE_MAX_WORDS]);
        cmdline_free(argv);
        argv = NULL;
        strcat(s, "w");
        expect_error(s, -E2BIG, "words");

        /* CMDLINE_MAX bytes in all, then one more */
        memset(s, 'x', CMDLINE_MAX);
        s[0] = '/';
        s[CMDLINE_MAX] = 0;
        assert_int_equal(cmdline_split(s, &argv, &reason), 0);
        assert_int_equal(strlen(argv[0]), CMDLINE_MAX);
        assert_null(argv[1]);
        cmdline_free(argv);
        s[CMDLINE_MAX] = 'x';
        s[CMDLINE_MAX + 1] = 0;
        expect_error(s, -E2BIG, "long");
        /* blanks count: the limit is on the string, not on the words */
        memset(s, ' ', CMDLINE_MAX + 1);
        s[0] = 'a';
        expect_error(s, -E2BIG, "long");

        cmdline_free(NULL);
}

/* ---- cmdline_find_program ---- */

typedef struct Dirs {
        char root[64];
        char a[96], b[96], c[96];
        char cwd[PATH_MAX]; /* to go back to */
} Dirs;

static int dirs_setup(void **state) {
        Dirs *d = calloc(1, sizeof *d);

        if (!d)
                return -1;
        snprintf(d->root, sizeof d->root, "/tmp/clusterd-test-cmdline-XXXXXX");
        if (!mkdtemp(d->root) || !getcwd(d->cwd, sizeof d->cwd))
                return -1;
        snprintf(d->a, sizeof d->a, "%s/a", d->root);
        snprintf(d->b, sizeof d->b, "%s/b", d->root);
        snprintf(d->c, sizeof d->c, "%s/c", d->root);
        if (mkdir(d->a, 0755) < 0 || mkdir(d->b, 0755) < 0 || mkdir(d->c, 0755) < 0)
                return -1;
        *state = d;
        return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int dirs_teardown(void **state) {
        Dirs *d = *state;

        if (chdir(d->cwd) < 0)
                return -1;
        nftw(d->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
        return 0;
}

/* Creates dir/name as a file with the given mode. */
static void make_file(const char *dir, const char *name, mode_t mode) {
        char p[PATH_MAX];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", dir, name);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs("#!/bin/sh\nexit 0\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static void expect_found(const char *name, const char *search, const char *want) {
        char *path = NULL;
        int r = cmdline_find_program(name, search, &path);

        if (r != 0)
                fail_msg("find(%s, %s) = %d (%s)", name, search, r, strerror(-r));
        assert_string_equal(path, want);
        free(path);
}

static void expect_not_found(const char *name, const char *search, int err) {
        char *path = NULL;
        int r = cmdline_find_program(name, search, &path);

        if (r != err)
                fail_msg("find(%s, %s) = %d (%s), expected %d (%s)", name, search, r,
                         r < 0 ? strerror(-r) : path, err, strerror(-err));
        assert_null(path);
}

static void test_find_bare_name(void **state) {
        Dirs *d = *state;
        char search[512], want[PATH_MAX];

        make_file(d->b, "app", 0755);
        snprintf(search, sizeof search, "%s:%s", d->a, d->b);
        snprintf(want, sizeof want, "%s/app", d->b);
        expect_found("app", search, want);
        /* a directory that does not exist, or a file, on the path is passed over */
        snprintf(search, sizeof search, "%s/none:%s/app:%s", d->root, d->b, d->b);
        expect_found("app", search, want);
        /* a trailing slash on an entry is kept as given */
        snprintf(search, sizeof search, "%s/", d->b);
        snprintf(want, sizeof want, "%s//app", d->b);
        expect_found("app", search, want);
}

static void test_find_first_match_wins(void **state) {
        Dirs *d = *state;
        char search[512], want[PATH_MAX];

        make_file(d->a, "app", 0755);
        make_file(d->b, "app", 0755);
        snprintf(search, sizeof search, "%s:%s", d->a, d->b);
        snprintf(want, sizeof want, "%s/app", d->a);
        expect_found("app", search, want);
        snprintf(search, sizeof search, "%s:%s", d->b, d->a);
        snprintf(want, sizeof want, "%s/app", d->b);
        expect_found("app", search, want);
}

static void test_find_not_executable(void **state) {
        Dirs *d = *state;
        char search[512], want[PATH_MAX];

        make_file(d->a, "app", 0644);
        /* found but not executable, nothing later: EACCES, not ENOENT */
        snprintf(search, sizeof search, "%s:%s", d->a, d->b);
        expect_not_found("app", search, -EACCES);
        snprintf(search, sizeof search, "%s:%s:%s/none", d->b, d->a, d->root);
        expect_not_found("app", search, -EACCES);
        /* ... and a later executable one still wins, as for execvp */
        make_file(d->c, "app", 0755);
        snprintf(search, sizeof search, "%s:%s", d->a, d->c);
        snprintf(want, sizeof want, "%s/app", d->c);
        expect_found("app", search, want);
        /* mode 0 is not executable even for root */
        make_file(d->b, "zero", 0);
        snprintf(search, sizeof search, "%s", d->b);
        expect_not_found("zero", search, -EACCES);
}

static void test_find_directory(void **state) {
        Dirs *d = *state;
        char p[PATH_MAX], search[512], want[PATH_MAX];

        snprintf(p, sizeof p, "%s/app", d->a);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(search, sizeof search, "%s:%s", d->a, d->b);
        expect_not_found("app", search, -EISDIR);
        expect_not_found(p, NULL, -EISDIR);
        make_file(d->b, "app", 0755);
        snprintf(want, sizeof want, "%s/app", d->b);
        expect_found("app", search, want);
}

static void test_find_absolute(void **state) {
        Dirs *d = *state;
        char p[PATH_MAX], search[512];

        make_file(d->a, "app", 0755);
        snprintf(p, sizeof p, "%s/app", d->a);
        /* checked as it is, whatever the search path says */
        expect_found(p, "/nonexistent", p);
        expect_found(p, NULL, p);
        /* a path with a slash is never looked up, even when PATH has the name */
        make_file(d->b, "other", 0755);
        snprintf(p, sizeof p, "%s/other", d->a);
        snprintf(search, sizeof search, "%s", d->b);
        expect_not_found(p, search, -ENOENT);
        snprintf(p, sizeof p, "%s/nope/app", d->root);
        expect_not_found(p, NULL, -ENOENT);
        make_file(d->c, "plain", 0644);
        snprintf(p, sizeof p, "%s/plain", d->c);
        expect_not_found(p, NULL, -EACCES);
        /* through a file: ENOTDIR, as execve */
        snprintf(p, sizeof p, "%s/plain/x", d->c);
        expect_not_found(p, NULL, -ENOTDIR);
        /* not a regular file */
        expect_not_found("/dev/null", NULL, -EACCES);
        /* a relative path with a slash is taken from the current directory */
        assert_int_equal(chdir(d->root), 0);
        expect_found("a/app", "/nonexistent", "a/app");
        expect_found("./a/app", NULL, "./a/app");
        expect_not_found("b/app", NULL, -ENOENT);
}

static void test_find_nowhere(void **state) {
        Dirs *d = *state;
        char search[512];

        snprintf(search, sizeof search, "%s:%s:%s", d->a, d->b, d->c);
        expect_not_found("app", search, -ENOENT);
        expect_not_found("", search, -ENOENT);
        expect_not_found("clusterd-no-such-program-at-all", NULL, -ENOENT);
}

static void test_find_empty_entry_is_cwd(void **state) {
        Dirs *d = *state;
        char search[512], want[PATH_MAX];

        make_file(d->c, "app", 0755);
        assert_int_equal(chdir(d->c), 0);
        /* leading, trailing and middle empty entries all mean "." */
        snprintf(search, sizeof search, ":%s", d->a);
        expect_found("app", search, "app");
        snprintf(search, sizeof search, "%s:", d->a);
        expect_found("app", search, "app");
        snprintf(search, sizeof search, "%s::%s", d->a, d->b);
        expect_found("app", search, "app");
        /* the name found is usable from here */
        assert_int_equal(access("app", X_OK), 0);
        /* without an empty entry the current directory is not searched */
        snprintf(search, sizeof search, "%s:%s", d->a, d->b);
        expect_not_found("app", search, -ENOENT);
        /* an earlier directory still wins over the current one */
        make_file(d->a, "app", 0755);
        snprintf(search, sizeof search, "%s::", d->a);
        snprintf(want, sizeof want, "%s/app", d->a);
        expect_found("app", search, want);
}

static void test_find_default_path(void **state) {
        /* NULL or empty: the usual system directories, not the current one */
        static const char *const searches[] = { NULL, "" };
        Dirs *d = *state;

        make_file(d->c, "clusterd-test-in-cwd", 0755);
        assert_int_equal(chdir(d->c), 0);
        for (size_t i = 0; i < ELEMENTSOF(searches); i++) {
                char *path = NULL;
                size_t n;

                assert_int_equal(cmdline_find_program("sh", searches[i], &path), 0);
                n = strlen(path);
                assert_true(path[0] == '/');
                assert_true(n > 3 && strcmp(path + n - 3, "/sh") == 0);
                assert_int_equal(access(path, X_OK), 0);
                free(path);
                expect_not_found("clusterd-test-in-cwd", searches[i], -ENOENT);
        }
}

int main(void) {
#define D(fn) cmocka_unit_test_setup_teardown(fn, dirs_setup, dirs_teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blanks),
                cmocka_unit_test(test_quotes_in_a_word),
                cmocka_unit_test(test_single_and_double),
                cmocka_unit_test(test_escapes),
                cmocka_unit_test(test_empty_words),
                cmocka_unit_test(test_no_shell_no_systemd_extras),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_limits),
                D(test_find_bare_name),
                D(test_find_first_match_wins),
                D(test_find_not_executable),
                D(test_find_directory),
                D(test_find_absolute),
                D(test_find_nowhere),
                D(test_find_empty_entry_is_cwd),
                D(test_find_default_path),
        };
#undef D

        return cmocka_run_group_tests(tests, NULL, NULL);
}
