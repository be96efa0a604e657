/* Exponential restart backoff for crash-looping worker slots. */
#include "backoff.h"

#include "macro.h"

#define BACKOFF_BASE_USEC (100 * USEC_PER_MSEC)

uint64_t backoff_delay(unsigned consecutive_crashes, uint64_t max_usec) {
        uint64_t d;

        if (consecutive_crashes <= 1)
                return 0;
        if (consecutive_crashes - 2 >= 40)
                return max_usec;
        d = BACKOFF_BASE_USEC << (consecutive_crashes - 2);
        return d < max_usec ? d : max_usec;
}
