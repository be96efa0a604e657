/* Logging to stderr with sd-daemon priority prefixes, which journald parses. */
#pragma once

#include <syslog.h>

/* Sets the tag shown on every line ("manager", "worker 3") and the verbosity.
 * Called once per process, right after start or fork. */
void log_setup(const char *tag, int max_priority);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
