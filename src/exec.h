/* The application-worker side of child.c: the fork-and-exec of the user's
 * program with what systemd would give it, and what it says back. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "child.h"

/* In the forked child: lays out the fds and the environment, and execs the
 * program of p->settings. On failure writes its errno to exec_fd and exits
 * 127. manager is the parent's pid. */
_Noreturn void exec_run(const ChildSpawn *p, int msg_fd, int exec_fd, pid_t manager);

/* In the manager: watches c's message channel and exec-status pipe; c takes
 * both fds, whatever the result. */
int exec_watch(sd_event *e, Child *c, int msg_fd, int exec_fd);

/* Reads what the program wrote before it exited, so no last line is lost. */
void exec_read_pending(Child *c);

void exec_free(ChildExec *x);
