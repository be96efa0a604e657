/* The document root as its configured path names it now. A deploy points
 * the path at another directory (a symlink flipped, a directory renamed into
 * place); the directory held open is compared with the path at most once a
 * second, or at once when a lookup found nothing, and replaced by the new
 * one when they differ. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* How long a look at the path holds: the longest a deploy stays unseen. */
#define ROOT_CHECK_INTERVAL_USEC USEC_PER_SEC

typedef struct Root Root;

/* Opens the directory path names (symlinks followed) as the root, at time
 * now (CLOCK_MONOTONIC_COARSE, in microseconds). With want_proc_path, also
 * reads where it is as /proc names it, for root_proc_path(); when /proc
 * cannot tell, that stays NULL and the open still succeeds. */
int root_open(const char *path, bool want_proc_path, uint64_t now, Root **ret);
void root_free(Root *r);

/* The directory fd that lookups start from. It stays valid until the next
 * root_check() that returns 1; whatever was opened through it lives on. */
int root_fd(const Root *r);

/* The path as configured. */
const char *root_path(const Root *r);

/* The root's absolute path with every symlink followed (from /proc), or
 * NULL when it was not asked for or could not be read at the open. */
const char *root_proc_path(const Root *r);

/* Whether ROOT_CHECK_INTERVAL_USEC has passed since the last look at the
 * path: no system call, for every request. */
bool root_due(const Root *r, uint64_t now);

/* Looks at the path now: one stat() when it still names the directory held.
 * 1: it names another directory, which is held from now on (the old fd is
 * closed, the /proc path read again); 0: the same one; negative errno: it
 * names no directory that can be opened right now (missing between the two
 * renames of a deploy, a file, not permitted), and the old one is kept. */
int root_check(Root *r, uint64_t now);

/* Reads the /proc path again, for when the directory held was renamed. */
int root_refresh_proc_path(Root *r);
