/* Listening sockets: adopting systemd's, binding our own, and mapping them
 * onto worker slots. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "macro.h"

static int set_add(ListenSet *set, int fd, const char *name) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        Listener *items, *l;
        char addr[ADDR_STRLEN];

        if (set->n >= LISTEN_MAX_FDS)
                return -E2BIG;
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return negative_errno();
        addr_format((struct sockaddr *) &ss, len, addr);

        items = realloc(set->items, (set->n + 1) * sizeof *items);
        if (!items)
                return -ENOMEM;
        set->items = items;
        l = &set->items[set->n];
        *l = (Listener) { .fd = fd, .group = (unsigned) set->n_groups };
        memcpy(l->addr, addr, sizeof addr);
        snprintf(l->name, sizeof l->name, "%s", name && *name ? name : "http");
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->items[i].addr, addr) == 0) {
                        l->group = set->items[i].group;
                        break;
                }
        if (l->group == set->n_groups)
                set->n_groups++;
        set->n++;
        return 0;
}

int listen_from_systemd(ListenSet *set) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names), r = 0;

        for (int i = 0; i < n && r >= 0; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
                        r = -ENOTSOCK;
                else
                        r = set_add(set, fd, names ? names[i] : NULL);
        }
        for (int i = 0; names && names[i]; i++)
                free(names[i]);
        free(names);
        if (n <= 0)
                return n;
        if (r < 0)
                return r;
        set->from_systemd = true;
        return n;
}

const char *listen_name_of(const ListenSet *set, int fd) {
        for (size_t i = 0; i < set->n; i++)
                if (set->items[i].fd == fd)
                        return set->items[i].name;
        return "http";
}

bool listen_name_is_tls(const char *name) {
        return name && strcmp(name, LISTEN_NAME_TLS) == 0;
}

size_t listen_count_tls(const ListenSet *set) {
        size_t n = 0;
        for (size_t i = 0; i < set->n; i++)
                n += listen_name_is_tls(set->items[i].name);
        return n;
}

/* A TCP socket bound to addr, not yet listening. */
static int bind_socket(const char *addr, bool reuseport) {
        struct sockaddr_storage ss;
        socklen_t len;
        _cleanup_close_ int fd = -1;
        int one = 1;

        if (addr_parse(addr, &ss, &len) < 0)
                return -EINVAL;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return negative_errno();
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
                return negative_errno();
        if (ss.ss_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &ss, len) < 0)
                return negative_errno();
        return take_fd(&fd);
}

/* Every socket clusterd binds itself joins its address's SO_REUSEPORT group,
 * so a worker added later (Scale) can get a socket of its own. Only processes
 * of the same user may join such a group. */
static int bind_and_add(ListenSet *set, const char *addr, const char *name) {
        _cleanup_close_ int fd = bind_socket(addr, true);
        int r;

        if (fd < 0)
                return fd;
        if (listen(fd, 4096) < 0)
                return negative_errno();
        r = set_add(set, fd, name);
        if (r < 0)
                return r;
        fd = -1; /* the set owns it now */
        return 0;
}

/* SO_REUSEPORT would let clusterd join a group another process of the same
 * user already listens with, and silently take part of its traffic. A socket
 * without SO_REUSEPORT cannot share the port with anyone: if it binds, the
 * address is free. */
static int check_address_free(const char *addr) {
        int fd = bind_socket(addr, false);

        if (fd < 0)
                return fd;
        close(fd);
        return 0;
}

int listen_bind(ListenSet *set, char *const *addrs, size_t n_addrs, unsigned per_address,
                const char *name, const char **ret_failed) {
        for (size_t a = 0; a < n_addrs; a++) {
                int r = check_address_free(addrs[a]);
                if (r < 0) {
                        *ret_failed = addrs[a];
                        return r;
                }
        }
        for (size_t a = 0; a < n_addrs; a++)
                for (unsigned k = 0; k < (per_address ? per_address : 1); k++) {
                        int r = bind_and_add(set, addrs[a], name);
                        if (r < 0) {
                                *ret_failed = addrs[a];
                                return r;
                        }
                }
        return 0;
}

size_t listen_group_size(const ListenSet *set, unsigned g) {
        size_t n = 0;
        for (size_t i = 0; i < set->n; i++)
                n += set->items[i].group == g;
        return n;
}

int listen_grow(ListenSet *set, unsigned slots) {
        size_t n0 = set->n;

        if (set->from_systemd)
                return 0;
        for (unsigned g = 0; g < set->n_groups; g++) {
                const Listener *first = NULL;
                for (size_t i = 0; i < set->n && !first; i++)
                        if (set->items[i].group == g)
                                first = &set->items[i];
                if (!first)
                        continue;
                char addr[ADDR_STRLEN], name[LISTEN_NAME_MAX];
                memcpy(addr, first->addr, sizeof addr);
                memcpy(name, first->name, sizeof name); /* HTTP or TLS, as the group is */
                while (listen_group_size(set, g) < slots) {
                        int r = bind_and_add(set, addr, name);
                        if (r < 0) {
                                /* all or nothing: a socket kept from a failed
                                 * grow would take its share of connections
                                 * with no worker to accept them */
                                while (set->n > n0)
                                        close(set->items[--set->n].fd);
                                return r;
                        }
                }
        }
        return 0;
}

size_t listen_for_slot(const ListenSet *set, unsigned slot, unsigned n_slots, int *ret,
                       size_t max) {
        size_t n = 0;

        if (n_slots == 0)
                return 0;
        for (unsigned g = 0; g < set->n_groups; g++) {
                size_t size = listen_group_size(set, g), seen = 0;
                for (size_t i = 0; i < set->n; i++) {
                        if (set->items[i].group != g)
                                continue;
                        size_t k = seen++;
                        bool mine = size >= n_slots ? k % n_slots == slot : k == slot % size;
                        if (mine && n++ < max)
                                ret[n - 1] = set->items[i].fd;
                }
        }
        return n;
}

size_t listen_addresses(const ListenSet *set, const char **ret, size_t max) {
        size_t n = 0;
        for (unsigned g = 0; g < set->n_groups && n < max; g++)
                for (size_t i = 0; i < set->n; i++)
                        if (set->items[i].group == g) {
                                ret[n++] = set->items[i].addr;
                                break;
                        }
        return n;
}

void listen_set_done(ListenSet *set) {
        for (size_t i = 0; i < set->n; i++)
                close(set->items[i].fd);
        free(set->items);
        *set = (ListenSet) {};
}
