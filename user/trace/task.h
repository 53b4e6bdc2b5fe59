/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OS threads of the target: live threads per creation stack. */
#ifndef LT_TASK_H
#define LT_TASK_H
#include <stdint.h>
#include "trace/target.h"
#include <linux/types.h>
#include "leaktrace.h"

struct lt_maps;

/* Loads the task programs with the shared maps of maps (trace/loader.h)
 * and counts the threads alive at attach. */
int task_open(struct lt_target *ctx, const struct lt_maps *maps);
void task_close(struct lt_target *ctx);
void task_handle(struct lt_target *ctx, const struct lt_task_event *e);
/* Updates the age of the oldest live thread per site. */
void task_collect(struct lt_target *ctx);
/* Stops new records (the last drain then ends). */
void task_stop(struct lt_target *ctx);
void task_drops(const struct lt_target *ctx, uint64_t *out);
/* Adds the stack-copy counters to out[LT_UC_MAX]. */
void task_ucopy_stats(const struct lt_target *ctx, uint64_t *out);
#endif
