/* The delay before restarting a worker slot that keeps crashing. */
#pragma once

#include <stdint.h>

/* 0 for the first crash (replace at once), then 100 ms doubling per further
 * consecutive crash, capped at max_usec. */
uint64_t backoff_delay(unsigned consecutive_crashes, uint64_t max_usec);
