/* Validators for static files and the preconditions that compare with them.
 * Dates go through strftime/strptime in the C locale, which clusterd never
 * leaves, and timegm. */
#include "conditional.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cond_format_date(time_t t, char *buf, size_t size) {
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                return -EOVERFLOW;
        if (strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
                return -ENOBUFS;
        return 0;
}

int cond_parse_date(const char *s, time_t *ret) {
        static const char *const formats[] = {
                "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
                "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
                "%a %b %e %H:%M:%S %Y",      /* asctime */
        };

        for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
                struct tm tm = { 0 };
                const char *end = strptime(s, formats[i], &tm);
                if (!end || *end != '\0')
                        continue;
                time_t t = timegm(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                *ret = t;
                return 0;
        }
        return -EINVAL;
}

int cond_format_etag(const struct stat *st, char *buf, size_t size) {
        bool ctime_differs = st->st_ctim.tv_sec != st->st_mtim.tv_sec ||
                             st->st_ctim.tv_nsec != st->st_mtim.tv_nsec;
        int n = snprintf(buf, size, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 ".%08lx",
                         (uint64_t) st->st_ino, (uint64_t) st->st_size,
                         (uint64_t) st->st_mtim.tv_sec, (unsigned long) st->st_mtim.tv_nsec);
        if (n >= 0 && (size_t) n < size && ctime_differs)
                n += snprintf(buf + n, size - (size_t) n, "-%" PRIx64 ".%08lx",
                              (uint64_t) st->st_ctim.tv_sec, (unsigned long) st->st_ctim.tv_nsec);
        if (n >= 0 && (size_t) n < size)
                n += snprintf(buf + n, size - (size_t) n, "\"");
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return 0;
}

int cond_validators_from_stat(const struct stat *st, time_t now, CondValidators *ret) {
        time_t mtime = st->st_mtim.tv_sec < now ? st->st_mtim.tv_sec : now;
        int r;

        r = cond_format_etag(st, ret->etag, sizeof ret->etag);
        if (r < 0)
                return r;
        r = cond_format_date(mtime, ret->last_modified, sizeof ret->last_modified);
        if (r < 0)
                return r;
        ret->mtime = mtime;
        ret->size = (uint64_t) st->st_size;
        return 0;
}

static void skip_ows(const char **p) {
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

static bool is_etagc(unsigned char c) {
        return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* One entity-tag at *p: its opaque-tag (quotes included) as *ret_tag,
 * *ret_len, and whether it is weak. -EINVAL when there is none. */
static int etag_next(const char **p, const char **ret_tag, size_t *ret_len, bool *ret_weak) {
        const char *q = *p;
        bool weak = false;

        if (q[0] == 'W' && q[1] == '/') {
                weak = true;
                q += 2;
        }
        if (*q != '"')
                return -EINVAL;
        const char *start = q++;
        while (is_etagc((unsigned char) *q))
                q++;
        if (*q != '"')
                return -EINVAL;
        q++;
        *ret_tag = start;
        *ret_len = (size_t) (q - start);
        *ret_weak = weak;
        *p = q;
        return 0;
}

/* One line of an entity-tag list: 1 when it matches etag, 0 when not,
 * -EINVAL when malformed. "*" matches only where star_ok: as the whole
 * field value. The whole line is checked: a malformed one matches nothing. */
static int line_match(const char *line, const char *etag, bool strong, bool star_ok) {
        const char *p = line;
        size_t etag_len = strlen(etag);
        bool match = false;

        skip_ows(&p);
        if (*p == '*') {
                p++;
                skip_ows(&p);
                return star_ok && *p == '\0' ? 1 : -EINVAL;
        }
        for (;;) {
                const char *tag;
                size_t len;
                bool weak;

                /* empty elements are allowed in a list (RFC 9110, 5.6.1) */
                while (*p == ',' || *p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0')
                        break;
                if (etag_next(&p, &tag, &len, &weak) < 0)
                        return -EINVAL;
                /* etag is strong: the weak comparison ignores the request's W/ */
                if (len == etag_len && memcmp(tag, etag, len) == 0 && !(strong && weak))
                        match = true;
                skip_ows(&p);
                if (*p != ',' && *p != '\0')
                        return -EINVAL;
        }
        return match;
}

int cond_etag_lines_match(const CondLines *lines, const char *etag, bool strong) {
        bool match = false;

        if (lines->n > COND_LINES_MAX)
                return -EINVAL;
        for (size_t i = 0; i < lines->n; i++) {
                int r = line_match(lines->line[i], etag, strong, lines->n == 1);
                if (r < 0)
                        return r;
                if (r > 0)
                        match = true;
        }
        return match;
}

bool cond_if_range_holds(const char *value, const CondValidators *v, time_t now) {
        const char *p = value;
        const char *tag;
        size_t len;
        bool weak;
        time_t t;

        /* RFC 9110, 13.1.5: a DQUOTE among the first three characters
         * makes it an entity-tag */
        if (value[0] == '"' || (value[0] == 'W' && value[1] == '/')) {
                if (etag_next(&p, &tag, &len, &weak) < 0 || *p != '\0' || weak)
                        return false;
                return len == strlen(v->etag) && memcmp(tag, v->etag, len) == 0;
        }
        return cond_parse_date(value, &t) >= 0 && t == v->mtime && v->mtime < now;
}

/* If-Match, else If-Unmodified-Since: whether the request may go on */
static bool preconditions_hold(const CondRequest *req, const CondValidators *v) {
        time_t since;

        /* without an ETag only "*" holds: the file exists */
        if (req->if_match.n > 0)
                return cond_etag_lines_match(&req->if_match, v ? v->etag : "", true) > 0;
        /* RFC 9110, 13.1.4: no modification date known, or no date sent */
        if (v && req->if_unmodified_since && cond_parse_date(req->if_unmodified_since, &since) >= 0)
                return v->mtime <= since;
        return true;
}

/* If-None-Match, else If-Modified-Since: whether the client's copy is current */
static bool not_modified(const CondRequest *req, const CondValidators *v, time_t now) {
        time_t since;

        if (!v)
                return false;
        if (req->if_none_match.n > 0)
                return cond_etag_lines_match(&req->if_none_match, v->etag, false) > 0;
        return req->if_modified_since && cond_parse_date(req->if_modified_since, &since) >= 0 &&
               since <= now && v->mtime <= since;
}

CondResult cond_evaluate(const CondRequest *req, const CondValidators *v, time_t now) {
        if (!preconditions_hold(req, v))
                return COND_PRECONDITION_FAILED;
        if (not_modified(req, v, now))
                return COND_NOT_MODIFIED;
        if (req->has_range && req->if_range && (!v || !cond_if_range_holds(req->if_range, v, now)))
                return COND_SEND_WHOLE;
        return COND_SEND;
}
