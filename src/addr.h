/* Listening addresses: "127.0.0.1:8080", "[::1]:8080", "*:8080" (all IPv4). */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_STRLEN 64

/* Returns 0, or -EINVAL when s is not HOST:PORT with a numeric host and a port 1-65535. */
int addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* Writes "1.2.3.4:80" or "[::1]:80" into buf. */
int addr_format(const struct sockaddr *sa, socklen_t len, char buf[ADDR_STRLEN]);
