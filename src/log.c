/* Logging to stderr. Under journald (JOURNAL_STREAM matches stderr) each line
 * carries a "<N>" priority prefix; on a terminal it carries a readable tag. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
        char tag[32];
        int max_priority;
        bool journal;
} log_state = { "clusterd", LOG_INFO, false };

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(const char *tag, int max_priority) {
        snprintf(log_state.tag, sizeof log_state.tag, "%s", tag);
        log_state.max_priority = max_priority;
        log_state.journal = stderr_is_journal();
}

void log_msg(int priority, const char *fmt, ...) {
        static const char *const names[] = { "emerg",   "alert",  "crit", "error",
                                             "warning", "notice", "info", "debug" };
        char line[1024];
        int saved = errno, n;
        va_list ap;

        if (priority > log_state.max_priority)
                return;

        if (log_state.journal)
                n = snprintf(line, sizeof line, "<%d>%s: ", priority, log_state.tag);
        else
                n = snprintf(line, sizeof line, "clusterd[%d] %s %s: ", (int) getpid(),
                             names[priority & 7], log_state.tag);
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
        va_end(ap);
        strcat(line, "\n");
        (void) !write(STDERR_FILENO, line, strlen(line));
        errno = saved;
}
