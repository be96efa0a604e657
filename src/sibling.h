/* Precompressed siblings of a file (app.js.br, app.js.gz beside app.js):
 * opened through the same confinement as any file, and kept only where
 * they may stand for it. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "encoding.h"
#include "filecache.h"

/* Whether a sibling reached through a symlink, open as fd at path, lies at
 * a hidden path and must not be served (static.c's dotfile rule). */
typedef bool (*SiblingHiddenFn)(void *userdata, const char *path, int fd);

/* Opens the siblings of `resolved` (beneath root_fd) in the codings of
 * `order` into sib, indexed by coding; a sibling that is missing, not a
 * regular file, older than orig (to the nanosecond) or hidden gets fd -1,
 * with `present` and st telling what is there for the cache.
 * Returns the CODING_BIT()s of the codings looked for. */
unsigned sibling_open_all(int root_fd, const char *resolved, const struct stat *orig,
                          const CodingOrder *order, SiblingHiddenFn hidden, void *userdata,
                          FileCacheSibling sib[_CODING_MAX]);

/* Closes what sibling_open_all() left open. */
void sibling_close_all(FileCacheSibling sib[_CODING_MAX]);
