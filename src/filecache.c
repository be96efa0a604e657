/* A per-worker cache of small static files as persistent MHD responses.
 * MHD reference-counts responses, so one response is queued to any number of
 * connections and sent with header and body in a single write. */
#include "filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILECACHE_BUCKETS 512u

typedef struct Entry {
        char *rel;      /* request path, as sanitized */
        char *resolved; /* what was opened: rel, or rel/index.html */
        bool is_index;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim, ctim;
        CondValidators validators; /* made from the stat above */
        struct MHD_Response *response;
        struct Entry *next;
} Entry;

struct FileCache {
        Entry *buckets[FILECACHE_BUCKETS];
        size_t bytes;
};

static unsigned hash(const char *s) {
        uint32_t h = 2166136261u; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h % FILECACHE_BUCKETS;
}

FileCache *filecache_new(void) {
        return calloc(1, sizeof(FileCache));
}

static void entry_free(Entry *e) {
        if (e->response)
                MHD_destroy_response(e->response);
        free(e->rel);
        free(e->resolved);
        free(e);
}

void filecache_clear(FileCache *c) {
        for (unsigned i = 0; i < FILECACHE_BUCKETS; i++)
                while (c->buckets[i]) {
                        Entry *e = c->buckets[i];
                        c->buckets[i] = e->next;
                        entry_free(e);
                }
        c->bytes = 0;
}

void filecache_free(FileCache *c) {
        if (!c)
                return;
        filecache_clear(c);
        free(c);
}

static bool same_file(const Entry *e, const struct stat *st) {
        return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
               e->mtim.tv_sec == st->st_mtim.tv_sec && e->mtim.tv_nsec == st->st_mtim.tv_nsec &&
               e->ctim.tv_sec == st->st_ctim.tv_sec && e->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

static void entry_remove(FileCache *c, Entry *e) {
        for (Entry **p = &c->buckets[hash(e->rel)]; *p; p = &(*p)->next)
                if (*p == e) {
                        *p = e->next;
                        c->bytes -= (size_t) e->size;
                        entry_free(e);
                        return;
                }
}

struct MHD_Response *filecache_lookup(FileCache *c, int root_fd, const char *rel,
                                      bool *ret_is_index, const CondValidators **ret_validators) {
        struct stat st;

        for (Entry *e = c->buckets[hash(rel)]; e; e = e->next) {
                if (strcmp(e->rel, rel) != 0)
                        continue;
                /* The cached bytes were read through the safe open path. If the
                 * name now leads to any other file, the inode differs and the
                 * caller takes the safe path again. */
                if (fstatat(root_fd, e->resolved, &st, 0) < 0 || !same_file(e, &st)) {
                        entry_remove(c, e);
                        return NULL;
                }
                *ret_is_index = e->is_index;
                *ret_validators = &e->validators;
                return e->response;
        }
        return NULL;
}

static int read_all(int fd, char *buf, size_t size) {
        size_t done = 0;
        while (done < size) {
                ssize_t n = pread(fd, buf + done, size - done, (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EIO;
                done += (size_t) n;
        }
        return 0;
}

struct MHD_Response *filecache_store(FileCache *c, const char *rel, const char *resolved,
                                     bool is_index, int fd, const struct stat *st,
                                     const CondValidators *v, const char *content_type) {
        struct stat after;
        Entry *e;
        char *data;

        /* a Last-Modified clamped to the time of the request (an mtime in
         * the future) holds for that moment only: kept, it would stay behind
         * the clock until the file changed */
        if (v->mtime != st->st_mtim.tv_sec)
                return NULL;
        if (st->st_size > FILECACHE_MAX_FILE ||
            c->bytes + (size_t) st->st_size > FILECACHE_MAX_BYTES)
                return NULL;
        data = malloc((size_t) st->st_size + 1);
        if (!data)
                return NULL;
        /* a file being written while we read it is not cached */
        if (read_all(fd, data, (size_t) st->st_size) < 0 || fstat(fd, &after) < 0 ||
            after.st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
            after.st_mtim.tv_sec != st->st_mtim.tv_sec || after.st_size != st->st_size) {
                free(data);
                return NULL;
        }
        e = calloc(1, sizeof *e);
        if (!e) {
                free(data);
                return NULL;
        }
        e->response =
                MHD_create_response_from_buffer((size_t) st->st_size, data, MHD_RESPMEM_MUST_FREE);
        e->rel = strdup(rel);
        e->resolved = strdup(resolved);
        if (!e->response || !e->rel || !e->resolved) {
                if (!e->response)
                        free(data);
                entry_free(e);
                return NULL;
        }
        MHD_add_response_header(e->response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        MHD_add_response_header(e->response, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        MHD_add_response_header(e->response, MHD_HTTP_HEADER_ETAG, v->etag);
        MHD_add_response_header(e->response, MHD_HTTP_HEADER_LAST_MODIFIED, v->last_modified);
        e->validators = *v;
        e->is_index = is_index;
        e->dev = st->st_dev;
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtim = st->st_mtim;
        e->ctim = st->st_ctim;
        unsigned b = hash(rel);
        e->next = c->buckets[b];
        c->buckets[b] = e;
        c->bytes += (size_t) st->st_size;
        return e->response;
}

size_t filecache_bytes(const FileCache *c) {
        return c->bytes;
}
