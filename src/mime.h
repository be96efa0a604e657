/* Content-Type by file extension, from a mime.types file loaded once per worker. */
#pragma once

typedef struct MimeTable MimeTable;

#define MIME_DEFAULT "application/octet-stream"

/* Loads "type ext ext..." lines. A missing file gives an empty table (every
 * lookup then answers MIME_DEFAULT) and returns -ENOENT with *ret still set. */
int mime_table_load(const char *path, MimeTable **ret);

/* Type for a file name by its last extension, case-insensitively. Never NULL. */
const char *mime_table_lookup(const MimeTable *t, const char *filename);

unsigned mime_table_size(const MimeTable *t);

void mime_table_free(MimeTable *t);
