/* A per-worker cache of small static files as persistent MHD responses.
 * MHD reference-counts responses, so one response is queued to any number of
 * connections and sent with header and body in a single write. */
#include "filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress.h"

#define FILECACHE_BUCKETS 512u

/* What a file's stat says of its version. */
typedef struct Identity {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim, ctim;
} Identity;

/* One representation: NULL response when the entry has none in this coding. */
typedef struct Variant {
        struct MHD_Response *response;
        const char *data; /* the response's body, which it owns */
        CondValidators validators;
        size_t size;
        bool sibling; /* read from resolved + the coding's suffix, as of `id` */
        Identity id;
} Variant;

typedef struct Entry {
        char *rel;      /* request path, as sanitized */
        char *resolved; /* what was opened: rel, or rel/index.html */
        bool is_index;
        Identity id; /* of the file itself */
        Variant var[_CODING_MAX];
        unsigned missing; /* codings whose sibling was looked for, not used */
        unsigned unused;  /* of those, the ones with a file there, as of unused_id */
        Identity unused_id[_CODING_MAX];
        uint64_t probed_at;
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

static size_t entry_bytes(const Entry *e) {
        size_t n = 0;
        for (int k = 0; k < _CODING_MAX; k++)
                n += e->var[k].size;
        return n;
}

static void entry_free(Entry *e) {
        for (int k = 0; k < _CODING_MAX; k++)
                if (e->var[k].response)
                        MHD_destroy_response(e->var[k].response);
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

static Identity identity_of(const struct stat *st) {
        return (Identity) { .dev = st->st_dev,
                            .ino = st->st_ino,
                            .size = st->st_size,
                            .mtim = st->st_mtim,
                            .ctim = st->st_ctim };
}

static bool same_file(const Identity *id, const struct stat *st) {
        return id->dev == st->st_dev && id->ino == st->st_ino && id->size == st->st_size &&
               id->mtim.tv_sec == st->st_mtim.tv_sec && id->mtim.tv_nsec == st->st_mtim.tv_nsec &&
               id->ctim.tv_sec == st->st_ctim.tv_sec && id->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

static void entry_remove(FileCache *c, Entry *e) {
        for (Entry **p = &c->buckets[hash(e->rel)]; *p; p = &(*p)->next)
                if (*p == e) {
                        *p = e->next;
                        c->bytes -= entry_bytes(e);
                        entry_free(e);
                        return;
                }
}

/* The path of e's sibling in coding k, into buf. */
static int sibling_path(const char *resolved, Coding k, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s%s", resolved, coding_suffix(k));
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* Whether a sibling not used (missing, or older, or hidden) appeared or
 * changed: once a FILECACHE_PROBE_USEC at most, so it costs no call per
 * request; one that is there but still unusable does not drop the entry
 * again and again. */
static bool sibling_changed(Entry *e, int root_fd, uint64_t now) {
        char path[PATH_MAX];
        struct stat st;

        if (!e->missing || now - e->probed_at < FILECACHE_PROBE_USEC)
                return false;
        e->probed_at = now;
        for (int k = CODING_IDENTITY + 1; k < _CODING_MAX; k++) {
                if (!(e->missing & CODING_BIT(k)))
                        continue;
                bool there = sibling_path(e->resolved, (Coding) k, path, sizeof path) >= 0 &&
                             fstatat(root_fd, path, &st, 0) >= 0;
                bool was = e->unused & CODING_BIT(k);
                if (there != was || (there && !same_file(&e->unused_id[k], &st)))
                        return true;
        }
        return false;
}

static void entry_pick(const Entry *e, const FileCacheAsk *ask, FileCacheHit *ret) {
        unsigned available = 0;
        Coding k = CODING_IDENTITY;

        for (int i = CODING_IDENTITY + 1; i < _CODING_MAX; i++)
                if (e->var[i].response)
                        available |= CODING_BIT(i);
        if (ask->accept && available)
                k = encoding_choose(ask->accept, available, ask->order);
        *ret = (FileCacheHit) { .response = e->var[k].response,
                                .data = e->var[k].data,
                                .validators = &e->var[k].validators,
                                .coding = k,
                                .is_index = e->is_index,
                                .vary = available != 0 };
}

bool filecache_lookup(FileCache *c, int root_fd, const char *rel, const FileCacheAsk *ask,
                      FileCacheHit *ret) {
        char path[PATH_MAX];
        struct stat st;

        for (Entry *e = c->buckets[hash(rel)]; e; e = e->next) {
                if (strcmp(e->rel, rel) != 0)
                        continue;
                /* The cached bytes were read through the safe open path. If the
                 * name now leads to any other file, the inode differs and the
                 * caller takes the safe path again. */
                if (fstatat(root_fd, e->resolved, &st, 0) < 0 || !same_file(&e->id, &st) ||
                    sibling_changed(e, root_fd, ask->now)) {
                        entry_remove(c, e);
                        return false;
                }
                entry_pick(e, ask, ret);
                /* a sibling served is checked like the file itself */
                const Variant *v = &e->var[ret->coding];
                if (v->sibling && (sibling_path(e->resolved, ret->coding, path, sizeof path) < 0 ||
                                   fstatat(root_fd, path, &st, 0) < 0 || !same_file(&v->id, &st))) {
                        entry_remove(c, e);
                        return false;
                }
                return true;
        }
        return false;
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

/* The bytes of the file open as fd, whose stat was st: -ESTALE when it
 * changed while being read, which is then not cached. */
static int read_file(int fd, const struct stat *st, char **ret) {
        struct stat after;
        char *data = malloc((size_t) st->st_size + 1);

        if (!data)
                return -ENOMEM;
        if (read_all(fd, data, (size_t) st->st_size) < 0 || fstat(fd, &after) < 0 ||
            after.st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
            after.st_mtim.tv_sec != st->st_mtim.tv_sec || after.st_size != st->st_size) {
                free(data);
                return -ESTALE;
        }
        *ret = data;
        return 0;
}

/* Makes var a response of the n bytes at data, taking them. */
static int variant_set(Variant *var, char *data, size_t n, const CondValidators *v) {
        var->response = MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
        if (!var->response) {
                free(data);
                return -ENOMEM;
        }
        var->data = data;
        var->size = n;
        var->validators = *v;
        var->validators.size = n; /* what a 304 of this variant says */
        return 0;
}

/* The validators of a variant made here: the file's, with an ETag of its
 * own ("...-br"), so that a cache never takes one coding for another. */
static CondValidators made_validators(const CondValidators *v, Coding k) {
        CondValidators m = *v;
        size_t n = strlen(m.etag);

        if (n >= 2 && m.etag[n - 1] == '"')
                snprintf(m.etag + n - 1, sizeof m.etag - (n - 1), "-%s\"",
                         k == CODING_BR ? "br" : "gz");
        return m;
}

/* The variant in coding k: read from its sibling, or compressed from the
 * file's bytes (when asked, and only if smaller). A variant not had is no
 * error; -E2BIG, -ESTALE and -ENOMEM are. */
static int variant_fill(Entry *e, const FileCacheSource *src, Coding k, const char *data) {
        const FileCacheSibling *sib = src->sibling ? &src->sibling[k] : NULL;
        char *out;
        size_t n;
        int r;

        if (sib && sib->fd >= 0) {
                if (sib->st.st_size > FILECACHE_MAX_FILE)
                        return -E2BIG;
                if (sib->v.mtime != sib->st.st_mtim.tv_sec)
                        return -ESTALE;
                r = read_file(sib->fd, &sib->st, &out);
                if (r < 0)
                        return r;
                e->var[k].sibling = true;
                e->var[k].id = identity_of(&sib->st);
                return variant_set(&e->var[k], out, (size_t) sib->st.st_size, &sib->v);
        }
        if (!src->compress || !compress_type_is_text(src->content_type))
                return 0;
        r = compress_buffer(k, data, (size_t) src->st->st_size, (void **) &out, &n);
        if (r == -E2BIG || r == -EIO) /* not smaller, or the library failed: identity only */
                return 0;
        if (r < 0)
                return r;
        CondValidators m = made_validators(src->v, k);
        return variant_set(&e->var[k], out, n, &m);
}

static void variant_headers(Entry *e, const char *content_type) {
        bool vary = false;

        for (int k = CODING_IDENTITY + 1; k < _CODING_MAX; k++)
                vary = vary || e->var[k].response;
        for (int k = 0; k < _CODING_MAX; k++) {
                struct MHD_Response *r = e->var[k].response;
                if (!r)
                        continue;
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
                MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
                MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, e->var[k].validators.etag);
                MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED,
                                        e->var[k].validators.last_modified);
                if (k != CODING_IDENTITY)
                        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                                coding_name((Coding) k));
                if (vary)
                        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        }
}

int filecache_store(FileCache *c, const FileCacheSource *src, const FileCacheAsk *ask,
                    FileCacheHit *ret) {
        const struct stat *st = src->st;
        Entry *e;
        char *data;
        int r;

        /* a Last-Modified clamped to the time of the request (an mtime in
         * the future) holds for that moment only: kept, it would stay behind
         * the clock until the file changed */
        if (src->v->mtime != st->st_mtim.tv_sec)
                return -ESTALE;
        if (st->st_size > FILECACHE_MAX_FILE ||
            c->bytes + (size_t) st->st_size > FILECACHE_MAX_BYTES)
                return -E2BIG;
        /* a file being written while we read it is not cached */
        r = read_file(src->fd, st, &data);
        if (r < 0)
                return r;
        e = calloc(1, sizeof *e);
        if (!e) {
                free(data);
                return -ENOMEM;
        }
        for (int k = CODING_IDENTITY + 1; k < _CODING_MAX && r >= 0; k++)
                r = variant_fill(e, src, (Coding) k, data);
        if (r >= 0)
                r = variant_set(&e->var[CODING_IDENTITY], data, (size_t) st->st_size, src->v);
        else
                free(data);
        e->rel = strdup(src->rel);
        e->resolved = strdup(src->resolved);
        if (r >= 0 && (!e->rel || !e->resolved))
                r = -ENOMEM;
        if (r >= 0 && c->bytes + entry_bytes(e) > FILECACHE_MAX_BYTES)
                r = -E2BIG;
        if (r < 0) {
                entry_free(e);
                return r;
        }
        variant_headers(e, src->content_type);
        e->is_index = src->is_index;
        e->id = identity_of(st);
        for (int k = CODING_IDENTITY + 1; k < _CODING_MAX; k++) {
                if (!(src->probed & CODING_BIT(k)) || e->var[k].sibling)
                        continue;
                e->missing |= CODING_BIT(k);
                if (src->sibling && src->sibling[k].present) {
                        e->unused |= CODING_BIT(k);
                        e->unused_id[k] = identity_of(&src->sibling[k].st);
                }
        }
        e->probed_at = ask->now;
        unsigned b = hash(src->rel);
        e->next = c->buckets[b];
        c->buckets[b] = e;
        c->bytes += entry_bytes(e);
        entry_pick(e, ask, ret);
        return 0;
}

size_t filecache_bytes(const FileCache *c) {
        return c->bytes;
}
