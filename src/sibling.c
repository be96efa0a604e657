/* Looking for app.js.br and app.js.gz: path_open() like the file itself,
 * so a sibling never leads out of the root, then the checks that make it
 * a stand-in for the file. */
#include "sibling.h"

#include <stdio.h>
#include <unistd.h>

#include "macro.h"
#include "path.h"

static void sibling_open(int root_fd, const char *resolved, Coding k, const struct stat *orig,
                         SiblingHiddenFn hidden, void *userdata, FileCacheSibling *ret) {
        char path[PATH_REQUEST_MAX + 32];
        struct stat st;
        bool is_index = false, via_symlink = false;
        int fd, n;

        ret->fd = -1;
        n = snprintf(path, sizeof path, "%s%s", resolved, coding_suffix(k));
        if (n < 0 || (size_t) n >= sizeof path)
                return;
        fd = path_open(root_fd, path, &st, &is_index, &via_symlink);
        if (fd < 0)
                return;
        ret->present = true; /* for the cache to tell when it changes */
        ret->st = st;
        /* a directory's index.html is no sibling */
        if (is_index || !filecache_sibling_fresh(&orig->st_mtim, &st) ||
            (via_symlink && hidden(userdata, path, fd)) ||
            cond_validators_from_stat(&st, now_seconds(), &ret->v) < 0) {
                close(fd);
                return;
        }
        ret->fd = fd;
}

unsigned sibling_open_all(int root_fd, const char *resolved, const struct stat *orig,
                          const CodingOrder *order, SiblingHiddenFn hidden, void *userdata,
                          FileCacheSibling sib[_CODING_MAX]) {
        unsigned probed = 0;

        for (int k = 0; k < _CODING_MAX; k++)
                sib[k] = (FileCacheSibling) { .fd = -1 };
        for (size_t i = 0; i < order->n; i++) {
                Coding k = order->coding[i];
                if (k <= CODING_IDENTITY || k >= _CODING_MAX)
                        continue;
                sibling_open(root_fd, resolved, k, orig, hidden, userdata, &sib[k]);
                probed |= CODING_BIT(k);
        }
        return probed;
}

void sibling_close_all(FileCacheSibling sib[_CODING_MAX]) {
        for (int k = 0; k < _CODING_MAX; k++)
                if (sib[k].fd >= 0) {
                        close(sib[k].fd);
                        sib[k].fd = -1;
                }
}
