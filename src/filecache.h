/* Small files kept in memory as ready-made MHD responses, so a hot file costs
 * one stat per request instead of open, fstat, send, sendfile and close. Every
 * hit is checked against a fresh stat: a changed file is never served stale. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "conditional.h"

struct MHD_Response;
typedef struct FileCache FileCache;

#define FILECACHE_MAX_FILE (64 * 1024)
#define FILECACHE_MAX_BYTES (4 * 1024 * 1024)

FileCache *filecache_new(void);
void filecache_free(FileCache *c);

/* Drops every entry, as when the root is another directory now. A response
 * still being sent lives on: MHD counts its references. */
void filecache_clear(FileCache *c);

/* The cached response for rel if the file found at rel under root_fd is still
 * the one that was cached (same device, inode, size, mtime and ctime), and
 * its validators, which stay valid until the next call into the cache. */
struct MHD_Response *filecache_lookup(FileCache *c, int root_fd, const char *rel,
                                      bool *ret_is_index, const CondValidators **ret_validators);

/* Caches a response for rel, whose opened file is fd with stat st (resolved
 * to `resolved`, the index.html path for a directory) and validators v, made
 * from st. Takes nothing: reads the file itself. Returns the new response or
 * NULL when not cacheable: too large, or v's Last-Modified clamped to the
 * clock (see cond_validators_from_stat()). */
struct MHD_Response *filecache_store(FileCache *c, const char *rel, const char *resolved,
                                     bool is_index, int fd, const struct stat *st,
                                     const CondValidators *v, const char *content_type);

size_t filecache_bytes(const FileCache *c);
