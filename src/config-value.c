/* The values of clusterd's settings that are numbers: counts, durations
 * and sizes with their unit suffixes, for the file and the command line. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int config_parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int config_parse_workers(const char *s, unsigned *ret) {
        if (s && strcmp(s, "auto") == 0) {
                *ret = 0;
                return 0;
        }
        return config_parse_uint(s, 1, CONFIG_MAX_WORKERS, ret);
}

/* A number with an optional unit suffix, scaled by the matching factor. */
static int parse_scaled(const char *s, const char *const *units, const uint64_t *factors,
                        uint64_t default_factor, uint64_t *ret) {
        unsigned long long v;
        uint64_t factor = default_factor;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -EINVAL;
        if (*end) {
                size_t i;
                for (i = 0; units[i]; i++)
                        if (strcmp(end, units[i]) == 0)
                                break;
                if (!units[i])
                        return -EINVAL;
                factor = factors[i];
        }
        if (v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

int config_parse_duration(const char *s, uint64_t *ret_usec) {
        static const char *const units[] = { "us", "ms", "s", "min", NULL };
        static const uint64_t factors[] = { 1, USEC_PER_MSEC, USEC_PER_SEC, 60 * USEC_PER_SEC };
        return parse_scaled(s, units, factors, USEC_PER_SEC, ret_usec);
}

int config_parse_size(const char *s, uint64_t *ret) {
        static const char *const units[] = { "K", "M", "G", NULL };
        static const uint64_t factors[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
        return parse_scaled(s, units, factors, 1, ret);
}
