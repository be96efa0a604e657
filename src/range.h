/* The Range request header (RFC 9110, section 14): one byte range. */
#pragma once

#include <stdint.h>

typedef enum RangeResult {
        RANGE_UNSATISFIABLE = -1, /* answer 416 */
        RANGE_IGNORE = 0,         /* answer the whole file with 200 */
        RANGE_OK = 1,             /* answer *start, *len bytes with 206 */
} RangeResult;

/* Parses the value of a Range header against a file of `size` bytes. Only a
 * single "bytes=" range is honoured: anything else, several ranges, another
 * unit or a malformed value, is ignored, which RFC 9110 allows. */
RangeResult range_parse(const char *value, uint64_t size, uint64_t *start, uint64_t *len);
