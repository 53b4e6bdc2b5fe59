/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* report/: every output from the model: text and live view, JSON
 * leaktrace/v1 (with unwind.h), pprof, folded stacks, --base compare,
 * findings. A new output goes here. */
/* The final report (text or JSON schema leaktrace/v1) and the live view. */
#ifndef LT_REPORT_H
#define LT_REPORT_H
#include <stdio.h>
#include "trace/world.h"

#define LT_VERSION "leaktrace 0.1.0"

/* Writes the report for ctx (model_rank() done) to out. 0 or -errno. */
int report_write(struct lt_ctx *ctx, struct lt_target *tg, FILE *out);
/* Several processes (-p A,B, --all, --cgroup): one document with a
 * "processes" array (JSON), or the processes by suspicion (text), most
 * suspect first (report/processes.c). 0 or -errno. */
int report_write_processes(struct lt_ctx *ctx, FILE *out);
struct json_object;
/* One process's report: the leaktrace/v1 object, or its text. */
struct json_object *report_process_json(struct lt_ctx *ctx, struct lt_target *tg);
void report_process_text(struct lt_ctx *ctx, struct lt_target *tg, FILE *out);
/* One refresh of the live view: a table on a terminal, else one line. */
void report_live(struct lt_ctx *ctx, struct lt_target *tg, FILE *out, bool tty);
/* Frames as the report's JSON array, and one frame as text. */
struct json_object;
struct json_object *report_frames_json(const struct frame *f, int n);
void report_frame_text(const struct frame *f, char *buf, size_t len);
/* Human-readable bytes ("12.3 MiB"). */
const char *report_bytes(double b, char *buf, size_t len);
/* The name of drop cause LT_DROP_* as reports show it. */
const char *report_drop_name(int cause);
#endif
