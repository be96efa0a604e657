/* Health and metrics: /healthz, and /metrics in Prometheus' text format.
 * /metrics shows the whole cluster from the scoreboard, so every scrape
 * reads the same series whichever worker answers it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "answer.h"
#include "scoreboard.h"

/* Writes the /metrics body for a snapshot of the scoreboard to f: each
 * worker id's series (labelled worker="N"; the counters go on across the
 * id's processes), the totals, and the manager's own figures. */
int metrics_render(const ScoreSnapshot *snap, FILE *f);

/* Answers /metrics from the scoreboard; worker_id, the answering worker's,
 * goes in an X-Clusterd-Worker header. */
enum MHD_Result metrics_serve(const Request *rq, const Scoreboard *sb, unsigned worker_id);

/* Answers /healthz: 200 "ok", or 503 "draining" once the worker drains. */
enum MHD_Result metrics_serve_health(const Request *rq);
