/* Request handling for one worker: libmicrohttpd daemons in external epoll
 * mode, one per listening socket, serving the document root. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct HttpServer HttpServer;
typedef struct Scoreboard Scoreboard;
typedef struct AccessLog AccessLog;

/* Starts one MHD daemon per fd, with TLS where tls[i] (c->tls must then be
 * loaded; tls may be NULL: none). The server counts in its entry of the
 * scoreboard, and /metrics reads all of it. On failure every daemon started
 * so far is stopped and the fds must be considered closed. */
int http_server_new(const Config *c, unsigned worker_id, const int *fds, const bool *tls,
                    size_t n_fds, Scoreboard *sb, unsigned score_index, HttpServer **ret);

/* Where each answered request gets its line from now on: log, which must
 * outlive the server (its last requests end in http_server_free()), or
 * NULL for none. */
void http_server_set_access_log(HttpServer *s, AccessLog *log);

size_t http_server_n_daemons(const HttpServer *s);

/* The epoll fd of daemon i, to watch for EPOLLIN. */
int http_server_epoll_fd(const HttpServer *s, size_t i);

/* Lets every daemon do its pending work (after a timeout). -EIO when
 * libmicrohttpd cannot run: the worker can no longer serve. */
int http_server_run(HttpServer *s);

/* Lets the daemon behind one epoll fd work: a worker serving several sockets
 * wakes only the one that has something to do. */
int http_server_run_fd(HttpServer *s, int epoll_fd);

/* Shuts down the connections whose next request has not arrived whole in
 * time, as of now (CLOCK_MONOTONIC usec): its request line within
 * connection-timeout of the connection's start or of the end of the previous
 * request, the rest (header, any body) within connection-timeout of the
 * request line. Returns how many. */
unsigned http_server_cut_stalled(HttpServer *s, uint64_t now);

/* Once a second, as of now (CLOCK_MONOTONIC usec): reports the failed
 * accepts not reported yet, at most once per 10 s (see mhd-log.h). */
void http_server_tick(HttpServer *s, uint64_t now);

/* Shuts down the connections sending a file that shrank below what their
 * answer promised (see sentfile.h). Returns how many. */
unsigned http_server_cut_shrunk(HttpServer *s);

/* Earliest MHD deadline in microseconds from now; false when none is due. */
bool http_server_timeout(HttpServer *s, uint64_t *ret_usec);

/* Stops accepting, answers with "Connection: close" and /healthz 503 from now
 * on, and lets idle keep-alive connections time out within a second. */
void http_server_drain(HttpServer *s);

bool http_server_draining(const HttpServer *s);

/* Connections open now. */
unsigned http_server_connections(const HttpServer *s);

void http_server_free(HttpServer *s);
