/* Splitting a command line as systemd's ExecStart= does, and PATH lookup. */
#include "cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

void cmdline_free(char **argv) {
        if (!argv)
                return;
        for (char **p = argv; *p; p++)
                free(*p);
        free(argv);
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* One escape after a backslash at *p; advances *p past it and writes the
 * byte to *ret. */
static int unescape(const char **p, char *ret) {
        const char *s = *p;
        static const char plain[] = "abfnrtv\\\"' s";
        static const char value[] = "\a\b\f\n\r\t\v\\\"'  ";
        const char *k;

        if (*s == 'x') {
                int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);
                if (lo < 0 || (hi == 0 && lo == 0))
                        return -EINVAL;
                *ret = (char) (hi * 16 + lo);
                *p = s + 3;
                return 0;
        }
        if (*s >= '0' && *s <= '7') {
                int v = 0;
                for (int i = 0; i < 3; i++) {
                        if (s[i] < '0' || s[i] > '7')
                                return -EINVAL;
                        v = v * 8 + (s[i] - '0');
                }
                if (v == 0 || v > 255)
                        return -EINVAL;
                *ret = (char) v;
                *p = s + 3;
                return 0;
        }
        k = *s ? strchr(plain, *s) : NULL;
        if (!k)
                return -EINVAL;
        *ret = value[k - plain];
        *p = s + 1;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_split(const char *s, char ***ret_argv, const char **ret_reason) {
        _cleanup_free_ char *word = NULL;
        char **argv = NULL;
        size_t n = 0, len = strlen(s);
        int r = 0;

        *ret_reason = NULL;
        if (len > CMDLINE_MAX)
                return *ret_reason = "too long", -E2BIG;
        argv = calloc(CMDLINE_MAX_WORDS + 1, sizeof *argv);
        word = malloc(len + 1);
        if (!argv || !word) {
                free(argv);
                return -ENOMEM;
        }
        for (const char *p = s;;) {
                size_t w = 0;
                char quote = 0;

                while (is_blank(*p))
                        p++;
                if (!*p)
                        break;
                /* one word: up to a blank outside quotes */
                while (*p && (quote || !is_blank(*p))) {
                        if (quote && *p == quote) {
                                quote = 0;
                                p++;
                        } else if (!quote && (*p == '"' || *p == '\'')) {
                                quote = *p++;
                        } else if (*p == '\\') {
                                p++;
                                if (!*p) {
                                        *ret_reason = "a backslash at the end";
                                        r = -EINVAL;
                                        goto fail;
                                }
                                if (unescape(&p, &word[w++]) < 0) {
                                        *ret_reason = "an unknown escape";
                                        r = -EINVAL;
                                        goto fail;
                                }
                        } else
                                word[w++] = *p++;
                }
                if (quote) {
                        *ret_reason = "a quote that is not closed";
                        r = -EINVAL;
                        goto fail;
                }
                if (n == CMDLINE_MAX_WORDS) {
                        *ret_reason = "too many words";
                        r = -E2BIG;
                        goto fail;
                }
                argv[n] = strndup(word, w);
                if (!argv[n]) {
                        r = -ENOMEM;
                        goto fail;
                }
                n++;
        }
        if (n == 0) {
                *ret_reason = "no command";
                r = -ENODATA;
                goto fail;
        }
        *ret_argv = argv;
        return 0;
fail:
        cmdline_free(argv);
        return r;
}

/* Whether path is a regular file this process may execute; the error as
 * execve would give it. */
static int check_program(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (access(path, X_OK) < 0)
                return negative_errno();
        return 0;
}

int cmdline_find_program(const char *name, const char *search_path, char **ret) {
        const char *dirs = search_path && *search_path
                                   ? search_path
                                   : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        int r, best = -ENOENT;

        if (!*name)
                return -ENOENT;
        if (strchr(name, '/')) {
                r = check_program(name);
                if (r < 0)
                        return r;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        for (const char *d = dirs; d;) {
                const char *colon = strchr(d, ':');
                size_t dl = colon ? (size_t) (colon - d) : strlen(d);
                _cleanup_free_ char *path = malloc(dl + 1 + strlen(name) + 1);

                if (!path)
                        return -ENOMEM;
                /* an empty entry is the current directory, as for execvp */
                if (dl == 0)
                        strcpy(path, name);
                else {
                        memcpy(path, d, dl);
                        path[dl] = '/';
                        strcpy(path + dl + 1, name);
                }
                r = check_program(path);
                if (r == 0) {
                        *ret = TAKE_PTR(path);
                        return 0;
                }
                /* as execvp: a file found but not executable says so */
                if (r != -ENOENT && r != -ENOTDIR)
                        best = r;
                d = colon ? colon + 1 : NULL;
        }
        return best;
}
