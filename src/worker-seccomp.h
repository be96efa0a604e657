/* The confinement of a built-in worker once it is set up: a seccomp
 * allow-list of the system calls serving needs, built with libseccomp. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Confines the calling process for the rest of its life; a single-threaded
 * process only. CONFIG_SECCOMP_NO does nothing. YES and LOG set
 * PR_SET_DUMPABLE to 0 and no_new_privs, then load the filter: under YES a
 * call outside it raises SIGSYS, whose handler stores the call's number in
 * *denied_syscall (the worker's scoreboard entry, which the manager reads)
 * and ends the process with SIGSYS; under LOG the kernel logs the call and
 * it goes on. Under both, a call of another ABI than the native one (i386's
 * int 0x80, x32) kills the process with SIGSYS, leaving *denied_syscall as
 * it was. Returns 0 or a negative errno; logs nothing. */
int worker_seccomp_install(ConfigSeccomp mode, int32_t *denied_syscall);

/* The name of the native system call nr ("socket"), or its number when it
 * has none. */
void worker_seccomp_syscall_name(int32_t nr, char *buf, size_t size);
