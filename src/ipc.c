/* Encoding, checking and moving the manager/worker messages. Never logs. */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"

int ipc_payload_size(uint16_t type) {
        switch (type) {
        case IPC_READY:
                return sizeof(IpcReady);
        case IPC_HEARTBEAT:
                return sizeof(IpcHeartbeat);
        case IPC_DRAIN:
                return sizeof(IpcDrain);
        case IPC_REOPEN:
                return 0;
        default:
                return -EPROTO;
        }
}

const char *ipc_type_name(uint16_t type) {
        switch (type) {
        case IPC_READY:
                return "ready";
        case IPC_HEARTBEAT:
                return "heartbeat";
        case IPC_DRAIN:
                return "drain";
        case IPC_REOPEN:
                return "reopen";
        default:
                return "unknown";
        }
}

int ipc_encode(uint16_t type, uint32_t worker_id, const void *payload, size_t len, void *buf,
               size_t size) {
        IpcHeader h = { .type = type, .len = (uint16_t) len, .worker_id = worker_id };
        int want = ipc_payload_size(type);

        if (want < 0)
                return want;
        if ((size_t) want != len)
                return -EINVAL;
        if (sizeof h + len > size || sizeof h + len > IPC_MESSAGE_MAX)
                return -EMSGSIZE;
        memcpy(buf, &h, sizeof h);
        if (len)
                memcpy((char *) buf + sizeof h, payload, len);
        return (int) (sizeof h + len);
}

int ipc_decode(const void *buf, size_t n, IpcMessage *ret) {
        IpcHeader h;
        int want;

        if (n > IPC_MESSAGE_MAX)
                return -EMSGSIZE;
        if (n < sizeof h)
                return -EBADMSG;
        memcpy(&h, buf, sizeof h);
        if (sizeof h + h.len != n)
                return -EBADMSG;
        want = ipc_payload_size(h.type);
        if (want < 0 || (size_t) want != h.len)
                return -EPROTO;
        memset(ret, 0, sizeof *ret);
        ret->hdr = h;
        /* the payload is whichever union member the type names */
        memcpy((char *) ret + offsetof(IpcMessage, ready), (const char *) buf + sizeof h, h.len);
        return 0;
}

int ipc_send(int fd, uint16_t type, uint32_t worker_id, const void *payload, size_t len) {
        char buf[IPC_MESSAGE_MAX];
        int n = ipc_encode(type, worker_id, payload, len, buf, sizeof buf);

        if (n < 0)
                return n;
        if (send(fd, buf, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
                return negative_errno();
        return 0;
}

int ipc_recv(int fd, IpcMessage *ret) {
        char buf[IPC_MESSAGE_MAX + 1];
        ssize_t n;

        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0)
                return errno == EINTR ? -EAGAIN : negative_errno();
        if (n == 0)
                return 0;
        int r = ipc_decode(buf, (size_t) n, ret);
        return r < 0 ? r : 1;
}

bool ipc_peer_closed(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP));
}
