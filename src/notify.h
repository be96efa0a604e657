/* The sd_notify protocol, from the receiving side: the manager is to its
 * application workers what systemd is to the manager. A datagram socket
 * whose address goes into each worker's NOTIFY_SOCKET, the sender's pid
 * from SO_PASSCRED, and the parse of "READY=1\nSTATUS=..." messages.
 * Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Bigger datagrams are refused: systemd takes no more either. */
#define NOTIFY_DATAGRAM_MAX 4096u
/* A worker's STATUS= as kept and shown: longer ones are cut. */
#define NOTIFY_STATUS_MAX 256u

typedef struct NotifyMessage {
        bool ready;    /* READY=1 */
        bool watchdog; /* WATCHDOG=1 */
        bool stopping; /* STOPPING=1 */
        bool has_status;
        char status[NOTIFY_STATUS_MAX]; /* STATUS=, control bytes replaced */
        bool has_errno;
        int errno_value;  /* ERRNO=, 0 to 4095 */
        unsigned ignored; /* lines not understood or not used */
} NotifyMessage;

/* Parses one datagram of n bytes. -EBADMSG when it holds a NUL byte. */
int notify_parse(const char *buf, size_t n, NotifyMessage *ret);

/* Opens a datagram socket with SO_PASSCRED in the abstract namespace, under
 * a name made of the pid and a random part, and writes that name as
 * NOTIFY_SOCKET wants it ("@clusterd/notify/...") to addr. */
int notify_socket_open(int *ret_fd, char *addr, size_t size);

/* Receives one datagram (NUL-terminated in buf, size >= NOTIFY_DATAGRAM_MAX
 * + 1) and its sender's pid. -EAGAIN when none is pending; -EMSGSIZE for one
 * that was too big (dropped); -EPERM for one without credentials. */
int notify_receive(int fd, char *buf, size_t size, size_t *ret_len, pid_t *ret_pid);
