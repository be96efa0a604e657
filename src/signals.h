/* Signal dispositions shared by the manager and its workers: the signals a
 * process does not watch are ignored, so that a stray kill (logrotate's
 * SIGUSR1 meant for another daemon, a forgotten alarm) cannot end it. */
#pragma once

#include <stddef.h>

/* Empty mask, every disposition back to its default: for a fresh fork. */
void signals_reset(void);

/* Ignores every signal whose default action ends the process, except the
 * faults a process raises by itself (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS)
 * and those in watched[], which the caller blocks and reads from a
 * signalfd. SIGKILL and SIGSTOP cannot be ignored. */
void signals_ignore_stray(const int *watched, size_t n_watched);
