/* The answers to /healthz and /metrics. */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>

#include "macro.h"

/* A worker id has series once it has served or been replaced; an id scaled
 * away keeps its counters, which must not go backwards. */
static bool id_shown(const ScoreSnapshot *s, unsigned i) {
        const ScoreRetired *t = &s->retired[i];

        return s->live_processes[i] > 0 || t->requests || t->bytes_sent || t->restarts ||
               t->stalled_closed || t->accept_failed || t->framing_refused || t->tls_handshakes ||
               t->tls_handshakes_failed || t->access_log_errors;
}

typedef struct Series {
        const char *name, *type, *help;
        uint64_t (*value)(const ScoreSnapshot *s, unsigned i);
} Series;

static uint64_t v_requests(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].requests + s->live[i].requests;
}
static uint64_t v_bytes(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].bytes_sent + s->live[i].bytes_sent;
}
static uint64_t v_connections(const ScoreSnapshot *s, unsigned i) {
        return s->live[i].connections;
}
static uint64_t v_draining(const ScoreSnapshot *s, unsigned i) {
        return s->live[i].draining;
}
static uint64_t v_stalled(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].stalled_closed + s->live[i].stalled_closed;
}
static uint64_t v_accept_failed(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].accept_failed + s->live[i].accept_failed;
}
static uint64_t v_framing(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].framing_refused + s->live[i].framing_refused;
}
static uint64_t v_tls_handshakes(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].tls_handshakes + s->live[i].tls_handshakes;
}
static uint64_t v_tls_failed(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].tls_handshakes_failed + s->live[i].tls_handshakes_failed;
}
static uint64_t v_access_log_errors(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].access_log_errors + s->live[i].access_log_errors;
}
static uint64_t v_restarts(const ScoreSnapshot *s, unsigned i) {
        return s->retired[i].restarts;
}
static uint64_t v_processes(const ScoreSnapshot *s, unsigned i) {
        return s->live_processes[i];
}

static const Series series[] = {
        { "requests_total", "counter", "Answers completed.", v_requests },
        { "sent_bytes_total", "counter", "Body bytes queued to clients.", v_bytes },
        { "connections", "gauge", "Connections open now.", v_connections },
        { "draining", "gauge", "1 while a process of the worker drains.", v_draining },
        { "stalled_closed_total", "counter",
          "Connections closed because their request trickled in too slowly.", v_stalled },
        { "accept_failed_total", "counter",
          "Connections not accepted for want of file descriptors.", v_accept_failed },
        { "framing_refused_total", "counter", "Requests refused with 400 for their framing.",
          v_framing },
        { "tls_handshakes_total", "counter", "TLS handshakes done.", v_tls_handshakes },
        { "tls_handshakes_failed_total", "counter",
          "TLS connections closed before their handshake was done.", v_tls_failed },
        { "access_log_errors_total", "counter",
          "Access log lines lost to a write error, such as a full disk.", v_access_log_errors },
        { "restarts_total", "counter", "Processes started because the one before died.",
          v_restarts },
        { "processes", "gauge", "Live processes: 2 while one replaces another.", v_processes },
};

int metrics_render(const ScoreSnapshot *snap, FILE *f) {
        const ScoreManager *m = &snap->manager;

        for (size_t k = 0; k < ELEMENTSOF(series); k++) {
                const Series *se = &series[k];
                uint64_t total = 0;

                fprintf(f, "# HELP clusterd_worker_%s %s\n# TYPE clusterd_worker_%s %s\n", se->name,
                        se->help, se->name, se->type);
                for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++) {
                        if (!id_shown(snap, i))
                                continue;
                        uint64_t v = se->value(snap, i);
                        total += v;
                        fprintf(f, "clusterd_worker_%s{worker=\"%u\"} %llu\n", se->name, i + 1,
                                (unsigned long long) v);
                }
                if (se->value != v_draining && se->value != v_processes)
                        fprintf(f, "# TYPE clusterd_%s %s\nclusterd_%s %llu\n", se->name, se->type,
                                se->name, (unsigned long long) total);
        }
        fprintf(f,
                "# HELP clusterd_reloads_total Reloads begun or refused.\n"
                "# TYPE clusterd_reloads_total counter\nclusterd_reloads_total %llu\n"
                "# HELP clusterd_reloads_failed_total Reloads refused or rolled back.\n"
                "# TYPE clusterd_reloads_failed_total counter\n"
                "clusterd_reloads_failed_total %llu\n"
                "# HELP clusterd_workers_wanted Worker processes wanted.\n"
                "# TYPE clusterd_workers_wanted gauge\nclusterd_workers_wanted %u\n"
                "# HELP clusterd_workers_serving Workers serving now.\n"
                "# TYPE clusterd_workers_serving gauge\nclusterd_workers_serving %u\n",
                (unsigned long long) m->reloads, (unsigned long long) m->reloads_failed,
                m->workers_wanted, m->workers_serving);
        return ferror(f) ? -EIO : 0;
}

enum MHD_Result metrics_serve(const Request *rq, const Scoreboard *sb, unsigned worker_id) {
        _cleanup_free_ ScoreSnapshot *snap = malloc(sizeof *snap);
        struct MHD_Response *r;
        char *body = NULL, id[16];
        size_t len = 0;
        FILE *f;
        int ok;

        if (!snap)
                return answer_canned(rq, CANNED_SERVER_ERROR);
        scoreboard_snapshot(sb, snap);
        f = open_memstream(&body, &len);
        if (!f)
                return answer_canned(rq, CANNED_SERVER_ERROR);
        ok = metrics_render(snap, f) >= 0;
        ok = fclose(f) == 0 && ok;
        if (!ok) {
                free(body);
                return answer_canned(rq, CANNED_SERVER_ERROR);
        }
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return answer_canned(rq, CANNED_SERVER_ERROR);
        }
        snprintf(id, sizeof id, "%u", worker_id);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(r, "X-Clusterd-Worker", id);
        answer_note_text(rq, len);
        return answer_once(rq, MHD_HTTP_OK, r);
}

enum MHD_Result metrics_serve_health(const Request *rq) {
        return answer_canned(rq, rq->draining ? CANNED_HEALTH_DRAINING : CANNED_HEALTH_OK);
}
