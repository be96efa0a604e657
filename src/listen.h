/* The listening sockets: taken from systemd (LISTEN_FDS) or bound here.
 * Sockets on the same address form a group; with SO_REUSEPORT a group holds
 * one socket per worker slot, otherwise one socket shared by all workers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define LISTEN_MAX_FDS 1024u
#define LISTEN_MAX_PER_WORKER 64u
#define LISTEN_NAME_MAX 256u /* FileDescriptorName= takes at most 255 bytes */
/* The FileDescriptorName= of sockets that speak TLS (clusterd-https.socket),
 * and the name of those clusterd binds for listen-tls; any other is HTTP. */
#define LISTEN_NAME_TLS "https"

typedef struct Listener {
        int fd;
        unsigned group;             /* index of its address among the set's addresses */
        char addr[ADDR_STRLEN];     /* as reported by getsockname() */
        char name[LISTEN_NAME_MAX]; /* systemd's FileDescriptorName=, or "http" */
} Listener;

typedef struct ListenSet {
        Listener *items;
        size_t n;
        size_t n_groups;
        bool from_systemd;
} ListenSet;

/* Adopts sockets passed by systemd. Returns how many (0: none were passed). */
int listen_from_systemd(ListenSet *set);

/* Binds each address per_address times, all with SO_REUSEPORT, under name
 * (NULL: "http"). On failure *ret_failed names the address. */
int listen_bind(ListenSet *set, char *const *addrs, size_t n_addrs, unsigned per_address,
                const char *name, const char **ret_failed);

/* Binds more SO_REUSEPORT sockets in every group until each has one per slot,
 * so a new slot gets sockets of its own; all or nothing. No-op for sockets
 * from systemd. */
int listen_grow(ListenSet *set, unsigned slots);

/* The fds worker slot `slot` of `n_slots` serves. In a group of one shared
 * socket every slot gets it; in a group of k sockets the slot gets each socket
 * whose index i satisfies i mod n_slots == slot (and socket slot mod k when
 * there are fewer sockets than slots), so every socket always has a worker.
 * Writes at most max to ret and returns how many the slot should serve, which
 * may be more. */
size_t listen_for_slot(const ListenSet *set, unsigned slot, unsigned n_slots, int *ret, size_t max);

/* The name of the listening socket fd, or "http" for one it does not hold. */
const char *listen_name_of(const ListenSet *set, int fd);

/* Whether a socket of that name speaks TLS. */
bool listen_name_is_tls(const char *name);

/* How many of the set's sockets speak TLS. */
size_t listen_count_tls(const ListenSet *set);

/* How many sockets group g holds. */
size_t listen_group_size(const ListenSet *set, unsigned g);

/* Comma-free list of distinct addresses, e.g. for STATUS and the bus. */
size_t listen_addresses(const ListenSet *set, const char **ret, size_t max);

void listen_set_done(ListenSet *set);
