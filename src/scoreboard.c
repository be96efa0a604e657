/* The shared-memory scoreboard: one anonymous shared mapping, made by the
 * manager before it forks, with a sequence count that makes the manager's
 * few structural changes (an entry taken or retired) atomic for readers. */
#include "scoreboard.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "macro.h"

struct Scoreboard {
        uint32_t seq; /* odd while the manager changes the table */
        uint32_t reserved;
        ScoreManager manager;
        ScoreRetired retired[CONFIG_MAX_WORKERS];
        ScoreEntry entries[SCOREBOARD_ENTRIES];
};

int scoreboard_new(Scoreboard **ret) {
        Scoreboard *sb =
                mmap(NULL, sizeof *sb, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

        if (sb == MAP_FAILED)
                return negative_errno();
        for (unsigned i = 0; i < SCOREBOARD_ENTRIES; i++)
                sb->entries[i].denied_syscall = -1;
        *ret = sb;
        return 0;
}

void scoreboard_free(Scoreboard *sb) {
        if (sb)
                (void) munmap(sb, sizeof *sb);
}

static void write_begin(Scoreboard *sb) {
        __atomic_store_n(&sb->seq, sb->seq + 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(Scoreboard *sb) {
        __atomic_store_n(&sb->seq, sb->seq + 1, __ATOMIC_RELEASE);
}

static uint32_t read_begin(const Scoreboard *sb) {
        uint32_t s;

        while ((s = __atomic_load_n(&sb->seq, __ATOMIC_ACQUIRE)) & 1)
                ;
        return s;
}

static bool read_retry(const Scoreboard *sb, uint32_t s) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        return __atomic_load_n(&sb->seq, __ATOMIC_RELAXED) != s;
}

static void counters_load(const ScoreCounters *c, ScoreCounters *ret) {
        ret->requests = __atomic_load_n(&c->requests, __ATOMIC_RELAXED);
        ret->bytes_sent = __atomic_load_n(&c->bytes_sent, __ATOMIC_RELAXED);
        ret->stalled_closed = __atomic_load_n(&c->stalled_closed, __ATOMIC_RELAXED);
        ret->accept_failed = __atomic_load_n(&c->accept_failed, __ATOMIC_RELAXED);
        ret->framing_refused = __atomic_load_n(&c->framing_refused, __ATOMIC_RELAXED);
        ret->tls_handshakes = __atomic_load_n(&c->tls_handshakes, __ATOMIC_RELAXED);
        ret->tls_handshakes_failed = __atomic_load_n(&c->tls_handshakes_failed, __ATOMIC_RELAXED);
        ret->access_log_errors = __atomic_load_n(&c->access_log_errors, __ATOMIC_RELAXED);
        ret->connections = __atomic_load_n(&c->connections, __ATOMIC_RELAXED);
        ret->draining = __atomic_load_n(&c->draining, __ATOMIC_RELAXED);
}

int scoreboard_claim(Scoreboard *sb, unsigned worker_id, unsigned *ret_index) {
        if (worker_id < 1 || worker_id > CONFIG_MAX_WORKERS)
                return -EINVAL;
        for (unsigned i = 0; i < SCOREBOARD_ENTRIES; i++) {
                ScoreEntry *e = &sb->entries[i];
                if (e->used)
                        continue;
                write_begin(sb);
                memset(&e->c, 0, sizeof e->c);
                e->worker_id = worker_id;
                e->pid = 0;
                e->denied_syscall = -1;
                __atomic_store_n(&e->used, 1, __ATOMIC_RELAXED);
                write_end(sb);
                *ret_index = i;
                return 0;
        }
        return -ENOSPC;
}

void scoreboard_set_pid(Scoreboard *sb, unsigned index, pid_t pid) {
        if (index < SCOREBOARD_ENTRIES)
                __atomic_store_n(&sb->entries[index].pid, (uint32_t) pid, __ATOMIC_RELAXED);
}

void scoreboard_retire(Scoreboard *sb, unsigned index, ScoreCounters *ret) {
        ScoreEntry *e;
        ScoreRetired *t;
        ScoreCounters c;

        if (index >= SCOREBOARD_ENTRIES)
                return;
        e = &sb->entries[index];
        if (!e->used || e->worker_id < 1 || e->worker_id > CONFIG_MAX_WORKERS)
                return;
        t = &sb->retired[e->worker_id - 1];
        counters_load(&e->c, &c);
        write_begin(sb);
        t->requests += c.requests;
        t->bytes_sent += c.bytes_sent;
        t->stalled_closed += c.stalled_closed;
        t->accept_failed += c.accept_failed;
        t->framing_refused += c.framing_refused;
        t->tls_handshakes += c.tls_handshakes;
        t->tls_handshakes_failed += c.tls_handshakes_failed;
        t->access_log_errors += c.access_log_errors;
        __atomic_store_n(&e->used, 0, __ATOMIC_RELAXED);
        write_end(sb);
        if (ret)
                *ret = c;
}

void scoreboard_count_restart(Scoreboard *sb, unsigned worker_id) {
        if (worker_id < 1 || worker_id > CONFIG_MAX_WORKERS)
                return;
        write_begin(sb);
        sb->retired[worker_id - 1].restarts++;
        write_end(sb);
}

void scoreboard_set_manager(Scoreboard *sb, const ScoreManager *m) {
        if (memcmp(&sb->manager, m, sizeof *m) == 0)
                return;
        write_begin(sb);
        sb->manager = *m;
        write_end(sb);
}

ScoreCounters *scoreboard_counters(Scoreboard *sb, unsigned index) {
        return index < SCOREBOARD_ENTRIES ? &sb->entries[index].c : NULL;
}

int32_t *scoreboard_denied_syscall(Scoreboard *sb, unsigned index) {
        return index < SCOREBOARD_ENTRIES ? &sb->entries[index].denied_syscall : NULL;
}

int32_t scoreboard_read_denied_syscall(const Scoreboard *sb, unsigned index) {
        return index < SCOREBOARD_ENTRIES
                       ? __atomic_load_n(&sb->entries[index].denied_syscall, __ATOMIC_RELAXED)
                       : -1;
}

bool scoreboard_read_entry(const Scoreboard *sb, unsigned index, ScoreCounters *ret,
                           unsigned *ret_worker_id, pid_t *ret_pid) {
        const ScoreEntry *e;
        uint32_t s, used, pid, id;

        if (index >= SCOREBOARD_ENTRIES)
                return false;
        e = &sb->entries[index];
        do {
                s = read_begin(sb);
                used = __atomic_load_n(&e->used, __ATOMIC_RELAXED);
                pid = __atomic_load_n(&e->pid, __ATOMIC_RELAXED);
                id = e->worker_id;
                counters_load(&e->c, ret);
        } while (read_retry(sb, s));
        if (ret_worker_id)
                *ret_worker_id = id;
        if (ret_pid)
                *ret_pid = (pid_t) pid;
        return used != 0;
}

static void counters_sum(ScoreCounters *to, const ScoreCounters *c) {
        to->requests += c->requests;
        to->bytes_sent += c->bytes_sent;
        to->stalled_closed += c->stalled_closed;
        to->accept_failed += c->accept_failed;
        to->framing_refused += c->framing_refused;
        to->tls_handshakes += c->tls_handshakes;
        to->tls_handshakes_failed += c->tls_handshakes_failed;
        to->access_log_errors += c->access_log_errors;
        to->connections += c->connections;
        to->draining |= c->draining;
}

void scoreboard_snapshot(const Scoreboard *sb, ScoreSnapshot *ret) {
        uint32_t s;

        do {
                s = read_begin(sb);
                memset(ret, 0, sizeof *ret);
                ret->manager = sb->manager;
                memcpy(ret->retired, sb->retired, sizeof ret->retired);
                for (unsigned i = 0; i < SCOREBOARD_ENTRIES; i++) {
                        const ScoreEntry *e = &sb->entries[i];
                        ScoreCounters c;
                        unsigned id = e->worker_id;

                        if (!__atomic_load_n(&e->used, __ATOMIC_RELAXED) || id < 1 ||
                            id > CONFIG_MAX_WORKERS)
                                continue;
                        counters_load(&e->c, &c);
                        counters_sum(&ret->live[id - 1], &c);
                        ret->live_processes[id - 1]++;
                }
        } while (read_retry(sb, s));
}

void scoreboard_total(const Scoreboard *sb, ScoreCounters *ret) {
        uint32_t s;

        do {
                s = read_begin(sb);
                memset(ret, 0, sizeof *ret);
                for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++) {
                        const ScoreRetired *t = &sb->retired[i];
                        ret->requests += t->requests;
                        ret->bytes_sent += t->bytes_sent;
                        ret->stalled_closed += t->stalled_closed;
                        ret->accept_failed += t->accept_failed;
                        ret->framing_refused += t->framing_refused;
                        ret->tls_handshakes += t->tls_handshakes;
                        ret->tls_handshakes_failed += t->tls_handshakes_failed;
                        ret->access_log_errors += t->access_log_errors;
                }
                for (unsigned i = 0; i < SCOREBOARD_ENTRIES; i++) {
                        const ScoreEntry *e = &sb->entries[i];
                        ScoreCounters c;

                        if (!__atomic_load_n(&e->used, __ATOMIC_RELAXED))
                                continue;
                        counters_load(&e->c, &c);
                        counters_sum(ret, &c);
                }
        } while (read_retry(sb, s));
}
