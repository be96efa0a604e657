/* Small helpers shared by every module: cleanup attributes, time units and clocks. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hands a pointer over to a new owner, leaving NULL behind. */
#define TAKE_PTR(p)                         \
        ({                                  \
                __typeof__(p) _taken = (p); \
                (p) = NULL;                 \
                _taken;                     \
        })

/* Closes fd if it is one; returns -1, to store back. */
static inline int safe_close(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

/* Hands an fd over to a new owner, leaving -1 behind. */
static inline int take_fd(int *fd) {
        int r = *fd;
        *fd = -1;
        return r;
}

/* The time of clock in microseconds. */
static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* The second of the real-time clock, read finely. time() reads the coarse
 * clock, which since Linux 6.13 can be behind a file's fine-grained mtime:
 * a file written a moment before a second began would look modified in the
 * future, and lose its place in the file cache. */
static inline time_t now_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec;
}

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
