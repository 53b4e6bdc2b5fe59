/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OS threads of the target: live threads per creation stack. */
#ifndef LT_TASK_H
#define LT_TASK_H
#include <stdint.h>
#include "trace/target.h"
#include <linux/types.h>
#include "leaktrace.h"

struct lt_maps;
struct lt_opts;
struct task_obj;

/* Loads the task programs with the shared maps of maps (trace/loader.h):
 * one object for every target of the run. 0 or -errno (said). */
int task_obj_open(struct task_obj **out, const struct lt_opts *o,
		  const struct lt_maps *maps);
void task_obj_close(struct task_obj *t);
/* Stops new records (the last drain then ends). */
void task_obj_stop(struct task_obj *t);
/* Adds the object's drop counters to out[LT_DROP_MAX]. */
void task_obj_drops(const struct task_obj *t, uint64_t *out);
/* The target's thread state on the run's object; counts the threads
 * alive at attach. */
int task_open(struct lt_target *ctx, const struct task_obj *obj,
	      const struct lt_maps *maps);
void task_close(struct lt_target *ctx);
void task_handle(struct lt_target *ctx, const struct lt_task_event *e);
/* Updates the age of the oldest live thread per site. */
void task_collect(struct lt_target *ctx);
/* The one target's new image is Go (single-target fast path): frame-
 * pointer walks may jump stacks. */
void task_obj_set_go(struct task_obj *t, bool go);
/* Adds the stack-copy counters to out[LT_UC_MAX]. */
void task_ucopy_stats(const struct lt_target *ctx, uint64_t *out);
#endif
