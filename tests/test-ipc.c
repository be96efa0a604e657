/* Unit tests for ipc.c: encoding and checking every message type, and moving
 * messages over a real SOCK_SEQPACKET socketpair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

/* Encodes a message and checks it decodes to the same header and payload. */
static void round_trip(uint16_t type, uint32_t worker_id, const void *payload, size_t len) {
        char buf[IPC_MESSAGE_MAX];
        IpcMessage m;
        int n;

        n = ipc_encode(type, worker_id, payload, len, buf, sizeof buf);
        assert_int_equal(n, sizeof(IpcHeader) + len);
        assert_int_equal(ipc_decode(buf, (size_t) n, &m), 0);
        assert_int_equal(m.hdr.type, type);
        assert_int_equal(m.hdr.len, len);
        assert_int_equal(m.hdr.worker_id, worker_id);
        assert_memory_equal(&m.ready, payload, len);
}

static void test_round_trip_ready(void **state) {
        IpcReady r = { .pid = 4242, .listeners = 3 };

        assert_int_equal(ipc_payload_size(IPC_READY), sizeof r);
        round_trip(IPC_READY, 7, &r, sizeof r);
        assert_string_equal(ipc_type_name(IPC_READY), "ready");
}

static void test_round_trip_heartbeat(void **state) {
        IpcHeartbeat h = { .rss_bytes = UINT64_MAX - 1 };

        assert_int_equal(ipc_payload_size(IPC_HEARTBEAT), sizeof h);
        round_trip(IPC_HEARTBEAT, UINT32_MAX, &h, sizeof h);
        assert_string_equal(ipc_type_name(IPC_HEARTBEAT), "heartbeat");
}

static void test_round_trip_drain(void **state) {
        IpcDrain d = { .timeout_usec = UINT64_C(30000000) };

        assert_int_equal(ipc_payload_size(IPC_DRAIN), sizeof d);
        round_trip(IPC_DRAIN, 0, &d, sizeof d);
        assert_string_equal(ipc_type_name(IPC_DRAIN), "drain");
}

/* the manager's logrotate notice: a header alone */
static void test_round_trip_reopen(void **state) {
        char buf[IPC_MESSAGE_MAX], one = 0;
        IpcMessage m;

        assert_int_equal(ipc_payload_size(IPC_REOPEN), 0);
        round_trip(IPC_REOPEN, 9, "", 0);
        assert_int_equal(ipc_encode(IPC_REOPEN, 9, NULL, 0, buf, sizeof buf), sizeof(IpcHeader));
        assert_string_equal(ipc_type_name(IPC_REOPEN), "reopen");
        /* a payload where none belongs is refused both ways */
        assert_int_equal(ipc_encode(IPC_REOPEN, 9, &one, 1, buf, sizeof buf), -EINVAL);
        IpcHeader h = { .type = IPC_REOPEN, .len = 1, .worker_id = 9 };
        memcpy(buf, &h, sizeof h);
        assert_int_equal(ipc_decode(buf, sizeof h + 1, &m), -EPROTO);
}

static void test_unknown_type_name(void **state) {
        assert_int_equal(ipc_payload_size(0), -EPROTO);
        assert_int_equal(ipc_payload_size(IPC_REOPEN + 1), -EPROTO);
        assert_string_equal(ipc_type_name(0), "unknown");
        assert_string_equal(ipc_type_name(999), "unknown");
}

static void test_decode_short(void **state) {
        char buf[sizeof(IpcHeader)] = { 0 };
        IpcMessage m;

        assert_int_equal(ipc_decode(buf, 0, &m), -EBADMSG);
        assert_int_equal(ipc_decode(buf, sizeof(IpcHeader) - 1, &m), -EBADMSG);
}

static void test_decode_len_mismatch(void **state) {
        char buf[IPC_MESSAGE_MAX];
        IpcDrain d = { .timeout_usec = 1 };
        IpcMessage m;
        int n;

        n = ipc_encode(IPC_DRAIN, 1, &d, sizeof d, buf, sizeof buf);
        assert_true(n > 0);
        /* one byte cut off, one byte extra: the length field no longer fits */
        assert_int_equal(ipc_decode(buf, (size_t) n - 1, &m), -EBADMSG);
        assert_int_equal(ipc_decode(buf, (size_t) n + 1, &m), -EBADMSG);
        /* a header alone that claims a payload */
        assert_int_equal(ipc_decode(buf, sizeof(IpcHeader), &m), -EBADMSG);
}

static void test_decode_oversized(void **state) {
        char buf[IPC_MESSAGE_MAX + 1];
        IpcHeader h = { .type = IPC_READY, .len = IPC_MESSAGE_MAX + 1 - sizeof(IpcHeader) };
        IpcMessage m;

        memset(buf, 0, sizeof buf);
        memcpy(buf, &h, sizeof h);
        assert_int_equal(ipc_decode(buf, sizeof buf, &m), -EMSGSIZE);
        /* exactly the maximum is not oversized, only the wrong size for READY */
        h.len = IPC_MESSAGE_MAX - sizeof(IpcHeader);
        memcpy(buf, &h, sizeof h);
        assert_int_equal(ipc_decode(buf, IPC_MESSAGE_MAX, &m), -EPROTO);
}

static void test_decode_unknown_type(void **state) {
        char buf[IPC_MESSAGE_MAX] = { 0 };
        IpcHeader h = { .type = 99, .len = 0, .worker_id = 1 };
        IpcMessage m;

        memcpy(buf, &h, sizeof h);
        assert_int_equal(ipc_decode(buf, sizeof h, &m), -EPROTO);
        h.type = 0;
        h.len = sizeof(IpcDrain);
        memcpy(buf, &h, sizeof h);
        assert_int_equal(ipc_decode(buf, sizeof h + sizeof(IpcDrain), &m), -EPROTO);
}

static void test_decode_wrong_payload_size(void **state) {
        static const uint16_t types[] = { IPC_READY, IPC_HEARTBEAT, IPC_DRAIN };
        char buf[IPC_MESSAGE_MAX] = { 0 };
        IpcMessage m;

        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
                int want = ipc_payload_size(types[i]);
                IpcHeader h = { .type = types[i], .worker_id = 1 };

                assert_true(want > 0);
                h.len = (uint16_t) (want - 1);
                memcpy(buf, &h, sizeof h);
                assert_int_equal(ipc_decode(buf, sizeof h + h.len, &m), -EPROTO);
                h.len = (uint16_t) (want + 1);
                memcpy(buf, &h, sizeof h);
                assert_int_equal(ipc_decode(buf, sizeof h + h.len, &m), -EPROTO);
                h.len = 0;
                memcpy(buf, &h, sizeof h);
                assert_int_equal(ipc_decode(buf, sizeof h, &m), -EPROTO);
        }
}

static void test_encode_errors(void **state) {
        char buf[IPC_MESSAGE_MAX], other[sizeof(IpcReady) + 4] = { 0 };
        IpcReady r = { 0 };

        assert_int_equal(ipc_encode(IPC_READY, 1, &r, sizeof r - 1, buf, sizeof buf), -EINVAL);
        assert_int_equal(ipc_encode(IPC_READY, 1, other, sizeof other, buf, sizeof buf), -EINVAL);
        assert_int_equal(ipc_encode(IPC_DRAIN, 1, NULL, 0, buf, sizeof buf), -EINVAL);
        assert_int_equal(ipc_encode(77, 1, &r, sizeof r, buf, sizeof buf), -EPROTO);
        /* a buffer too small for header and payload */
        assert_int_equal(ipc_encode(IPC_READY, 1, &r, sizeof r, buf, sizeof(IpcHeader)), -EMSGSIZE);
}

/* Each socket test gets a fresh SOCK_SEQPACKET pair in *state. */
static int pair_setup(void **state) {
        int *fds = test_malloc(2 * sizeof(int));

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
                test_free(fds);
                return -1;
        }
        *state = fds;
        return 0;
}

static int pair_teardown(void **state) {
        int *fds = *state;

        for (int i = 0; i < 2; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        test_free(fds);
        return 0;
}

static void test_send_recv(void **state) {
        int *fds = *state;
        IpcReady r = { .pid = 100, .listeners = 2 };
        IpcHeartbeat hb = { .rss_bytes = 5 << 20 };
        IpcDrain d = { .timeout_usec = 1500000 };
        IpcMessage m;

        assert_int_equal(ipc_send(fds[1], IPC_READY, 3, &r, sizeof r), 0);
        assert_int_equal(ipc_send(fds[1], IPC_HEARTBEAT, 3, &hb, sizeof hb), 0);
        assert_int_equal(ipc_send(fds[0], IPC_DRAIN, 3, &d, sizeof d), 0);
        assert_int_equal(ipc_send(fds[0], IPC_REOPEN, 3, NULL, 0), 0);

        /* datagrams arrive one message at a time, in order */
        assert_int_equal(ipc_recv(fds[0], &m), 1);
        assert_int_equal(m.hdr.type, IPC_READY);
        assert_int_equal(m.hdr.worker_id, 3);
        assert_int_equal(m.ready.pid, 100);
        assert_int_equal(m.ready.listeners, 2);
        assert_int_equal(ipc_recv(fds[0], &m), 1);
        assert_int_equal(m.hdr.type, IPC_HEARTBEAT);
        assert_int_equal(m.heartbeat.rss_bytes, 5 << 20);
        assert_int_equal(ipc_recv(fds[0], &m), -EAGAIN);

        assert_int_equal(ipc_recv(fds[1], &m), 1);
        assert_int_equal(m.hdr.type, IPC_DRAIN);
        assert_int_equal(m.drain.timeout_usec, 1500000);
        /* a message without payload is a message, not an empty datagram */
        assert_int_equal(ipc_recv(fds[1], &m), 1);
        assert_int_equal(m.hdr.type, IPC_REOPEN);
        assert_int_equal(m.hdr.len, 0);
        assert_int_equal(ipc_recv(fds[1], &m), -EAGAIN);
}

static void test_send_invalid(void **state) {
        int *fds = *state;
        IpcReady r = { 0 };
        IpcMessage m;

        assert_int_equal(ipc_send(fds[1], IPC_READY, 1, &r, 1), -EINVAL);
        assert_int_equal(ipc_send(fds[1], 42, 1, &r, sizeof r), -EPROTO);
        /* nothing reached the wire */
        assert_int_equal(ipc_recv(fds[0], &m), -EAGAIN);
}

static void test_recv_empty(void **state) {
        int *fds = *state;
        IpcMessage m;

        assert_int_equal(ipc_recv(fds[0], &m), -EAGAIN);
}

static void test_recv_eof(void **state) {
        int *fds = *state;
        IpcDrain d = { .timeout_usec = 1 };
        IpcMessage m;

        /* a message sent before the close is still delivered, then EOF */
        assert_int_equal(ipc_send(fds[1], IPC_DRAIN, 9, &d, sizeof d), 0);
        close(fds[1]);
        fds[1] = -1;
        assert_int_equal(ipc_recv(fds[0], &m), 1);
        assert_int_equal(m.hdr.worker_id, 9);
        assert_int_equal(ipc_recv(fds[0], &m), 0);
        assert_int_equal(ipc_recv(fds[0], &m), 0);
        assert_true(ipc_peer_closed(fds[0]));
}

/* recv() answers 0 for an empty datagram too: only a fresh look at the
 * socket tells it from the end of the stream. */
static void test_empty_datagram_is_not_eof(void **state) {
        int *fds = *state;
        IpcMessage m;

        assert_int_equal(send(fds[1], "", 0, 0), 0);
        assert_int_equal(ipc_recv(fds[0], &m), 0);
        assert_false(ipc_peer_closed(fds[0]));
        /* and the end of the stream is one, with or without data before it */
        close(fds[1]);
        fds[1] = -1;
        assert_true(ipc_peer_closed(fds[0]));
}

static void test_send_to_closed_peer(void **state) {
        int *fds = *state;
        IpcDrain d = { .timeout_usec = 1 };

        /* MSG_NOSIGNAL: an error, not SIGPIPE */
        close(fds[0]);
        fds[0] = -1;
        assert_int_equal(ipc_send(fds[1], IPC_DRAIN, 1, &d, sizeof d), -EPIPE);
}

static void test_recv_oversized_datagram(void **state) {
        int *fds = *state;
        char big[1000];
        IpcReady r = { .pid = 1 };
        IpcMessage m;

        memset(big, 0x5a, sizeof big);
        assert_int_equal(send(fds[1], big, sizeof big, 0), sizeof big);
        assert_int_equal(ipc_send(fds[1], IPC_READY, 2, &r, sizeof r), 0);
        assert_int_equal(ipc_recv(fds[0], &m), -EMSGSIZE);
        /* the oversized datagram was consumed whole; the next one is intact */
        assert_int_equal(ipc_recv(fds[0], &m), 1);
        assert_int_equal(m.hdr.type, IPC_READY);
        assert_int_equal(m.hdr.worker_id, 2);
}

static void test_recv_short_datagram(void **state) {
        int *fds = *state;
        char tiny[3] = { 1, 0, 0 };
        IpcMessage m;

        assert_int_equal(send(fds[1], tiny, sizeof tiny, 0), sizeof tiny);
        assert_int_equal(ipc_recv(fds[0], &m), -EBADMSG);
        assert_int_equal(ipc_recv(fds[0], &m), -EAGAIN);
}

static void test_recv_malformed_datagram(void **state) {
        int *fds = *state;
        char buf[sizeof(IpcHeader) + sizeof(IpcHeartbeat) + 4] = { 0 };
        IpcHeader h = { .type = IPC_HEARTBEAT, .len = sizeof(IpcHeartbeat) + 4, .worker_id = 1 };
        IpcMessage m;

        memcpy(buf, &h, sizeof h);
        assert_int_equal(send(fds[1], buf, sizeof buf, 0), sizeof buf);
        assert_int_equal(ipc_recv(fds[0], &m), -EPROTO);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_ready),
                cmocka_unit_test(test_round_trip_heartbeat),
                cmocka_unit_test(test_round_trip_drain),
                cmocka_unit_test(test_round_trip_reopen),
                cmocka_unit_test(test_unknown_type_name),
                cmocka_unit_test(test_decode_short),
                cmocka_unit_test(test_decode_len_mismatch),
                cmocka_unit_test(test_decode_oversized),
                cmocka_unit_test(test_decode_unknown_type),
                cmocka_unit_test(test_decode_wrong_payload_size),
                cmocka_unit_test(test_encode_errors),
                cmocka_unit_test_setup_teardown(test_send_recv, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_send_invalid, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_recv_empty, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_recv_eof, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_empty_datagram_is_not_eof, pair_setup,
                                                pair_teardown),
                cmocka_unit_test_setup_teardown(test_send_to_closed_peer, pair_setup,
                                                pair_teardown),
                cmocka_unit_test_setup_teardown(test_recv_oversized_datagram, pair_setup,
                                                pair_teardown),
                cmocka_unit_test_setup_teardown(test_recv_short_datagram, pair_setup,
                                                pair_teardown),
                cmocka_unit_test_setup_teardown(test_recv_malformed_datagram, pair_setup,
                                                pair_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
