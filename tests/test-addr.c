/* Unit tests for addr.c: parsing and printing of HOST:PORT listen addresses,
 * and printing of Unix socket addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "addr.h"

/* Parses s, formats the result and expects want; then parses that again and
 * expects the very same socket address. */
static void round_trip(const char *s, const char *want, int family) {
        struct sockaddr_storage ss, again;
        socklen_t len = 0, len2 = 0;
        char buf[ADDR_STRLEN];

        assert_int_equal(addr_parse(s, &ss, &len), 0);
        assert_int_equal(ss.ss_family, family);
        assert_int_equal(addr_format((struct sockaddr *) &ss, len, buf), 0);
        assert_string_equal(buf, want);
        assert_int_equal(addr_parse(buf, &again, &len2), 0);
        assert_int_equal(len2, len);
        assert_memory_equal(&again, &ss, len);
}

static void test_ipv4(void **state) {
        struct sockaddr_storage ss;
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
        socklen_t len;

        round_trip("127.0.0.1:8080", "127.0.0.1:8080", AF_INET);
        round_trip("10.1.2.3:1", "10.1.2.3:1", AF_INET);
        round_trip("192.168.0.1:65535", "192.168.0.1:65535", AF_INET);

        assert_int_equal(addr_parse("127.0.0.1:8080", &ss, &len), 0);
        assert_int_equal(len, sizeof(struct sockaddr_in));
        assert_int_equal(ntohs(sin->sin_port), 8080);
        assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
}

static void test_ipv6(void **state) {
        struct sockaddr_storage ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
        socklen_t len;

        round_trip("[::1]:8080", "[::1]:8080", AF_INET6);
        round_trip("[::]:443", "[::]:443", AF_INET6);
        /* printed in the canonical short form */
        round_trip("[2001:db8:0:0:0:0:0:1]:80", "[2001:db8::1]:80", AF_INET6);

        assert_int_equal(addr_parse("[::1]:8080", &ss, &len), 0);
        assert_int_equal(len, sizeof(struct sockaddr_in6));
        assert_int_equal(ntohs(sin6->sin6_port), 8080);
        assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback);
}

static void test_any(void **state) {
        struct sockaddr_storage ss;
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
        socklen_t len;

        assert_int_equal(addr_parse("*:80", &ss, &len), 0);
        assert_int_equal(ss.ss_family, AF_INET);
        assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
        assert_int_equal(ntohs(sin->sin_port), 80);
        /* "*" is printed as the address it stands for */
        round_trip("*:80", "0.0.0.0:80", AF_INET);
}

static void test_reject(void **state) {
        static const char *const bad[] = {
                "",
                "1.2.3.4",
                "1.2.3.4:0",
                "1.2.3.4:65536",
                "[::1]",
                "::1:80",
                "host.name:80",
                "localhost:80",
                ":80",
                "1.2.3.4:",
                "1.2.3.4:-1",
                "1.2.3.4:+80",
                "1.2.3.4:80x",
                "1.2.3.4: 80",
                "1.2.3.4:99999999999999999999",
                "1.2.3:80",
                "256.1.1.1:80",
                "[]:80",
                "[::1]80",
                "[::1]:",
                "[1.2.3.4]:80",
                "[::1:80",
                "*:0",
                "[*]:80",
        };
        struct sockaddr_storage ss;
        socklen_t len;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                if (addr_parse(bad[i], &ss, &len) != -EINVAL)
                        fail_msg("addr_parse(\"%s\") was accepted", bad[i]);
        }
        assert_int_equal(addr_parse(NULL, &ss, &len), -EINVAL);
}

/* sun_path holds name (n bytes, abstract when it starts with NUL); the
 * length is what getsockname() would report */
static void check_unix(const char *name, size_t n, const char *want) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        char buf[ADDR_STRLEN];

        memcpy(sun.sun_path, name, n);
        assert_int_equal(addr_format((struct sockaddr *) &sun,
                                     (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n), buf),
                         0);
        assert_string_equal(buf, want);
}

static void test_format_unix(void **state) {
        char longest[sizeof((struct sockaddr_un *) 0)->sun_path];
        char want[sizeof longest + 1];

        check_unix("/run/clusterd.sock", sizeof "/run/clusterd.sock", "/run/clusterd.sock");
        /* a path that fills sun_path has no NUL */
        memset(longest, 'p', sizeof longest);
        memcpy(want, longest, sizeof longest);
        want[sizeof longest] = '\0';
        check_unix(longest, sizeof longest, want);
        check_unix("\0clusterd", 9, "@clusterd");
        /* abstract names may hold any byte; a backslash is escaped too */
        check_unix("\0a\0b\n\\", 6, "@a\\x00b\\x0a\\x5c");
        /* the longest abstract name fits whole */
        longest[0] = '\0';
        want[0] = '@';
        check_unix(longest, sizeof longest, want);
        check_unix("", 0, "(unnamed unix socket)");
}

static void test_format_unknown_family(void **state) {
        struct sockaddr_storage ss = { .ss_family = AF_NETLINK };
        struct sockaddr_in sin = { .sin_family = AF_INET };
        char buf[ADDR_STRLEN];

        assert_int_equal(addr_format((struct sockaddr *) &ss, sizeof ss, buf), -EAFNOSUPPORT);
        assert_non_null(strstr(buf, "family"));
        /* a length too short for the family is refused, not over-read */
        assert_int_equal(addr_format((struct sockaddr *) &sin, sizeof sin - 1, buf), -EAFNOSUPPORT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ipv4),        cmocka_unit_test(test_ipv6),
                cmocka_unit_test(test_any),         cmocka_unit_test(test_reject),
                cmocka_unit_test(test_format_unix), cmocka_unit_test(test_format_unknown_family),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
