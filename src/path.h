/* Mapping a request path onto the document root without ever leaving it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define PATH_REQUEST_MAX 1024

/* Turns an (already percent-decoded) URL path into a path relative to the
 * root: "/" -> ".", "/a/b.html" -> "a/b.html". Refuses with -EINVAL anything
 * not starting with '/', any ".." segment, backslashes and control bytes;
 * -ENAMETOOLONG past PATH_REQUEST_MAX. Empty and "." segments are dropped. */
int path_sanitize(const char *url, char *out, size_t size);

/* Whether rel, a path_sanitize() result, names a "dotfile": some segment
 * begins with '.', such as ".env" or "a/.git/config". The root "." is not one,
 * nor a top-level ".well-known" (RFC 8615 puts it at the root, for ACME
 * challenges and security.txt), though a dot segment beneath it is:
 * ".well-known/.x" is hidden, and so is "a/.well-known". */
bool path_is_hidden(const char *rel);

/* Whether resolved, the absolute path a file was opened at with every
 * symlink followed, lies beneath root (absolute and resolved too) at a
 * hidden path in the sense of path_is_hidden(): 1 if so, 0 if not, -EXDEV
 * when resolved is not beneath root at all (the open forbids that, so the
 * root itself must have moved). */
int path_resolved_is_hidden(const char *resolved, const char *root);

/* The absolute path of the file open as fd, from /proc/self/fd, into buf.
 * Negative errno: -ENAMETOOLONG, or readlink's error (-ENOENT without /proc). */
int path_of_fd(int fd, char *buf, size_t size);

/* The index path of directory rel ("./index.html" for "."). */
int path_index(const char *rel, char *out, size_t size);

/* Opens rel beneath root_fd, refusing symlinks or ".." that lead out of it
 * (openat2 RESOLVE_BENEATH). A directory is replaced by its index.html.
 * Returns an O_RDONLY fd with *ret_st filled (and *ret_is_index true when it is
 * a directory's index.html, *ret_via_symlink, unless NULL, true when a
 * symlink was followed on the way), or -ENOENT, -EACCES, -EXDEV (escape
 * attempt), -EISDIR (directory without index). */
int path_open(int root_fd, const char *rel, struct stat *ret_st, bool *ret_is_index,
              bool *ret_via_symlink);
