/* Static files beneath the root: 200 from the file cache or the file, 304
 * and 412 from the request's preconditions, 206 and 416 for a Range, the
 * redirect of a directory named without its slash, and dotfiles kept hidden,
 * through symlinks too. */
#include "static.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compress.h"
#include "conditional.h"
#include "conn.h"
#include "encoding.h"
#include "filecache.h"
#include "log.h"
#include "macro.h"
#include "mime.h"
#include "path.h"
#include "range.h"
#include "redirect.h"
#include "root.h"
#include "sibling.h"

struct StaticSite {
        Root *root; /* follows deploys; its /proc path is for dotfile symlinks */
        MimeTable *mime;
        FileCache *cache;
        bool dotfiles;             /* serve dot segments: see path_is_hidden() */
        CodingOrder precompressed; /* the siblings looked for */
        CodingOrder order;         /* every coding served, in the order preferred */
        bool compress;             /* text compressed in the cache */
        /* the root's path has named no directory since root_failed_at;
         * root_warned once it was logged */
        bool root_failing, root_warned;
        uint64_t root_failed_at;
        /* files not opened for want of fds (EMFILE/ENFILE) since the last
         * line about them: a worker out of fds fails every request at once,
         * so they are logged at most every FD_REFUSED_LOG_USEC */
        uint64_t fd_refused, fd_refused_logged_at;
};

#define FD_REFUSED_LOG_USEC (10 * USEC_PER_SEC)

int static_new(const Config *c, StaticSite **ret) {
        StaticSite *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->dotfiles = c->dotfiles;
        s->precompressed = s->order = c->precompressed;
        s->compress = c->compress;
        /* what the cache compresses comes after the siblings asked for */
        for (Coding k = CODING_BR; c->compress && k <= CODING_GZIP; k++) {
                bool listed = false;
                for (size_t i = 0; i < s->order.n; i++)
                        listed = listed || s->order.coding[i] == k;
                if (!listed)
                        s->order.coding[s->order.n++] = k;
        }
        r = root_open(c->root, !c->dotfiles, now_usec(CLOCK_MONOTONIC_COARSE), &s->root);
        if (r < 0)
                goto fail;
        (void) mime_table_load(c->mime_types, &s->mime); /* missing file: octet-stream */
        if (!s->mime) {
                r = -ENOMEM;
                goto fail;
        }
        s->cache = filecache_new();
        if (!s->cache) {
                r = -ENOMEM;
                goto fail;
        }
        /* no /proc: only the path asked for is checked */
        if (!s->dotfiles && !root_proc_path(s->root))
                log_warning("cannot tell where symlinks in %s lead: a symlink to a "
                            "dotfile will be served",
                            c->root);
        *ret = s;
        return 0;
fail:
        static_free(s);
        return r;
}

void static_free(StaticSite *s) {
        if (!s)
                return;
        filecache_free(s->cache);
        mime_table_free(s->mime);
        root_free(s->root);
        free(s);
}

/* ETag and Last-Modified, unless the file's mtime could not be written as
 * a date (v is NULL) */
static void add_validators(struct MHD_Response *r, const CondValidators *v) {
        if (!v)
                return;
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, v->etag);
        MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, v->last_modified);
}

/* Which representation of the file an answer is of. */
typedef struct Chosen {
        Coding coding;
        bool vary; /* the file has others: "Vary: Accept-Encoding" */
} Chosen;

static const Chosen chosen_identity = { .coding = CODING_IDENTITY };

/* Content-Encoding for a body in a coding, and Vary on every answer about
 * a file with several representations */
static void add_coding(struct MHD_Response *r, const Chosen *ch, bool has_body) {
        if (has_body && ch->coding != CODING_IDENTITY)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                        coding_name(ch->coding));
        if (ch->vary)
                MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
}

/* 304: the client's copy is the current one. Validators only, no body. */
static enum MHD_Result queue_not_modified(const Request *rq, const CondValidators *v,
                                          const Chosen *ch) {
        struct MHD_Response *r;

        r = mhd_response_not_modified(v->size);
        if (!r)
                return MHD_NO;
        add_validators(r, v);
        add_coding(r, ch, false);
        return answer_once(rq, MHD_HTTP_NOT_MODIFIED, r);
}

/* Files a conditional header where the request has one: the first line of
 * a single-value header, every line of a list. MHD keeps names as received,
 * so case is ignored; one cheap test sets aside every other header. */
static enum MHD_Result condition_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value) {
        CondRequest *req = cls;
        CondLines *lines = NULL;
        const char **single = NULL;

        if (strncasecmp(key, "If-", 3) != 0 || !value)
                return MHD_YES;
        if (strcasecmp(key, MHD_HTTP_HEADER_IF_MATCH) == 0)
                lines = &req->if_match;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_NONE_MATCH) == 0)
                lines = &req->if_none_match;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE) == 0)
                single = &req->if_unmodified_since;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_MODIFIED_SINCE) == 0)
                single = &req->if_modified_since;
        else if (strcasecmp(key, MHD_HTTP_HEADER_IF_RANGE) == 0)
                single = &req->if_range;
        if (lines) {
                if (lines->n < COND_LINES_MAX)
                        lines->line[lines->n] = value;
                lines->n++; /* past the room: the list counts as malformed */
        } else if (single && !*single)
                *single = value;
        return MHD_YES;
}

/* What RFC 9110 section 13.2.2 makes of the request's preconditions. One
 * pass over the headers finds them all, with no allocation. The clock is
 * read only for If-Modified-Since and If-Range, through the vDSO. */
static CondResult conditions_evaluate(struct MHD_Connection *c, bool has_range,
                                      const CondValidators *v) {
        CondRequest req = { .has_range = has_range };

        (void) MHD_get_connection_values(c, MHD_HEADER_KIND, condition_collect, &req);
        if (!has_range)
                req.if_range = NULL;
        return cond_evaluate(&req, v, req.if_modified_since || req.if_range ? now_seconds() : 0);
}

/* Large or uncached files: MHD sends them with sendfile and closes fd. */
static enum MHD_Result queue_fd(const Request *rq, int fd, const struct stat *st,
                                const CondValidators *v, const char *type, const Chosen *ch) {
        struct MHD_Response *r;

        r = MHD_create_response_from_fd64((uint64_t) st->st_size, fd);
        if (!r) {
                close(fd);
                return answer_canned(rq, CANNED_SERVER_ERROR);
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        add_validators(r, v);
        add_coding(r, ch, true);
        mhd_uncork_later(rq->uncork, rq->mhd, (uint64_t) st->st_size);
        sentfile_watch(conn_get(rq->mhd), fd, st, (uint64_t) st->st_size);
        return answer_once(rq, MHD_HTTP_OK, r);
}

/* 206: r, len bytes from start of a representation of `size` bytes. */
static enum MHD_Result queue_partial(const Request *rq, struct MHD_Response *r, uint64_t size,
                                     const CondValidators *v, const char *type, const Chosen *ch,
                                     uint64_t start, uint64_t len) {
        char content_range[80];

        snprintf(content_range, sizeof content_range, "bytes %llu-%llu/%llu",
                 (unsigned long long) start, (unsigned long long) (start + len - 1),
                 (unsigned long long) size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        add_validators(r, v);
        add_coding(r, ch, true);
        return answer_once(rq, MHD_HTTP_PARTIAL_CONTENT, r);
}

/* 206: len bytes of the file from start. */
static enum MHD_Result queue_range(const Request *rq, int fd, const struct stat *st,
                                   const CondValidators *v, const char *type, const Chosen *ch,
                                   uint64_t start, uint64_t len) {
        struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, start);

        if (!r) {
                close(fd);
                return answer_canned(rq, CANNED_SERVER_ERROR);
        }
        mhd_uncork_later(rq->uncork, rq->mhd, len);
        sentfile_watch(conn_get(rq->mhd), fd, st, start + len);
        return queue_partial(rq, r, (uint64_t) st->st_size, v, type, ch, start, len);
}

/* 416, naming the file's size so that the client can ask again, and the
 * version that size belongs to. */
static enum MHD_Result queue_unsatisfiable(const Request *rq, uint64_t size,
                                           const CondValidators *v, const Chosen *ch) {
        static const char body[] = "416 Range Not Satisfiable\n";
        char content_range[48];
        struct MHD_Response *r;

        r = MHD_create_response_from_buffer(sizeof body - 1, (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        snprintf(content_range, sizeof content_range, "bytes */%llu", (unsigned long long) size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
        add_validators(r, v);
        add_coding(r, ch, false);
        answer_note_text(rq, sizeof body - 1);
        return answer_once(rq, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
}

/* Whether the file open as fd, reached through a symlink, sits at a hidden
 * path beneath the root; when that cannot be told, it is treated as hidden.
 * One readlink() for each file opened through a symlink; none for the rest,
 * nor for answers from the file cache, which only holds files that passed. */
static bool opened_hidden(StaticSite *s, const char *rel, int fd) {
        char resolved[PATH_MAX];
        int r = path_of_fd(fd, resolved, sizeof resolved);

        if (r >= 0)
                r = path_resolved_is_hidden(resolved, root_proc_path(s->root));
        /* the root was renamed under the worker */
        if (r == -EXDEV && root_refresh_proc_path(s->root) >= 0)
                r = path_resolved_is_hidden(resolved, root_proc_path(s->root));
        if (r < 0)
                log_warning("cannot tell where '%s' leads (%s): answered as not found", rel,
                            strerror(-r));
        return r != 0;
}

/* "/dir/" and "/dir/." ask for a directory: a file so named is not found, as
 * the kernel's ENOTDIR would have it, rather than served under a second URL
 * whose relative links resolve one level too deep */
static bool url_names_directory(const char *url) {
        size_t n = strlen(url);
        return (n >= 1 && url[n - 1] == '/') || (n >= 2 && url[n - 2] == '/' && url[n - 1] == '.');
}

/* A Range of a cached representation, copied from the cache's bytes: the
 * entry may be gone before the answer is sent. */
static enum MHD_Result queue_cached_range(Request *rq, const FileCacheHit *hit, const Chosen *ch,
                                          const char *range, bool body_sent) {
        const CondValidators *v = hit->validators;
        struct MHD_Response *r;
        uint64_t start, len;

        switch (range_parse(range, v->size, &start, &len)) {
        case RANGE_OK:
                break;
        case RANGE_UNSATISFIABLE:
                return queue_unsatisfiable(rq, v->size, v, ch);
        case RANGE_IGNORE:
                if (body_sent)
                        rq->body_bytes += v->size;
                return MHD_queue_response(rq->mhd, MHD_HTTP_OK, hit->response);
        }
        r = MHD_create_response_from_buffer((size_t) len, (void *) (hit->data + start),
                                            MHD_RESPMEM_MUST_COPY);
        if (!r)
                return answer_canned(rq, CANNED_SERVER_ERROR);
        if (body_sent)
                rq->body_bytes += len;
        return queue_partial(rq, r, v->size, v,
                             MHD_get_response_header(hit->response, MHD_HTTP_HEADER_CONTENT_TYPE),
                             ch, start, len);
}

/* An answer from the file cache: hit holds the cached response for rel,
 * and its validators, made from the stat that the lookup just compared. */
static enum MHD_Result serve_cached(Request *rq, const FileCacheHit *hit, const char *rel,
                                    bool names_directory, const char *range, bool body_sent) {
        const CondValidators *v = hit->validators;
        const Chosen ch = { .coding = hit->coding, .vary = hit->vary };
        bool is_index = hit->is_index;

        if (is_index && !names_directory)
                return redirect_to_directory(rq, rel, body_sent);
        if (!is_index && names_directory)
                return answer_canned(rq, CANNED_NOT_FOUND);
        switch (conditions_evaluate(rq->mhd, range != NULL, v)) {
        case COND_PRECONDITION_FAILED:
                return answer_canned(rq, CANNED_PRECONDITION_FAILED);
        case COND_NOT_MODIFIED:
                return queue_not_modified(rq, v, &ch);
        case COND_SEND_WHOLE:
                range = NULL;
                break;
        case COND_SEND:
                break;
        }
        if (range)
                return queue_cached_range(rq, hit, &ch, range, body_sent);
        if (body_sent)
                rq->body_bytes += v->size;
        return MHD_queue_response(rq->mhd, MHD_HTTP_OK, hit->response);
}

/* A sibling reached through a symlink: hidden by the same rule as any file */
static bool sibling_hidden(void *userdata, const char *path, int fd) {
        StaticSite *s = userdata;
        return !s->dotfiles && root_proc_path(s->root) && opened_hidden(s, path, fd);
}

/* A deploy pointed the root's path at another directory: new requests are
 * served from that one, and the cache, which held the old one's files, is
 * emptied. The path may name no directory for a moment (between the two
 * renames of a deploy); the old one is served meanwhile, and a warning is
 * logged once that has lasted a second. Whether the root changed. */
static bool site_follow_root(StaticSite *s, uint64_t now) {
        int r = root_check(s->root, now);

        if (r > 0) {
                filecache_clear(s->cache);
                log_info("root %s names another directory now: serving %s", root_path(s->root),
                         root_proc_path(s->root) ? root_proc_path(s->root) : "that one");
        }
        if (r >= 0) {
                s->root_failing = s->root_warned = false;
                return r > 0;
        }
        if (!s->root_failing) {
                s->root_failing = true;
                s->root_failed_at = now;
        } else if (!s->root_warned && now - s->root_failed_at >= ROOT_CHECK_INTERVAL_USEC) {
                log_warning("root %s: %s for a second now; still serving the directory it "
                            "named before",
                            root_path(s->root), strerror(-r));
                s->root_warned = true;
        }
        return false;
}

/* Whether path_open() found nothing at the path, which may be there in the
 * release the root's path names since a moment ago. */
static bool open_found_nothing(int err) {
        return err == -ENOENT || err == -ENOTDIR || err == -EISDIR;
}

/* The answer to a file that path_open() could not open with error err. */
static Canned open_refusal(StaticSite *s, const char *rel, int err) {
        switch (err) {
        case -ENOENT:
        case -ENOTDIR:
        case -EISDIR:
        case -ENAMETOOLONG: /* a segment longer than the file system allows */
                return CANNED_NOT_FOUND;
        case -EACCES:
        case -EPERM:
        case -EXDEV:
        case -ENXIO: /* a socket, or a device without a driver */
        case -ENODEV:
        case -EOPNOTSUPP:
                return CANNED_FORBIDDEN;
        case -EMFILE:
        case -ENFILE: {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                s->fd_refused++;
                if (s->fd_refused_logged_at && now - s->fd_refused_logged_at < FD_REFUSED_LOG_USEC)
                        return CANNED_SERVER_ERROR;
                log_warning("cannot open '%s' for a request: %s (%llu such request(s) answered "
                            "500 since the last line; raise LimitNOFILE= or lower "
                            "connection-limit)",
                            rel, strerror(-err), (unsigned long long) s->fd_refused);
                s->fd_refused = 0;
                s->fd_refused_logged_at = now;
                return CANNED_SERVER_ERROR;
        }
        default:
                log_warning("cannot open '%s' for a request: %s", rel, strerror(-err));
                return CANNED_SERVER_ERROR;
        }
}

/* body_sent: false for HEAD, whose answers count no bytes as sent */
enum MHD_Result static_serve(StaticSite *s, Request *rq, const char *url, bool body_sent) {
        char rel[PATH_REQUEST_MAX + 1], resolved[PATH_REQUEST_MAX + 16];
        struct stat st;
        CondValidators validators;
        const CondValidators *v;
        const char *type, *range;
        EncodingAccept accept;
        FileCacheSibling sib[_CODING_MAX];
        FileCacheHit hit;
        Chosen ch = chosen_identity;
        bool is_index = false, names_directory = url_names_directory(url), use_cache;
        bool via_symlink = false;
        uint64_t now = now_usec(CLOCK_MONOTONIC_COARSE); /* vDSO: no system call */
        int fd;

        range = MHD_lookup_connection_value(rq->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
        encoding_parse_accept(MHD_lookup_connection_value(rq->mhd, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_ACCEPT_ENCODING),
                              &accept);
        const FileCacheAsk ask = { .accept = &accept, .order = &s->order, .now = now };

        fd = path_sanitize(url, rel, sizeof rel);
        if (fd == -ENAMETOOLONG)
                return answer_canned(rq, CANNED_URI_TOO_LONG);
        if (fd < 0)
                return answer_canned(rq, CANNED_FORBIDDEN);
        /* before the cache, so a dotfile is neither answered from it nor
         * stored in it; 404, not 403, so as not to tell that it exists */
        if (!s->dotfiles && path_is_hidden(rel))
                return answer_canned(rq, CANNED_NOT_FOUND);

        /* draining responses need "Connection: close", which a shared cached
         * response must not get */
        if (root_due(s->root, now))
                (void) site_follow_root(s, now);
        use_cache = !rq->draining;
        if (use_cache && filecache_lookup(s->cache, root_fd(s->root), rel, &ask, &hit))
                return serve_cached(rq, &hit, rel, names_directory, range, body_sent);

        fd = path_open(root_fd(s->root), rel, &st, &is_index, &via_symlink);
        /* at once, not within the second: a page of the new release may
         * link to what only the new release has */
        if (open_found_nothing(fd) && site_follow_root(s, now))
                fd = path_open(root_fd(s->root), rel, &st, &is_index, &via_symlink);
        if (fd < 0)
                return answer_canned(rq, open_refusal(s, rel, fd));
        /* a symlink whose own name has no dot may lead to a dotfile; checked
         * before the redirect, which would tell that a directory is there */
        if (via_symlink && !s->dotfiles && root_proc_path(s->root) && opened_hidden(s, rel, fd)) {
                close(fd);
                return answer_canned(rq, CANNED_NOT_FOUND);
        }
        if (is_index && !names_directory) {
                close(fd);
                return redirect_to_directory(rq, rel, body_sent);
        }
        if (!is_index && names_directory) {
                close(fd);
                return answer_canned(rq, CANNED_NOT_FOUND);
        }
        if (is_index)
                (void) path_index(rel, resolved, sizeof resolved);
        else
                snprintf(resolved, sizeof resolved, "%s", rel);
        type = mime_table_lookup(s->mime, resolved);

        /* from the fstat of the fd about to be sent: never stale */
        v = cond_validators_from_stat(&st, now_seconds(), &validators) >= 0 ? &validators : NULL;
        unsigned probed = sibling_open_all(root_fd(s->root), resolved, &st, &s->precompressed,
                                           sibling_hidden, s, sib);
        if (use_cache && v) {
                const FileCacheSource src = {
                        .rel = rel,
                        .resolved = resolved,
                        .content_type = type,
                        .is_index = is_index,
                        .fd = fd,
                        .st = &st,
                        .v = v,
                        .sibling = sib,
                        .probed = probed,
                        .compress = s->compress,
                };
                if (filecache_store(s->cache, &src, &ask, &hit) >= 0) {
                        sibling_close_all(sib);
                        close(fd);
                        return serve_cached(rq, &hit, rel, names_directory, range, body_sent);
                }
        }
        /* not from the cache: a sibling, or the file itself */
        unsigned available = 0;
        for (int k = CODING_IDENTITY + 1; k < _CODING_MAX; k++)
                if (sib[k].fd >= 0)
                        available |= CODING_BIT(k);
        ch.coding = encoding_choose(&accept, available, &s->order);
        ch.vary = available ||
                  (s->compress && compress_type_is_text(type) && st.st_size <= FILECACHE_MAX_FILE);
        if (ch.coding != CODING_IDENTITY) {
                close(fd);
                fd = sib[ch.coding].fd;
                st = sib[ch.coding].st;
                validators = sib[ch.coding].v;
                v = &validators;
                sib[ch.coding].fd = -1;
        }
        sibling_close_all(sib);
        switch (conditions_evaluate(rq->mhd, range != NULL, v)) {
        case COND_PRECONDITION_FAILED:
                close(fd);
                return answer_canned(rq, CANNED_PRECONDITION_FAILED);
        case COND_NOT_MODIFIED:
                close(fd);
                return queue_not_modified(rq, v, &ch);
        case COND_SEND_WHOLE:
                range = NULL;
                break;
        case COND_SEND:
                break;
        }

        if (range) {
                uint64_t start, len;

                switch (range_parse(range, (uint64_t) st.st_size, &start, &len)) {
                case RANGE_OK:
                        if (body_sent)
                                rq->body_bytes += len;
                        return queue_range(rq, fd, &st, v, type, &ch, start, len);
                case RANGE_UNSATISFIABLE:
                        close(fd);
                        return queue_unsatisfiable(rq, (uint64_t) st.st_size, v, &ch);
                case RANGE_IGNORE:
                        break;
                }
        }
        if (body_sent)
                rq->body_bytes += (uint64_t) st.st_size;
        return queue_fd(rq, fd, &st, v, type, &ch);
}
