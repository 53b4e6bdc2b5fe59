/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OS threads of the target: live threads per creation stack. */
#ifndef LT_TASK_H
#define LT_TASK_H
#include <stdint.h>
#include "ctx.h"
#include <linux/types.h>
#include "leaktrace.h"

struct lt_maps;

/* Loads the task programs with the shared maps of maps (trace/loader.h)
 * and counts the threads alive at attach. */
int task_open(struct lt_ctx *ctx, const struct lt_maps *maps);
void task_close(struct lt_ctx *ctx);
void task_handle(struct lt_ctx *ctx, const struct lt_task_event *e);
/* Updates the age of the oldest live thread per site. */
void task_collect(struct lt_ctx *ctx);
/* Stops new records (the last drain then ends). */
void task_stop(struct lt_ctx *ctx);
/* The image now running is Go: frame-pointer walks may jump stacks. */
void task_set_go(struct lt_ctx *ctx, bool go);
void task_drops(const struct lt_ctx *ctx, uint64_t *out);
/* Adds the stack-copy counters to out[LT_UC_MAX]. */
void task_ucopy_stats(const struct lt_ctx *ctx, uint64_t *out);
#endif
