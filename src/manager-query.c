/* What the manager tells others about itself and its workers (manager.h's
 * query API): the bus reads this, never the Manager struct. Counters come
 * from the scoreboard, live. */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "manager-internal.h"

void manager_info(const Manager *m, ManagerInfo *ret) {
        unsigned serving = 0;
        ScoreCounters total;

        for (unsigned i = 0; i < m->n_slots; i++)
                serving += slot_serves(&m->slots[i]);
        scoreboard_total(m->scoreboard, &total);
        *ret = (ManagerInfo) {
                .state = m->state,
                .workers_serving = serving,
                .workers_wanted = m->n_slots,
                .connections = total.connections,
                .requests = total.requests,
                .restarts = m->restarts,
                .started_realtime_usec = m->started_realtime_usec,
                .last_reload = m->reload_note,
                .tls_not_after_usec = !m->config->config.exec && listen_count_tls(&m->listeners) > 0
                                              ? m->config->config.tls.not_after_usec
                                              : 0,
        };
}

static void worker_info_of(const Manager *m, const Child *ch, WorkerInfo *ret) {
        ScoreCounters c = {};
        const Slot *slot = ch->id >= 1 && ch->id <= m->n_slots ? &m->slots[ch->id - 1] : NULL;

        (void) scoreboard_read_entry(m->scoreboard, ch->score_index, &c, NULL, NULL);
        *ret = (WorkerInfo) {
                .id = ch->id,
                .pid = ch->pid,
                .state = ch->state,
                .requests = c.requests,
                .bytes_sent = c.bytes_sent,
                .connections = c.connections,
                .rss_bytes = ch->rss_bytes,
                .started_realtime_usec = ch->started_realtime_usec,
                .restarts = slot ? slot->restarts : 0,
                .status = child_status(ch),
                .application = ch->kind == CHILD_EXEC,
        };
}

static int child_compare(const void *a, const void *b) {
        const Child *x = *(const Child *const *) a, *y = *(const Child *const *) b;

        if (x->id != y->id)
                return x->id < y->id ? -1 : 1;
        return (x->serial > y->serial) - (x->serial < y->serial);
}

size_t manager_list_workers(const Manager *m, WorkerInfo *ret, size_t max) {
        _cleanup_free_ const Child **list = NULL;
        size_t n = 0;

        for (const Child *c = m->children; c; c = c->next)
                n++;
        list = calloc(n ?: 1, sizeof *list);
        if (!list)
                return 0;
        n = 0;
        for (const Child *c = m->children; c; c = c->next)
                list[n++] = c;
        qsort(list, n, sizeof *list, child_compare);
        for (size_t i = 0; i < n && i < max; i++)
                worker_info_of(m, list[i], &ret[i]);
        return n;
}

int manager_worker_info(const Manager *m, unsigned id, WorkerInfo *ret) {
        const Child *found = NULL;

        if (id >= 1 && id <= m->n_slots && m->slots[id - 1].current)
                found = m->slots[id - 1].current;
        for (const Child *c = m->children; c && !found; c = c->next)
                if (c->id == id && c->state == CHILD_SERVING)
                        found = c;
        for (const Child *c = m->children; c && !found; c = c->next)
                if (c->id == id)
                        found = c;
        if (!found)
                return -ENOENT;
        worker_info_of(m, found, ret);
        return 0;
}

unsigned manager_worker_processes(const Manager *m, unsigned id, pid_t except) {
        unsigned n = 0;

        for (const Child *c = m->children; c; c = c->next)
                if (c->id == id && c->pid != except)
                        n++;
        return n;
}

size_t manager_listen_addresses(const Manager *m, const char **ret, size_t max) {
        return listen_addresses(&m->listeners, ret, max);
}

const char *manager_reload_error(const Manager *m) {
        return m->reload_error[0] ? m->reload_error : NULL;
}

int manager_send_message(Manager *m, unsigned id, const char *text) {
        bool any = false, sent = false;
        int first = 0;

        /* every process of the id that is not on its way out: during a roll,
         * the old one and its replacement both */
        for (Child *c = m->children; c; c = c->next) {
                if ((id != 0 && c->id != id) || c->state == CHILD_DRAINING)
                        continue;
                any = true;
                int k = child_send_message(c, text);
                if (k >= 0)
                        sent = true;
                else if (first == 0 || first == -EOPNOTSUPP)
                        first = k;
        }
        if (!any)
                return -ENOENT;
        return sent ? 0 : first;
}
