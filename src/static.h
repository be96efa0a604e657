/* Static-file answers for one worker: files beneath the document root, with
 * conditionals (304, 412), ranges (206, 416) and directory redirects. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>

#include "answer.h"
#include "config.h"

typedef struct StaticSite StaticSite;

/* Opens the root named by c, with its MIME table and a file cache of its own. */
int static_new(const Config *c, StaticSite **ret);
void static_free(StaticSite *s);

/* Answers a GET (body_sent) or HEAD of url, counting in rq->body_bytes the
 * body bytes it queues; a HEAD counts none. */
enum MHD_Result static_serve(StaticSite *s, Request *rq, const char *url, bool body_sent);
