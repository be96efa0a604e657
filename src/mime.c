/* A sorted array of (extension, type) pairs searched with bsearch. Text types
 * get "; charset=utf-8" so browsers need not guess. */
#include "mime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

typedef struct MimeEntry {
        char *ext;
        char *type;
        unsigned order; /* position in the file: the first listing wins */
} MimeEntry;

struct MimeTable {
        MimeEntry *entries;
        unsigned n, allocated;
};

static int entry_cmp(const void *a, const void *b) {
        return strcasecmp(((const MimeEntry *) a)->ext, ((const MimeEntry *) b)->ext);
}

static int entry_cmp_ordered(const void *a, const void *b) {
        const MimeEntry *x = a, *y = b;
        int r = strcasecmp(x->ext, y->ext);
        return r ? r : (x->order > y->order) - (x->order < y->order);
}

static int table_add(MimeTable *t, const char *ext, const char *type) {
        if (t->n == t->allocated) {
                unsigned na = t->allocated ? t->allocated * 2 : 256;
                MimeEntry *e = realloc(t->entries, na * sizeof *e);
                if (!e)
                        return -ENOMEM;
                t->entries = e;
                t->allocated = na;
        }
        char *text = NULL;
        if (strncmp(type, "text/", 5) == 0 || strcmp(type, "application/javascript") == 0) {
                if (asprintf(&text, "%s; charset=utf-8", type) < 0)
                        return -ENOMEM;
        } else if (!(text = strdup(type)))
                return -ENOMEM;
        char *e = strdup(ext);
        if (!e) {
                free(text);
                return -ENOMEM;
        }
        t->entries[t->n] = (MimeEntry) { e, text, t->n };
        t->n++;
        return 0;
}

/* Drops repeated extensions from the sorted table, keeping the first listed. */
static void table_dedup(MimeTable *t) {
        unsigned w = 0;
        for (unsigned i = 0; i < t->n; i++) {
                if (w > 0 && strcasecmp(t->entries[w - 1].ext, t->entries[i].ext) == 0) {
                        free(t->entries[i].ext);
                        free(t->entries[i].type);
                        continue;
                }
                t->entries[w++] = t->entries[i];
        }
        t->n = w;
}

int mime_table_load(const char *path, MimeTable **ret) {
        MimeTable *t = calloc(1, sizeof *t);
        char line[1024];
        FILE *f;
        int r = 0;

        if (!t)
                return -ENOMEM;
        *ret = t;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (r == 0 && fgets(line, sizeof line, f)) {
                char *save = NULL, *type, *ext;
                if (line[0] == '#')
                        continue;
                type = strtok_r(line, " \t\r\n", &save);
                if (!type || !strchr(type, '/'))
                        continue;
                while (r == 0 && (ext = strtok_r(NULL, " \t\r\n", &save)))
                        r = table_add(t, ext, type);
        }
        fclose(f);
        if (t->n > 0) { /* qsort and bsearch want a non-NULL array even for 0 entries */
                qsort(t->entries, t->n, sizeof *t->entries, entry_cmp_ordered);
                table_dedup(t);
        }
        return r;
}

const char *mime_table_lookup(const MimeTable *t, const char *filename) {
        const char *dot = strrchr(filename, '.'), *slash = strrchr(filename, '/');
        MimeEntry key, *e;

        if (!t || t->n == 0 || !dot || (slash && dot < slash) || dot[1] == 0)
                return MIME_DEFAULT;
        key.ext = (char *) dot + 1;
        e = bsearch(&key, t->entries, t->n, sizeof *t->entries, entry_cmp);
        return e ? e->type : MIME_DEFAULT;
}

unsigned mime_table_size(const MimeTable *t) {
        return t ? t->n : 0;
}

void mime_table_free(MimeTable *t) {
        if (!t)
                return;
        for (unsigned i = 0; i < t->n; i++) {
                free(t->entries[i].ext);
                free(t->entries[i].type);
        }
        free(t->entries);
        free(t);
}
