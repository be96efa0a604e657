/* Unit tests for mime.c: loading a mime.types file and looking up types by
 * file extension. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mime.h"

static const char sample[] = "# a comment line names no type: text/plain txt\n"
                             "\n"
                             "text/html\t\t\t\thtml htm shtml\n"
                             "text/css  css\n"
                             "image/png png\n"
                             "image/jpeg jpeg jpg jpe\r\n"
                             "application/javascript js mjs\n"
                             "application/json json\n"
                             "application/x-no-extensions\n"
                             "   \n"
                             "nonsense-without-slash foo\n"
                             "image/svg+xml svg svgz\n";

/* Writes sample into a fresh temporary directory and loads it. */
typedef struct Fixture {
        char dir[64];
        char path[128];
        MimeTable *table;
} Fixture;

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);
        FILE *out;

        if (!f)
                return -1;
        snprintf(f->dir, sizeof f->dir, "/tmp/clusterd-test-mime-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        *state = f;
        snprintf(f->path, sizeof f->path, "%s/mime.types", f->dir);
        out = fopen(f->path, "we");
        if (!out)
                return -1;
        fputs(sample, out);
        if (fclose(out) != 0)
                return -1;
        return mime_table_load(f->path, &f->table) == 0 ? 0 : -1;
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;

        if (!f)
                return 0;
        mime_table_free(f->table);
        unlink(f->path);
        rmdir(f->dir);
        free(f);
        return 0;
}

static void test_load_counts(void **state) {
        Fixture *f = *state;

        /* html htm shtml css png jpeg jpg jpe js mjs json svg svgz */
        assert_int_equal(mime_table_size(f->table), 13);
}

static void test_lookup_text_gets_charset(void **state) {
        Fixture *f = *state;

        assert_string_equal(mime_table_lookup(f->table, "a.html"), "text/html; charset=utf-8");
        assert_string_equal(mime_table_lookup(f->table, "b.htm"), "text/html; charset=utf-8");
        assert_string_equal(mime_table_lookup(f->table, "c.shtml"), "text/html; charset=utf-8");
        assert_string_equal(mime_table_lookup(f->table, "style.css"), "text/css; charset=utf-8");
        assert_string_equal(mime_table_lookup(f->table, "app.js"),
                            "application/javascript; charset=utf-8");
        assert_string_equal(mime_table_lookup(f->table, "data.json"), "application/json");
}

static void test_lookup_binary(void **state) {
        Fixture *f = *state;

        assert_string_equal(mime_table_lookup(f->table, "x.png"), "image/png");
        assert_string_equal(mime_table_lookup(f->table, "x.jpe"), "image/jpeg");
        assert_string_equal(mime_table_lookup(f->table, "x.jpg"), "image/jpeg");
        assert_string_equal(mime_table_lookup(f->table, "x.svg"), "image/svg+xml");
        assert_string_equal(mime_table_lookup(f->table, "x.svgz"), "image/svg+xml");
}

static void test_lookup_case_insensitive(void **state) {
        Fixture *f = *state;

        assert_string_equal(mime_table_lookup(f->table, "A.PNG"), "image/png");
        assert_string_equal(mime_table_lookup(f->table, "Index.HtMl"), "text/html; charset=utf-8");
}

static void test_lookup_last_extension(void **state) {
        Fixture *f = *state;

        assert_string_equal(mime_table_lookup(f->table, "archive.html.png"), "image/png");
        assert_string_equal(mime_table_lookup(f->table, "sub/dir/page.html"),
                            "text/html; charset=utf-8");
        assert_string_equal(mime_table_lookup(f->table, "a.png.unknownext"), MIME_DEFAULT);
}

static void test_lookup_default(void **state) {
        Fixture *f = *state;

        assert_string_equal(mime_table_lookup(f->table, "README"), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(f->table, "dir.d/file"), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(f->table, "a.html/file"), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(f->table, "trailing."), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(f->table, ""), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(f->table, "x.txt"), MIME_DEFAULT);
        /* the comment line and the line without a type added nothing */
        assert_string_equal(mime_table_lookup(f->table, "x.foo"), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(NULL, "a.html"), MIME_DEFAULT);
}

static void test_missing_file(void **state) {
        MimeTable *t = NULL;

        assert_int_equal(mime_table_load("/nonexistent/clusterd/mime.types", &t), -ENOENT);
        assert_non_null(t);
        assert_int_equal(mime_table_size(t), 0);
        assert_string_equal(mime_table_lookup(t, "a.html"), MIME_DEFAULT);
        assert_string_equal(mime_table_lookup(t, "noext"), MIME_DEFAULT);
        mime_table_free(t);
        mime_table_free(NULL);
}

static void test_empty_file(void **state) {
        Fixture *f = *state;
        char path[160];
        MimeTable *t = NULL;
        FILE *out;

        snprintf(path, sizeof path, "%s/empty.types", f->dir);
        out = fopen(path, "we");
        assert_non_null(out);
        fputs("# nothing but a comment\n\n", out);
        assert_int_equal(fclose(out), 0);
        assert_int_equal(mime_table_load(path, &t), 0);
        unlink(path);
        assert_int_equal(mime_table_size(t), 0);
        assert_string_equal(mime_table_lookup(t, "a.html"), MIME_DEFAULT);
        mime_table_free(t);
}

static void test_repeated_extension(void **state) {
        Fixture *f = *state;
        char path[160];
        MimeTable *t = NULL;
        FILE *out;

        snprintf(path, sizeof path, "%s/repeat.types", f->dir);
        out = fopen(path, "we");
        assert_non_null(out);
        fputs("text/plain txt\ntext/x-other TXT\nimage/gif gif\n", out);
        assert_int_equal(fclose(out), 0);
        assert_int_equal(mime_table_load(path, &t), 0);
        unlink(path);
        /* one entry per extension, whichever type it keeps */
        assert_int_equal(mime_table_size(t), 2);
        assert_string_equal(mime_table_lookup(t, "a.gif"), "image/gif");
        assert_non_null(strstr(mime_table_lookup(t, "a.txt"), "charset=utf-8"));
        mime_table_free(t);
}

static void test_system_mime_types(void **state) {
        MimeTable *t = NULL;

        if (access("/etc/mime.types", R_OK) < 0) {
                skip();
                return;
        }
        assert_int_equal(mime_table_load("/etc/mime.types", &t), 0);
        assert_true(mime_table_size(t) > 100);
        assert_string_equal(mime_table_lookup(t, "style.css"), "text/css; charset=utf-8");
        assert_string_equal(mime_table_lookup(t, "index.html"), "text/html; charset=utf-8");
        assert_string_equal(mime_table_lookup(t, "logo.png"), "image/png");
        mime_table_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_counts),
                cmocka_unit_test(test_lookup_text_gets_charset),
                cmocka_unit_test(test_lookup_binary),
                cmocka_unit_test(test_lookup_case_insensitive),
                cmocka_unit_test(test_lookup_last_extension),
                cmocka_unit_test(test_lookup_default),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_empty_file),
                cmocka_unit_test(test_repeated_extension),
                cmocka_unit_test(test_system_mime_types),
        };

        return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
