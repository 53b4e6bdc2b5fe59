/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The metrics endpoint of a run: its options (an argp child of the main
 * parser), and the glue from the run's context to export/metrics (the
 * text) and export/httpd (the server). Built for a list of targets; today
 * the list holds the one traced process.
 */
#ifndef LT_EXPORT_H
#define LT_EXPORT_H
#include <argp.h>
#include <stdbool.h>
#include "trace/opts.h"

#define EXPORT_TOP_DEF 5
#define EXPORT_MAX_SITES_DEF 1000

/* The options; its input is a struct export_opts (defaults set at
 * ARGP_KEY_INIT). */
extern const struct argp export_argp;

struct lt_ctx;
/* Starts the endpoint when --metrics-addr was given. 0, 2 for a usage
 * error (one message printed), 1 for a runtime failure. */
int export_open(struct lt_ctx *ctx);
/* Builds the text from the latest sample and publishes it (ranks the
 * model). No-op without an endpoint. */
void export_publish(struct lt_ctx *ctx);
void export_close(struct lt_ctx *ctx);
#endif
