/* Small files kept in memory as ready-made MHD responses, so a hot file costs
 * one stat per request instead of open, fstat, send, sendfile and close. Every
 * hit is checked against a fresh stat: a changed file is never served stale.
 * An entry holds each representation of its file: the file itself, and gzip
 * and brotli ones, read from precompressed siblings (app.js.gz) or made here
 * once, from text; and it remembers which siblings are missing, so that
 * looking for them costs no system call per request. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "conditional.h"
#include "encoding.h"

struct MHD_Response;
typedef struct FileCache FileCache;

#define FILECACHE_MAX_FILE (64 * 1024)
#define FILECACHE_MAX_BYTES (4 * 1024 * 1024)
/* how often an entry looks again for the siblings it lacks */
#define FILECACHE_PROBE_USEC (1000u * 1000u)

/* A precompressed sibling opened through the safe path: fd < 0 when there
 * is none to use. present: something is at its path, whose stat is st
 * (also when it is not used: older, hidden). v is made from st. */
typedef struct FileCacheSibling {
        int fd;
        bool present;
        struct stat st;
        CondValidators v;
} FileCacheSibling;

/* Whether a sibling with stat sib may stand for a file last modified at
 * mtim: a regular file, not older to the nanosecond (an equal mtime, as
 * "gzip -k" and coarse file systems give, is not older). */
static inline bool filecache_sibling_fresh(const struct timespec *mtim, const struct stat *sib) {
        return S_ISREG(sib->st_mode) &&
               (sib->st_mtim.tv_sec > mtim->tv_sec ||
                (sib->st_mtim.tv_sec == mtim->tv_sec && sib->st_mtim.tv_nsec >= mtim->tv_nsec));
}

/* What one request can take: accept NULL asks for identity alone. order
 * breaks ties among codings; now (CLOCK_MONOTONIC) paces the look for
 * siblings missing. */
typedef struct FileCacheAsk {
        const EncodingAccept *accept;
        const CodingOrder *order;
        uint64_t now;
} FileCacheAsk;

/* The representation chosen for a request. validators stay valid until the
 * next call into the cache. vary: the file has more than one
 * representation, so every answer says "Vary: Accept-Encoding". */
typedef struct FileCacheHit {
        struct MHD_Response *response;
        const char *data; /* its body, validators->size bytes, valid as validators */
        const CondValidators *validators;
        Coding coding;
        bool is_index, vary;
} FileCacheHit;

/* What filecache_store() caches: rel, whose opened file is fd with stat st
 * (resolved to `resolved`, the index.html path for a directory) and
 * validators v, made from st; its siblings by coding (sibling[CODING_IDENTITY]
 * unused), and `probed`, the CODING_BIT()s of the codings whose sibling was
 * looked for; compress: make a gzip and a brotli variant of text where no
 * sibling gives one. */
typedef struct FileCacheSource {
        const char *rel, *resolved, *content_type;
        bool is_index;
        int fd;
        const struct stat *st;
        const CondValidators *v;
        const FileCacheSibling *sibling; /* _CODING_MAX of them, or NULL */
        unsigned probed;
        bool compress;
} FileCacheSource;

FileCache *filecache_new(void);
void filecache_free(FileCache *c);

/* Drops every entry, as when the root is another directory now. A response
 * still being sent lives on: MHD counts its references. */
void filecache_clear(FileCache *c);

/* Whether rel is cached, and the file found at rel under root_fd (and the
 * sibling chosen, if one is) is still the one that was cached (same device,
 * inode, size, mtime and ctime); fills *ret if so. A sibling not used that
 * appeared or changed since (looked at once a FILECACHE_PROBE_USEC) drops
 * the entry: a miss. */
bool filecache_lookup(FileCache *c, int root_fd, const char *rel, const FileCacheAsk *ask,
                      FileCacheHit *ret);

/* Caches src, reading the files itself (it takes no fd), and fills *ret for
 * ask. 0, or -E2BIG (too large), -ESTALE (v's Last-Modified clamped to the
 * clock, see cond_validators_from_stat(), or a file changed while read),
 * -ENOMEM. */
int filecache_store(FileCache *c, const FileCacheSource *src, const FileCacheAsk *ask,
                    FileCacheHit *ret);

size_t filecache_bytes(const FileCache *c);
