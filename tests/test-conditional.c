/* Unit tests for conditional.c: validators, entity-tag lists, dates, and
 * which of 412, 304, 200 and 206 a conditional request gets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conditional.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date */
#define EXAMPLE_TIME ((time_t) 784111777)
#define NOW ((time_t) 1700000000)

static struct stat example_stat(void) {
        struct stat st = { 0 };

        st.st_ino = 0x2a;
        st.st_size = 11;
        st.st_mtim.tv_sec = EXAMPLE_TIME;
        st.st_mtim.tv_nsec = 500000000;
        st.st_ctim = st.st_mtim; /* as a plain write leaves them */
        return st;
}

static CondValidators example_validators(void) {
        struct stat st = example_stat();
        CondValidators v;

        assert_int_equal(cond_validators_from_stat(&st, NOW, &v), 0);
        return v;
}

static void test_format_date(void **state) {
        char buf[COND_DATE_MAX];

        assert_int_equal(cond_format_date(EXAMPLE_TIME, buf, sizeof buf), 0);
        assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_int_equal(cond_format_date(0, buf, sizeof buf), 0);
        assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_int_equal(cond_format_date(EXAMPLE_TIME, buf, 10), -ENOBUFS);
}

static void expect_date(const char *s, time_t want) {
        time_t t = 1;

        assert_int_equal(cond_parse_date(s, &t), 0);
        assert_int_equal(t, want);
}

static void expect_bad_date(const char *s) {
        time_t t = 1;

        assert_int_equal(cond_parse_date(s, &t), -EINVAL);
        assert_int_equal(t, 1);
}

static void test_parse_date(void **state) {
        expect_date("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_TIME);
        expect_date("Sunday, 06-Nov-94 08:49:37 GMT", EXAMPLE_TIME); /* RFC 850 */
        expect_date("Sun Nov  6 08:49:37 1994", EXAMPLE_TIME);       /* asctime */
        expect_date("Thu, 01 Jan 1970 00:00:00 GMT", 0);
        expect_date("Tue, 19 Jan 2038 03:14:08 GMT", (time_t) 2147483648);
}

static void test_parse_bad_date(void **state) {
        expect_bad_date("");
        expect_bad_date("yesterday");
        expect_bad_date("Sun, 06 Nov 1994 08:49:37");          /* no zone */
        expect_bad_date("Sun, 06 Nov 1994 08:49:37 GMT junk"); /* trailing text */
        expect_bad_date("Sun, 06 Nov 1994 25:49:37 GMT");      /* no such hour */
        expect_bad_date("Sun, 06 Foo 1994 08:49:37 GMT");
        expect_bad_date("784111777");
}

static void test_date_round_trip(void **state) {
        static const time_t times[] = { 0,
                                        1,
                                        EXAMPLE_TIME,
                                        951782400 /* 29 Feb 2000 */,
                                        NOW,
                                        (time_t) 4102444799 /* end of 2099 */ };
        char buf[COND_DATE_MAX];
        time_t t;

        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
                assert_int_equal(cond_format_date(times[i], buf, sizeof buf), 0);
                assert_int_equal(cond_parse_date(buf, &t), 0);
                assert_int_equal(t, times[i]);
        }
}

static void test_etag(void **state) {
        struct stat st = example_stat(), other;
        char a[COND_ETAG_MAX], b[COND_ETAG_MAX];

        assert_int_equal(cond_format_etag(&st, a, sizeof a), 0);
        assert_string_equal(a, "\"2a-b-2ebc98a1.1dcd6500\"");

        /* every part of the file's identity and version shows */
        other = st;
        other.st_mtim.tv_nsec++;
        assert_int_equal(cond_format_etag(&other, b, sizeof b), 0);
        assert_string_not_equal(a, b);
        other = st;
        other.st_size++;
        assert_int_equal(cond_format_etag(&other, b, sizeof b), 0);
        assert_string_not_equal(a, b);
        other = st;
        other.st_ino++;
        assert_int_equal(cond_format_etag(&other, b, sizeof b), 0);
        assert_string_not_equal(a, b);
        /* a rewrite that kept the mtime: only the ctime moved, and shows */
        other = st;
        other.st_ctim.tv_sec += 3600;
        assert_int_equal(cond_format_etag(&other, b, sizeof b), 0);
        assert_string_equal(b, "\"2a-b-2ebc98a1.1dcd6500-2ebca6b1.1dcd6500\"");
        /* room for the short form only: the suffix must not be cut off */
        assert_int_equal(cond_format_etag(&other, a, strlen("\"2a-b-2ebc98a1.1dcd6500\"") + 1),
                         -ENOBUFS);
        assert_int_equal(cond_format_etag(&other, a, strlen(b)), -ENOBUFS);
        assert_int_equal(cond_format_etag(&other, a, strlen(b) + 1), 0);
        other.st_ctim.tv_nsec++;
        assert_int_equal(cond_format_etag(&other, a, sizeof a), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(cond_format_etag(&st, a, sizeof a), 0);

        /* the largest values still fit */
        other.st_ino = (ino_t) -1;
        other.st_size = INT64_MAX;
        other.st_mtim.tv_sec = -1;
        other.st_mtim.tv_nsec = 999999999;
        other.st_ctim.tv_sec = -2;
        other.st_ctim.tv_nsec = 999999998;
        assert_int_equal(cond_format_etag(&other, b, sizeof b), 0);
        assert_int_equal(cond_format_etag(&st, b, 8), -ENOBUFS);
}

static void test_validators(void **state) {
        CondValidators v = example_validators();

        assert_int_equal(v.mtime, EXAMPLE_TIME);
        assert_int_equal(v.size, 11);
        assert_string_equal(v.etag, "\"2a-b-2ebc98a1.1dcd6500\"");
        assert_string_equal(v.last_modified, "Sun, 06 Nov 1994 08:49:37 GMT");
}

/* a file touched into the future: Last-Modified is the clock's, the ETag the file's */
static void test_validators_clamped(void **state) {
        struct stat st = example_stat();
        CondValidators v = example_validators(), clamped;

        assert_int_equal(cond_validators_from_stat(&st, EXAMPLE_TIME - 60, &clamped), 0);
        assert_int_equal(clamped.mtime, EXAMPLE_TIME - 60);
        assert_string_equal(clamped.last_modified, "Sun, 06 Nov 1994 08:48:37 GMT");
        assert_string_equal(clamped.etag, v.etag);
        assert_int_equal(clamped.size, 11);
        /* an mtime of this very second is not in the future */
        assert_int_equal(cond_validators_from_stat(&st, EXAMPLE_TIME, &clamped), 0);
        assert_int_equal(clamped.mtime, EXAMPLE_TIME);
        assert_string_equal(clamped.last_modified, v.last_modified);
}

/* one If-None-Match line, weak comparison */
static int list_match(const char *list, const char *etag) {
        CondLines l = { .line = { list }, .n = 1 };
        return cond_etag_lines_match(&l, etag, false);
}

static void test_list_match(void **state) {
        const char *e = "\"abc\"";

        assert_int_equal(list_match("\"abc\"", e), 1);
        assert_int_equal(list_match("W/\"abc\"", e), 1); /* weak comparison */
        assert_int_equal(list_match("\"x\", \"abc\"", e), 1);
        assert_int_equal(list_match("\"x\",W/\"abc\" ,\"y\"", e), 1);
        assert_int_equal(list_match(" , \"abc\",,", e), 1);
        assert_int_equal(list_match("*", e), 1);
        assert_int_equal(list_match(" * ", e), 1);
        assert_int_equal(list_match("\"\"", e), 0);
        assert_int_equal(list_match("\"abcd\"", e), 0);
        assert_int_equal(list_match("\"ab\"", e), 0);
        assert_int_equal(list_match("\"x\", \"y\"", e), 0);
        assert_int_equal(list_match("", e), 0);
}

static void test_list_malformed(void **state) {
        const char *e = "\"abc\"";

        assert_int_equal(list_match("abc", e), -EINVAL); /* unquoted */
        assert_int_equal(list_match("\"abc", e), -EINVAL);
        assert_int_equal(list_match("\"abc\" junk", e), -EINVAL);
        assert_int_equal(list_match("\"abc\"\"x\"", e), -EINVAL);
        assert_int_equal(list_match("\"abc\", x", e), -EINVAL);
        assert_int_equal(list_match("w/\"abc\"", e), -EINVAL);
        assert_int_equal(list_match("\"a c\"", e), -EINVAL);
        assert_int_equal(list_match("*, \"abc\"", e), -EINVAL);
}

static CondLines lines_of(size_t n, const char *const *line) {
        CondLines l = { .n = n };

        for (size_t i = 0; i < n && i < COND_LINES_MAX; i++)
                l.line[i] = line[i];
        return l;
}

#define LINES(...)                                                                \
        lines_of(sizeof((const char *[]) { __VA_ARGS__ }) / sizeof(const char *), \
                 (const char *[]) { __VA_ARGS__ })

static int lines_match(CondLines l, const char *etag, bool strong) {
        return cond_etag_lines_match(&l, etag, strong);
}

static void test_lines_match(void **state) {
        const char *e = "\"abc\"";
        CondLines none = { .n = 0 }, many = LINES("\"x\"", "\"x\"", "\"x\"", "\"x\"", "\"x\"",
                                                  "\"x\"", "\"x\"", "\"x\"", "\"abc\"");

        /* several lines are one list: a match on any line counts */
        assert_int_equal(lines_match(LINES("\"x\"", "\"abc\""), e, false), 1);
        assert_int_equal(lines_match(LINES("\"x\"", "\"abc\""), e, true), 1);
        assert_int_equal(lines_match(LINES("\"x\", \"y\"", "", "W/\"abc\""), e, false), 1);
        assert_int_equal(lines_match(LINES("\"x\"", "\"y\""), e, false), 0);
        assert_int_equal(lines_match(LINES("*"), e, true), 1);
        assert_int_equal(cond_etag_lines_match(&none, e, false), 0);
        /* strong comparison: a weak entity-tag never matches */
        assert_int_equal(lines_match(LINES("W/\"abc\""), e, true), 0);
        assert_int_equal(lines_match(LINES("W/\"abc\"", "\"x\""), e, true), 0);
        assert_int_equal(lines_match(LINES("W/\"abc\", \"abc\""), e, true), 1);
        /* one malformed line spoils the list; "*" stands only alone */
        assert_int_equal(lines_match(LINES("\"abc\"", "junk"), e, false), -EINVAL);
        assert_int_equal(lines_match(LINES("*", "\"abc\""), e, false), -EINVAL);
        assert_int_equal(lines_match(LINES("\"x\"", "*"), e, true), -EINVAL);
        /* more lines than there is room for */
        assert_int_equal(many.n, COND_LINES_MAX + 1);
        assert_int_equal(cond_etag_lines_match(&many, e, false), -EINVAL);
        many.n = COND_LINES_MAX;
        many.line[COND_LINES_MAX - 1] = "\"abc\"";
        assert_int_equal(cond_etag_lines_match(&many, e, false), 1);
}

static void test_if_range(void **state) {
        CondValidators v = example_validators();

        assert_true(cond_if_range_holds("\"2a-b-2ebc98a1.1dcd6500\"", &v, NOW));
        assert_false(
                cond_if_range_holds("W/\"2a-b-2ebc98a1.1dcd6500\"", &v, NOW)); /* strong only */
        assert_false(cond_if_range_holds("\"2a-b-2ebc98a1.1dcd6501\"", &v, NOW));
        assert_false(cond_if_range_holds("\"2a-b-2ebc98a1.1dcd6500\", \"x\"", &v, NOW));
        assert_false(cond_if_range_holds("*", &v, NOW));
        assert_true(cond_if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", &v, NOW));
        assert_false(cond_if_range_holds("Sun, 06 Nov 1994 08:49:38 GMT", &v, NOW)); /* exact */
        assert_false(cond_if_range_holds("Sun, 06 Nov 1994 08:49:36 GMT", &v, NOW));
        assert_false(cond_if_range_holds("x", &v, NOW));
        assert_false(cond_if_range_holds("", &v, NOW));
        /* a date is strong only once the file is a second old */
        assert_true(cond_if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", &v, EXAMPLE_TIME + 1));
        assert_false(cond_if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", &v, EXAMPLE_TIME));
        assert_true(cond_if_range_holds("\"2a-b-2ebc98a1.1dcd6500\"", &v, EXAMPLE_TIME));
}

static CondLines one_line(const char *value) {
        CondLines l = { .n = value ? 1 : 0, .line = { value } };

        return l;
}

static CondResult eval(const char *inm, const char *ims, const char *if_range, bool has_range) {
        CondValidators v = example_validators();
        CondRequest req = {
                .if_none_match = one_line(inm),
                .if_modified_since = ims,
                .if_range = if_range,
                .has_range = has_range,
        };

        return cond_evaluate(&req, &v, NOW);
}

/* If-Match, If-Unmodified-Since, If-None-Match: the first two decide 412 */
static CondResult eval_pre(const char *im, const char *ius, const char *inm) {
        CondValidators v = example_validators();
        CondRequest req = {
                .if_match = one_line(im),
                .if_unmodified_since = ius,
                .if_none_match = one_line(inm),
        };

        return cond_evaluate(&req, &v, NOW);
}

#define ETAG "\"2a-b-2ebc98a1.1dcd6500\""
#define LAST_MODIFIED "Sun, 06 Nov 1994 08:49:37 GMT"

static void test_evaluate_none_match(void **state) {
        assert_int_equal(eval(NULL, NULL, NULL, false), COND_SEND);
        assert_int_equal(eval(ETAG, NULL, NULL, false), COND_NOT_MODIFIED);
        assert_int_equal(eval("W/" ETAG, NULL, NULL, false), COND_NOT_MODIFIED);
        assert_int_equal(eval("*", NULL, NULL, false), COND_NOT_MODIFIED);
        assert_int_equal(eval("\"other\"", NULL, NULL, false), COND_SEND);
        assert_int_equal(eval("garbage", NULL, NULL, false), COND_SEND);
        /* a 304 wins over a Range */
        assert_int_equal(eval(ETAG, NULL, NULL, true), COND_NOT_MODIFIED);
}

static void test_evaluate_modified_since(void **state) {
        assert_int_equal(eval(NULL, LAST_MODIFIED, NULL, false), COND_NOT_MODIFIED);
        assert_int_equal(eval(NULL, "Sun, 06 Nov 1994 08:49:38 GMT", NULL, false),
                         COND_NOT_MODIFIED);
        assert_int_equal(eval(NULL, "Sun, 06 Nov 1994 08:49:36 GMT", NULL, false), COND_SEND);
        assert_int_equal(eval(NULL, "not a date", NULL, false), COND_SEND);
        /* a date later than now is invalid: it would hide a later change */
        assert_int_equal(eval(NULL, "Tue, 19 Jan 2038 03:14:08 GMT", NULL, false), COND_SEND);
        /* If-None-Match present: If-Modified-Since is not looked at */
        assert_int_equal(eval("\"other\"", LAST_MODIFIED, NULL, false), COND_SEND);
        assert_int_equal(eval("garbage", LAST_MODIFIED, NULL, false), COND_SEND);
}

static void test_evaluate_if_range(void **state) {
        assert_int_equal(eval(NULL, NULL, ETAG, true), COND_SEND);
        assert_int_equal(eval(NULL, NULL, LAST_MODIFIED, true), COND_SEND);
        assert_int_equal(eval(NULL, NULL, "\"other\"", true), COND_SEND_WHOLE);
        assert_int_equal(eval(NULL, NULL, "W/" ETAG, true), COND_SEND_WHOLE);
        assert_int_equal(eval(NULL, NULL, "Sun, 06 Nov 1994 08:49:36 GMT", true), COND_SEND_WHOLE);
        assert_int_equal(eval(NULL, NULL, "x", true), COND_SEND_WHOLE);
        /* without a Range, If-Range is ignored */
        assert_int_equal(eval(NULL, NULL, "\"other\"", false), COND_SEND);
        /* a non-matching If-None-Match then If-Range */
        assert_int_equal(eval("\"other\"", NULL, ETAG, true), COND_SEND);
        assert_int_equal(eval("\"other\"", NULL, "\"other\"", true), COND_SEND_WHOLE);
}

static void test_evaluate_if_match(void **state) {
        assert_int_equal(eval_pre(ETAG, NULL, NULL), COND_SEND);
        assert_int_equal(eval_pre("*", NULL, NULL), COND_SEND);
        assert_int_equal(eval_pre("\"x\", " ETAG, NULL, NULL), COND_SEND);
        assert_int_equal(eval_pre("\"other\"", NULL, NULL), COND_PRECONDITION_FAILED);
        /* strong comparison */
        assert_int_equal(eval_pre("W/" ETAG, NULL, NULL), COND_PRECONDITION_FAILED);
        /* a malformed list matches nothing */
        assert_int_equal(eval_pre("garbage", NULL, NULL), COND_PRECONDITION_FAILED);
        assert_int_equal(eval_pre("", NULL, NULL), COND_PRECONDITION_FAILED);
        /* first If-Match, then If-None-Match */
        assert_int_equal(eval_pre(ETAG, NULL, ETAG), COND_NOT_MODIFIED);
        assert_int_equal(eval_pre("\"other\"", NULL, ETAG), COND_PRECONDITION_FAILED);
        assert_int_equal(eval_pre(ETAG, NULL, "\"other\""), COND_SEND);
}

static void test_evaluate_unmodified_since(void **state) {
        assert_int_equal(eval_pre(NULL, LAST_MODIFIED, NULL), COND_SEND);
        assert_int_equal(eval_pre(NULL, "Sun, 06 Nov 1994 08:49:38 GMT", NULL), COND_SEND);
        assert_int_equal(eval_pre(NULL, "Sun, 06 Nov 1994 08:49:36 GMT", NULL),
                         COND_PRECONDITION_FAILED);
        assert_int_equal(eval_pre(NULL, "Thu, 01 Jan 1970 00:00:00 GMT", NULL),
                         COND_PRECONDITION_FAILED);
        /* unlike If-Modified-Since, a date later than now counts */
        assert_int_equal(eval_pre(NULL, "Tue, 19 Jan 2038 03:14:08 GMT", NULL), COND_SEND);
        /* ignored when it is no date */
        assert_int_equal(eval_pre(NULL, "yesterday", NULL), COND_SEND);
        assert_int_equal(eval_pre(NULL, "", NULL), COND_SEND);
        /* ignored beside If-Match (RFC 9110, 13.1.4), whatever that says */
        assert_int_equal(eval_pre(ETAG, "Thu, 01 Jan 1970 00:00:00 GMT", NULL), COND_SEND);
        assert_int_equal(eval_pre("\"other\"", LAST_MODIFIED, NULL), COND_PRECONDITION_FAILED);
        /* then If-None-Match */
        assert_int_equal(eval_pre(NULL, LAST_MODIFIED, ETAG), COND_NOT_MODIFIED);
        assert_int_equal(eval_pre(NULL, "Thu, 01 Jan 1970 00:00:00 GMT", ETAG),
                         COND_PRECONDITION_FAILED);
}

/* a 412 wins over If-Modified-Since, If-Range and Range */
static void test_evaluate_precondition_first(void **state) {
        CondValidators v = example_validators();
        CondRequest req = {
                .if_match = one_line("\"other\""),
                .if_modified_since = LAST_MODIFIED,
                .if_range = ETAG,
                .has_range = true,
        };

        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_PRECONDITION_FAILED);
        req.if_match = one_line(NULL);
        req.if_unmodified_since = "Sun, 06 Nov 1994 08:49:36 GMT";
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_PRECONDITION_FAILED);
        req.if_unmodified_since = NULL;
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_NOT_MODIFIED);
}

/* If-Match and If-None-Match lines are read as one list */
static void test_evaluate_lines(void **state) {
        CondValidators v = example_validators();
        CondRequest req = { .if_none_match = LINES("\"x\"", ETAG) };

        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_NOT_MODIFIED);
        req.if_none_match = LINES("\"x\"", "\"y\"");
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_SEND);
        req.if_none_match = LINES("*", ETAG); /* malformed: matches nothing */
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_SEND);
        req.if_none_match = one_line(NULL);
        req.if_match = LINES("\"x\"", ETAG);
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_SEND);
        req.if_match = LINES("\"x\"", "W/" ETAG);
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_PRECONDITION_FAILED);
        req.if_match = LINES(ETAG, "garbage");
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_PRECONDITION_FAILED);
}

/* a file with no validators: only If-Match: * holds, nothing else matches */
static void test_evaluate_no_validators(void **state) {
        CondRequest req = { .if_match = one_line("*") };

        assert_int_equal(cond_evaluate(&req, NULL, NOW), COND_SEND);
        req.if_match = one_line(ETAG);
        assert_int_equal(cond_evaluate(&req, NULL, NOW), COND_PRECONDITION_FAILED);
        req.if_match = one_line(NULL);
        req.if_unmodified_since = "Thu, 01 Jan 1970 00:00:00 GMT";
        req.if_none_match = one_line("*");
        req.if_modified_since = LAST_MODIFIED;
        assert_int_equal(cond_evaluate(&req, NULL, NOW), COND_SEND);
        req.if_range = ETAG;
        req.has_range = true;
        assert_int_equal(cond_evaluate(&req, NULL, NOW), COND_SEND_WHOLE);
}

/* a clamped Last-Modified: a date of the present second, so never strong */
static void test_evaluate_clamped(void **state) {
        struct stat st = example_stat();
        CondValidators v;
        CondRequest req = { .if_range = LAST_MODIFIED, .has_range = true };

        st.st_mtim.tv_sec = NOW + 3600;
        assert_int_equal(cond_validators_from_stat(&st, NOW, &v), 0);
        req.if_range = v.last_modified;
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_SEND_WHOLE);
        req.if_range = v.etag;
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_SEND);
        /* a date between the clamped one and the mtime is not before it */
        req.has_range = false;
        req.if_unmodified_since = v.last_modified;
        assert_int_equal(cond_evaluate(&req, &v, NOW), COND_SEND);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_date),
                cmocka_unit_test(test_parse_date),
                cmocka_unit_test(test_parse_bad_date),
                cmocka_unit_test(test_date_round_trip),
                cmocka_unit_test(test_etag),
                cmocka_unit_test(test_validators),
                cmocka_unit_test(test_validators_clamped),
                cmocka_unit_test(test_list_match),
                cmocka_unit_test(test_list_malformed),
                cmocka_unit_test(test_lines_match),
                cmocka_unit_test(test_if_range),
                cmocka_unit_test(test_evaluate_none_match),
                cmocka_unit_test(test_evaluate_modified_since),
                cmocka_unit_test(test_evaluate_if_range),
                cmocka_unit_test(test_evaluate_if_match),
                cmocka_unit_test(test_evaluate_unmodified_since),
                cmocka_unit_test(test_evaluate_precondition_first),
                cmocka_unit_test(test_evaluate_lines),
                cmocka_unit_test(test_evaluate_no_validators),
                cmocka_unit_test(test_evaluate_clamped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
