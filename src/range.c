/* Range header parsing for resumable and partial downloads. */
#include "range.h"

#include <stdbool.h>
#include <string.h>

static void skip_spaces(const char **p) {
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

/* Digits at *p into *ret; false when there are none or they overflow. */
static bool parse_number(const char **p, uint64_t *ret) {
        uint64_t v = 0;
        const char *q = *p;

        if (*q < '0' || *q > '9')
                return false;
        for (; *q >= '0' && *q <= '9'; q++) {
                unsigned d = (unsigned) (*q - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *p = q;
        *ret = v;
        return true;
}

RangeResult range_parse(const char *value, uint64_t size, uint64_t *start, uint64_t *len) {
        const char *p = value;
        uint64_t first = 0, last = 0;
        bool has_first, has_last;

        if (strncmp(p, "bytes=", 6) != 0)
                return RANGE_IGNORE;
        p += 6;
        skip_spaces(&p);
        has_first = parse_number(&p, &first);
        if (*p != '-') /* not a range, or a number too large */
                return RANGE_IGNORE;
        p++;
        has_last = parse_number(&p, &last);
        skip_spaces(&p);
        if (*p != '\0') /* several ranges, or trailing junk */
                return RANGE_IGNORE;

        if (has_first) {
                if (has_last && last < first)
                        return RANGE_IGNORE;
                if (first >= size)
                        return RANGE_UNSATISFIABLE;
                if (!has_last || last >= size)
                        last = size - 1;
                *start = first;
                *len = last - first + 1;
                return RANGE_OK;
        }
        if (!has_last) /* "bytes=-" */
                return RANGE_IGNORE;
        /* suffix: the last `last` bytes */
        if (last == 0 || size == 0)
                return RANGE_UNSATISFIABLE;
        if (last > size)
                last = size;
        *start = size - last;
        *len = last;
        return RANGE_OK;
}
