/* The INI file: read line by line through inih, each key handed to
 * config_set(), each error named by file and line. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

typedef struct FileParse {
        Config *config;
        const char *path;
        char *err;
        bool failed;
        bool listen_seen;
        bool listen_tls_seen;
        int line;
} FileParse;

static int file_handler(void *user, const char *section, const char *key, const char *value,
                        int lineno) {
        FileParse *p = user;
        const char *reason = "invalid value";
        int r;

        if (*section && strcmp(section, "clusterd") != 0) {
                if (!p->failed)
                        snprintf(p->err, CONFIG_ERROR_MAX, "%s:%d: unknown section [%s]", p->path,
                                 lineno, section);
                p->failed = true;
                return 0;
        }
        if (strcmp(key, "listen") == 0 && !p->listen_seen) {
                config_listen_clear(p->config);
                p->listen_seen = true;
        }
        if (strcmp(key, "listen-tls") == 0 && !p->listen_tls_seen) {
                config_listen_tls_clear(p->config);
                p->listen_tls_seen = true;
        }
        r = config_set(p->config, key, value, &reason);
        if (r < 0) {
                if (!p->failed) {
                        if (r == -ENOENT)
                                snprintf(p->err, CONFIG_ERROR_MAX, "%s:%d: unknown key '%s'",
                                         p->path, lineno, key);
                        else
                                snprintf(p->err, CONFIG_ERROR_MAX, "%s:%d: %s = '%s': %s", p->path,
                                         lineno, key, value, reason);
                }
                p->failed = true;
                return 0;
        }
        return 1;
}

/* inih calls handlers without a line number unless built with INI_HANDLER_LINENO,
 * which Debian's is not; ini_parse_stream tells the line of the first error, and
 * we read the file through a counting reader so each handler knows its line. */
typedef struct LineReader {
        FILE *f;
        FileParse *parse;
} LineReader;

/* inih reads into a fixed buffer and would take the rest of a longer line for
 * a line of its own: refuse such a line instead, naming it. */
static char *reader(char *buf, int size, void *stream) {
        LineReader *lr = stream;
        FileParse *p = lr->parse;
        char *s = fgets(buf, size, lr->f);
        size_t n;
        int ch;

        if (!s)
                return NULL;
        p->line++;
        n = strlen(s);
        if (n + 1 < (size_t) size || s[n - 1] == '\n')
                return s;
        ch = getc(lr->f);
        if (ch == EOF || ch == '\n')
                return s; /* the buffer held it all; its newline is dropped */
        if (!p->failed)
                snprintf(p->err, CONFIG_ERROR_MAX, "%s:%d: line too long (at most %d bytes)",
                         p->path, p->line, size - 1);
        p->failed = true;
        return NULL;
}

static int line_handler(void *user, const char *section, const char *key, const char *value) {
        LineReader *lr = user;
        return file_handler(lr->parse, section, key, value, lr->parse->line);
}

int config_load_file(Config *c, const char *path, char err[CONFIG_ERROR_MAX]) {
        FileParse p = { .config = c, .path = path, .err = err };
        LineReader lr = { .parse = &p };
        int r;

        lr.f = fopen(path, "re");
        if (!lr.f) {
                r = negative_errno();
                snprintf(err, CONFIG_ERROR_MAX, "%s: %s", path, strerror(-r));
                return r;
        }
        r = ini_parse_stream(reader, &lr, line_handler, &lr);
        if (ferror(lr.f)) { /* inih takes a read error, a directory's EISDIR, for the end */
                r = errno > 0 ? -errno : -EIO;
                snprintf(err, CONFIG_ERROR_MAX, "%s: %s", path, strerror(-r));
                fclose(lr.f);
                return r;
        }
        fclose(lr.f);
        if (p.failed)
                return -EINVAL;
        if (r != 0) {
                snprintf(err, CONFIG_ERROR_MAX, "%s:%d: syntax error (expected key = value)", path,
                         r);
                return -EINVAL;
        }
        return 0;
}
