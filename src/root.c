/* Following the document root across deploys: the configured path is looked
 * at again now and then, and the directory it names now replaces the one
 * held when a deploy pointed it elsewhere. */
#include "root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

struct Root {
        char *path; /* as configured, maybe a symlink */
        int fd;
        dev_t dev; /* of fd, to compare with what path names now */
        ino_t ino;
        bool want_proc_path;
        char *proc_path;     /* see root_proc_path() */
        uint64_t next_check; /* when root_due() says yes again */
};

/* fd's /proc path, in memory of its own */
static int proc_path_read(int fd, char **ret) {
        char buf[PATH_MAX];
        int r = path_of_fd(fd, buf, sizeof buf);

        if (r < 0)
                return r;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* Opens the directory path names, with its identity. */
static int open_dir(const char *path, struct stat *ret_st) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, ret_st) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        return fd;
}

int root_open(const char *path, bool want_proc_path, uint64_t now, Root **ret) {
        struct stat st;
        Root *r;

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->path = strdup(path);
        if (!r->path) {
                free(r);
                return -ENOMEM;
        }
        r->fd = open_dir(path, &st);
        if (r->fd < 0) {
                int err = r->fd;
                root_free(r);
                return err;
        }
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        r->want_proc_path = want_proc_path;
        if (want_proc_path) /* NULL when /proc cannot tell */
                (void) proc_path_read(r->fd, &r->proc_path);
        r->next_check = now + ROOT_CHECK_INTERVAL_USEC;
        *ret = r;
        return 0;
}

void root_free(Root *r) {
        if (!r)
                return;
        if (r->fd >= 0)
                close(r->fd);
        free(r->proc_path);
        free(r->path);
        free(r);
}

int root_fd(const Root *r) {
        return r->fd;
}

const char *root_path(const Root *r) {
        return r->path;
}

const char *root_proc_path(const Root *r) {
        return r->proc_path;
}

bool root_due(const Root *r, uint64_t now) {
        return now >= r->next_check;
}

/* Holds the directory open as fd, with stat st, from now on. Nothing that
 * was opened through the old fd needs it: an open file keeps its inode, and
 * cached answers are checked against the new fd. */
static void root_take(Root *r, int fd, const struct stat *st) {
        close(r->fd);
        r->fd = fd;
        r->dev = st->st_dev;
        r->ino = st->st_ino;
        /* should it fail, the old path stays: what is opened beneath the new
         * root lies outside it, so the dotfile check reads it again, and
         * refuses when it cannot */
        if (r->proc_path)
                (void) root_refresh_proc_path(r);
}

int root_check(Root *r, uint64_t now) {
        struct stat st;
        int fd;

        r->next_check = now + ROOT_CHECK_INTERVAL_USEC;
        if (stat(r->path, &st) < 0)
                return negative_errno();
        if (st.st_dev == r->dev && st.st_ino == r->ino)
                return 0;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        /* what is opened may differ from what was stat'ed, if the path moved
         * again in between: its own fstat is what is compared from now on */
        fd = open_dir(r->path, &st);
        if (fd < 0)
                return fd;
        if (st.st_dev == r->dev && st.st_ino == r->ino) {
                close(fd);
                return 0;
        }
        root_take(r, fd, &st);
        return 1;
}

int root_refresh_proc_path(Root *r) {
        char *copy = NULL;
        int e;

        if (!r->want_proc_path)
                return -EINVAL;
        e = proc_path_read(r->fd, &copy);
        if (e < 0)
                return e;
        free(r->proc_path);
        r->proc_path = copy;
        return 0;
}
