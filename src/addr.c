/* Parsing and printing of the HOST:PORT addresses clusterd listens on, and
 * printing of the Unix socket paths systemd may pass it. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static int parse_port(const char *s, in_port_t *ret) {
        char *end;
        long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < 1 || v > 65535)
                return -EINVAL;
        *ret = htons((in_port_t) v);
        return 0;
}

int addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *colon;
        in_port_t port;
        size_t n;

        if (!s)
                return -EINVAL;
        memset(ret, 0, sizeof *ret);

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ret;

                if (!close || close[1] != ':')
                        return -EINVAL;
                n = (size_t) (close - s - 1);
                if (n == 0 || n >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, n);
                host[n] = 0;
                if (parse_port(close + 2, &port) < 0)
                        return -EINVAL;
                if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
                        return -EINVAL;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = port;
                *ret_len = sizeof *sin6;
                return 0;
        }

        struct sockaddr_in *sin = (struct sockaddr_in *) ret;
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
                return -EINVAL;
        n = (size_t) (colon - s);
        if (n == 0 || n >= sizeof host)
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = 0;
        if (parse_port(colon + 1, &port) < 0)
                return -EINVAL;
        if (strcmp(host, "*") == 0)
                sin->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
                return -EINVAL;
        sin->sin_family = AF_INET;
        sin->sin_port = port;
        *ret_len = sizeof *sin;
        return 0;
}

/* A path as it is, an abstract name with a leading '@'; bytes that are not
 * printable ASCII (abstract names may hold any), and the backslash, as \xNN.
 * A name too long for ADDR_STRLEN is cut short. */
static void format_unix(const struct sockaddr_un *sun, socklen_t len, char buf[ADDR_STRLEN]) {
        size_t n = (size_t) len - offsetof(struct sockaddr_un, sun_path), o = 0;
        const char *name = sun->sun_path;

        if (n > sizeof sun->sun_path)
                n = sizeof sun->sun_path;
        if (n == 0) {
                snprintf(buf, ADDR_STRLEN, "(unnamed unix socket)");
                return;
        }
        if (name[0] == '\0') {
                buf[o++] = '@';
                name++;
                n--;
        } else
                n = strnlen(name, n);
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) name[i];
                bool plain = ch >= 0x20 && ch < 0x7f && ch != '\\';
                if (o + (plain ? 1 : 4) >= ADDR_STRLEN)
                        break;
                if (plain)
                        buf[o++] = (char) ch;
                else
                        o += (size_t) snprintf(buf + o, ADDR_STRLEN - o, "\\x%02x", ch);
        }
        buf[o] = '\0';
}

int addr_format(const struct sockaddr *sa, socklen_t len, char buf[ADDR_STRLEN]) {
        char host[INET6_ADDRSTRLEN];

        if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;
                inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
                snprintf(buf, ADDR_STRLEN, "%s:%u", host, ntohs(sin->sin_port));
                return 0;
        }
        if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;
                inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
                snprintf(buf, ADDR_STRLEN, "[%s]:%u", host, ntohs(sin6->sin6_port));
                return 0;
        }
        if (sa->sa_family == AF_UNIX && len >= offsetof(struct sockaddr_un, sun_path)) {
                format_unix((const struct sockaddr_un *) sa, len, buf);
                return 0;
        }
        snprintf(buf, ADDR_STRLEN, "(family %d)", sa->sa_family);
        return -EAFNOSUPPORT;
}
