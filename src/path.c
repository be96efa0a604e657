/* Request-path hygiene: a textual check first, then the kernel's openat2
 * RESOLVE_BENEATH, so symlinks inside the root can never point outside it. */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"

int path_sanitize(const char *url, char *out, size_t size) {
        size_t w = 0;
        const char *p = url;

        if (!url || url[0] != '/')
                return -EINVAL;
        if (size > PATH_REQUEST_MAX + 1)
                size = PATH_REQUEST_MAX + 1;

        while (*p) {
                const char *seg;
                size_t len;

                while (*p == '/')
                        p++;
                seg = p;
                while (*p && *p != '/')
                        p++;
                len = (size_t) (p - seg);
                if (len == 0 || (len == 1 && seg[0] == '.'))
                        continue;
                if (len == 2 && seg[0] == '.' && seg[1] == '.')
                        return -EINVAL;
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char) seg[i] < 0x20 || seg[i] == 0x7f || seg[i] == '\\')
                                return -EINVAL;
                if (w + (w > 0) + len + 1 > size) /* separator, segment, NUL */
                        return -ENAMETOOLONG;
                if (w > 0)
                        out[w++] = '/';
                memcpy(out + w, seg, len);
                w += len;
        }
        if (w == 0) {
                if (size < 2)
                        return -ENAMETOOLONG;
                out[w++] = '.';
        }
        out[w] = 0;
        return 0;
}

bool path_is_hidden(const char *rel) {
        static const char well_known[] = ".well-known";
        const char *seg = rel;

        if (strcmp(rel, ".") == 0)
                return false;
        for (;;) {
                size_t len = strcspn(seg, "/");
                bool top = seg == rel;

                if (seg[0] == '.' &&
                    !(top && len == sizeof well_known - 1 && memcmp(seg, well_known, len) == 0))
                        return true;
                if (!seg[len])
                        return false;
                seg += len + 1;
        }
}

int path_resolved_is_hidden(const char *resolved, const char *root) {
        size_t n = strlen(root);

        while (n > 1 && root[n - 1] == '/') /* "/srv/www/" is "/srv/www"; "/" stays */
                n--;
        if (n == 1) /* the root is "/" */
                n = 0;
        else if (strncmp(resolved, root, n) != 0)
                return -EXDEV;
        if (resolved[n] == 0 && n > 0)
                return 0; /* the root itself */
        if (resolved[n] != '/')
                return -EXDEV;
        return resolved[n + 1] && path_is_hidden(resolved + n + 1);
}

int path_of_fd(int fd, char *buf, size_t size) {
        char link[64];
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, buf, size);
        if (n < 0)
                return negative_errno();
        if ((size_t) n >= size)
                return -ENAMETOOLONG;
        buf[n] = 0;
        return 0;
}

/* Where openat2() is missing (kernels before 5.6) or filtered (seccomp
 * profiles such as systemd's RestrictSUIDSGID= answer ENOSYS), walk the path
 * one component at a time with O_NOFOLLOW: stricter, since it refuses every
 * symlink, and refuses "..", so it can never leave the root either. */
static int open_beneath_by_components(int dir_fd, const char *rel) {
        char buf[PATH_REQUEST_MAX + 16], *save = NULL, *comp, *next;
        int cur = dir_fd;

        if (snprintf(buf, sizeof buf, "%s", rel) >= (int) sizeof buf)
                return -ENAMETOOLONG;
        comp = strtok_r(buf, "/", &save);
        while (comp) {
                next = strtok_r(NULL, "/", &save);
                /* sanitized paths have no "..", but the walk does not rely on
                 * it: ".." would climb out of the root like RESOLVE_BENEATH
                 * forbids, so refuse it with the same error */
                if (strcmp(comp, "..") == 0) {
                        if (cur != dir_fd)
                                close(cur);
                        return -EXDEV;
                }
                int flags = O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
                            (next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK);
                int fd = openat(cur, comp, flags);
                int r = fd < 0 ? negative_errno() : 0;
                struct stat lst;
                /* a symlink walked through as a directory fails O_DIRECTORY
                 * with ENOTDIR: it is a symlink refused (403), as openat2
                 * would have it, not a file asked for as a directory */
                if (r == -ENOTDIR && fstatat(cur, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISLNK(lst.st_mode))
                        r = -ELOOP;
                if (cur != dir_fd)
                        close(cur);
                if (r < 0)
                        return r;
                cur = fd;
                comp = next;
        }
        return cur == dir_fd ? openat(dir_fd, ".", O_RDONLY | O_CLOEXEC | O_DIRECTORY) : cur;
}

/* Tries without symlinks first: nearly every path has none, and the caller
 * needs to know when one was followed (a dotfile may lie behind it). */
static int open_beneath(int dir_fd, const char *rel, bool *via_symlink) {
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
        };
        long fd = syscall(SYS_openat2, dir_fd, rel, &how, sizeof how);
        if (fd < 0 && errno == ELOOP) {
                how.resolve &= ~(uint64_t) RESOLVE_NO_SYMLINKS;
                fd = syscall(SYS_openat2, dir_fd, rel, &how, sizeof how);
                if (fd >= 0)
                        *via_symlink = true;
        }
        if (fd < 0 && (errno == ENOSYS || errno == EPERM))
                return open_beneath_by_components(dir_fd, rel);
        return fd < 0 ? negative_errno() : (int) fd;
}

int path_index(const char *rel, char *out, size_t size) {
        int n = snprintf(out, size, "%s/index.html", rel);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int path_open(int root_fd, const char *rel, struct stat *ret_st, bool *ret_is_index,
              bool *ret_via_symlink) {
        _cleanup_close_ int fd = -1;
        bool via_symlink = false;

        *ret_is_index = false;
        if (ret_via_symlink)
                *ret_via_symlink = false;
        fd = open_beneath(root_fd, rel, &via_symlink);
        if (fd >= 0 && fstat(fd, ret_st) < 0)
                return negative_errno();
        if (fd >= 0 && S_ISDIR(ret_st->st_mode)) {
                char index[PATH_REQUEST_MAX + 16];

                if (path_index(rel, index, sizeof index) < 0)
                        return -ENAMETOOLONG;
                close(take_fd(&fd));
                fd = open_beneath(root_fd, index, &via_symlink);
                *ret_is_index = true;
                if (fd == -ENOENT)
                        return -EISDIR;
                if (fd >= 0 && fstat(fd, ret_st) < 0)
                        return negative_errno();
        }
        if (fd < 0)
                return fd == -ELOOP ? -EXDEV : fd;
        /* O_NONBLOCK at open keeps a FIFO in the root from hanging the worker */
        if (!S_ISREG(ret_st->st_mode))
                return -EACCES;
        if (ret_via_symlink)
                *ret_via_symlink = via_symlink;
        return take_fd(&fd);
}
