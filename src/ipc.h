/* Typed messages between the manager and its workers, one per datagram on a
 * SOCK_SEQPACKET socketpair: a fixed header, then one payload struct per type.
 * Every payload is checked for its exact size before use. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum IpcType {
        IPC_READY = 1,     /* worker -> manager: serving */
        IPC_HEARTBEAT = 2, /* worker -> manager: alive, with counters */
        IPC_DRAIN = 3,     /* manager -> worker: stop accepting, finish, exit */
        IPC_REOPEN = 4,    /* manager -> worker: reopen the access log (no payload) */
} IpcType;

typedef struct IpcHeader {
        uint16_t type;
        uint16_t len; /* payload bytes after the header */
        uint32_t worker_id;
} IpcHeader;

typedef struct IpcReady {
        uint32_t pid;
        uint32_t listeners;
} IpcReady;

/* Alive. The counters are in the scoreboard, where the manager reads them
 * whenever it likes; only what the worker must measure itself comes here. */
typedef struct IpcHeartbeat {
        uint64_t rss_bytes;
} IpcHeartbeat;

typedef struct IpcDrain {
        uint64_t timeout_usec; /* exit by then, finished or not */
} IpcDrain;

typedef struct IpcMessage {
        IpcHeader hdr;
        union {
                IpcReady ready;
                IpcHeartbeat heartbeat;
                IpcDrain drain;
        };
} IpcMessage;

#define IPC_MESSAGE_MAX 256u

/* Payload size that a type must have, or -EPROTO for an unknown type. */
int ipc_payload_size(uint16_t type);

/* Writes header+payload to buf. Returns bytes written or a negative errno. */
int ipc_encode(uint16_t type, uint32_t worker_id, const void *payload, size_t len, void *buf,
               size_t size);

/* Checks and copies a received datagram of n bytes.
 * -EBADMSG: shorter than a header, or length field and size disagree.
 * -EMSGSIZE: larger than IPC_MESSAGE_MAX.  -EPROTO: unknown type or wrong payload size. */
int ipc_decode(const void *buf, size_t n, IpcMessage *ret);

/* Sends one message without blocking. */
int ipc_send(int fd, uint16_t type, uint32_t worker_id, const void *payload, size_t len);

/* Receives one message. Returns 1 with *ret filled, 0 at end of stream,
 * -EAGAIN when nothing is pending, or a decode error. An oversized datagram
 * is detected with MSG_TRUNC and reported as -EMSGSIZE. */
int ipc_recv(int fd, IpcMessage *ret);

/* After ipc_recv() answered 0, whether that was the end of the stream (the
 * peer is gone) rather than an empty datagram: recv() says 0 for both. The
 * end of a stream lasts, so a fresh look tells them apart, whatever epoll
 * reported before the read. */
bool ipc_peer_closed(int fd);

const char *ipc_type_name(uint16_t type);
