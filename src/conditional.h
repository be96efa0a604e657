/* Conditional requests (RFC 9110, sections 8.8 and 13): a file's validators,
 * ETag and Last-Modified, and what If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since and If-Range make of them. Pure functions:
 * no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* '"' + 16 + '-' + 16 + '-' + 16 + '.' + 8 + '-' + 16 + '.' + 8 + '"' + NUL
 * (88), rounded up */
#define COND_ETAG_MAX 96
/* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL, with room for a 5-digit year */
#define COND_DATE_MAX 32

/* Header lines a request may repeat (If-Match, If-None-Match) before its
 * list counts as malformed */
#define COND_LINES_MAX 8

/* What the answer to one file says about its version. */
typedef struct CondValidators {
        time_t mtime;                      /* whole seconds, as Last-Modified says */
        uint64_t size;                     /* the 200's length: a 304 may say it */
        char etag[COND_ETAG_MAX];          /* strong, quoted */
        char last_modified[COND_DATE_MAX]; /* IMF-fixdate */
} CondValidators;

/* Every line of one list header, in the order received: RFC 9110 (5.3)
 * reads them as one comma-separated list. n counts them all, also those
 * past COND_LINES_MAX that `line` has no room for. */
typedef struct CondLines {
        const char *line[COND_LINES_MAX];
        size_t n;
} CondLines;

/* The request's conditional headers: NULL, or no lines, when absent. */
typedef struct CondRequest {
        CondLines if_match;
        const char *if_unmodified_since;
        CondLines if_none_match;
        const char *if_modified_since;
        const char *if_range;
        bool has_range;
} CondRequest;

typedef enum CondResult {
        COND_PRECONDITION_FAILED, /* 412 */
        COND_NOT_MODIFIED,        /* 304, validators only */
        COND_SEND,                /* 200, or 206 if the Range is satisfiable */
        COND_SEND_WHOLE,          /* 200: If-Range failed, the Range is ignored */
} CondResult;

/* IMF-fixdate of t into buf. -EOVERFLOW when t has no broken-down time,
 * -ENOBUFS when buf is too small. Needs the C locale for LC_TIME. */
int cond_format_date(time_t t, char *buf, size_t size);

/* An HTTP-date in any of the three forms RFC 9110 (5.6.7) has recipients
 * accept: IMF-fixdate, RFC 850 and asctime. -EINVAL when it is none. */
int cond_parse_date(const char *s, time_t *ret);

/* The strong ETag of a file: inode, size and mtime to the nanosecond, so a
 * rewrite, a replacement by rename and a touch each give a new one; and the
 * ctime when it differs from the mtime (a plain write sets both alike), so a
 * rewrite that keeps the mtime (cp -p, rsync -t --inplace) gives a new one
 * too. -ENOBUFS when buf is too small. */
int cond_format_etag(const struct stat *st, char *buf, size_t size);

/* Fills *ret from a stat of the file about to be answered at `now`. An mtime
 * later than now gives Last-Modified now (RFC 9110 8.8.2.1: never later
 * than the Date); the ETag keeps the real one. Whether that happened shows
 * as ret->mtime != st->st_mtim.tv_sec. */
int cond_validators_from_stat(const struct stat *st, time_t now, CondValidators *ret);

/* Whether the lines of an If-Match (strong: a weak entity-tag never matches)
 * or If-None-Match (weak) header, each "*" or a comma-separated list of
 * entity-tags, joined into one list, match `etag`: 1, 0,
 * or -EINVAL when the joined list is malformed ("*" beside anything else,
 * more lines than COND_LINES_MAX). */
int cond_etag_lines_match(const CondLines *lines, const char *etag, bool strong);

/* Whether an If-Range value holds for the validators: an entity-tag equal to
 * the ETag under strong comparison, or an HTTP-date equal to Last-Modified
 * while that is a strong validator, at least a second before `now` (RFC 9110
 * 8.8.2.2): two versions written within one second share the date. */
bool cond_if_range_holds(const char *value, const CondValidators *v, time_t now);

/* The answer to a GET or HEAD, following RFC 9110 section 13.2.2: If-Match,
 * else If-Unmodified-Since (ignored when unparseable); then If-None-Match,
 * else If-Modified-Since (ignored when unparseable or later than `now`); then
 * If-Range. A malformed entity-tag list matches nothing, so a malformed
 * If-Match fails. v is NULL when the file has no validators: If-Match holds
 * only as "*", and nothing else can match. `now` is read only with
 * If-Modified-Since or If-Range. */
CondResult cond_evaluate(const CondRequest *req, const CondValidators *v, time_t now);
