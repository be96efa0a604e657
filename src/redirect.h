/* The redirect of a directory named without its slash. */
#pragma once

#include <stdbool.h>

#include "answer.h"

/* "/docs" names a directory: answers 301 to "/docs/" (rel, the sanitized
 * path beneath the root, "." for the root itself), keeping the query;
 * a body unless with_body is false (HEAD). */
enum MHD_Result redirect_to_directory(const Request *rq, const char *rel, bool with_body);
