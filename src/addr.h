/* Listening addresses: "127.0.0.1:8080", "[::1]:8080", "*:8080" (all IPv4);
 * Unix sockets from systemd print as "/run/x.sock" or "@abstract". */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

/* room for '@' and the longest abstract name (sizeof sun_path - 1) */
#define ADDR_STRLEN 112

/* Returns 0, or -EINVAL when s is not HOST:PORT with a numeric host and a port 1-65535. */
int addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* Writes "1.2.3.4:80", "[::1]:80", "/path" or "@name" into buf. Returns
 * -EAFNOSUPPORT, with "(family N)" in buf, for any other family or a length
 * too short for it. */
int addr_format(const struct sockaddr *sa, socklen_t len, char buf[ADDR_STRLEN]);
