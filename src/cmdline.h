/* A command line given as one string, as in `exec = node app.js`: split
 * into words the way systemd splits ExecStart= (quotes and C escapes, no
 * shell), and its program found in PATH. Never logs. */
#pragma once

#include <stddef.h>

#define CMDLINE_MAX_WORDS 256u
#define CMDLINE_MAX 4096u /* bytes of the whole string */

/* Splits s into a NULL-terminated argv. Words are separated by blanks;
 * 'single' and "double" quotes group, and may sit inside a word; a
 * backslash escapes as in C (\n \t \\ \" \' \s for a space, \xHH, \NNN),
 * inside quotes and out. Errors: -EINVAL for an unterminated quote, a
 * trailing or unknown escape or a NUL byte, -ENODATA for no word at all,
 * -E2BIG for too many words or too long a string. *ret_reason says what
 * was wrong. */
int cmdline_split(const char *s, char ***ret_argv, const char **ret_reason);

/* Frees what cmdline_split() returned; NULL is fine. */
void cmdline_free(char **argv);

/* The program argv[0] names: a path with a slash as it is, a bare name
 * looked up in PATH (search_path; NULL or empty means the usual
 * /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). It must
 * be a regular file this process may execute. Writes the path to *ret
 * (malloc'd). Errors: -ENOENT, -EACCES, -EISDIR, ... as execve would. */
int cmdline_find_program(const char *name, const char *search_path, char **ret);
