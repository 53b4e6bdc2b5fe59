// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "util/hashmap.h"
#include "util/log.h"
#include "trace/loader.h"
#include "trace/task.h"
#include "task.skel.h"

/* The thread BPF object: one for all targets of the run. */
struct task_obj {
	struct task_bpf *skel;
};

struct threads {
	struct task_bpf *skel;		/* the run's (struct task_obj) */
	struct u64map site_of;		/* tid -> site id + 1 */
	struct u64map born;		/* tid -> CLOCK_MONOTONIC ns at creation */
	int copy_need_fd;		/* shared, for stack copies */
	struct model *model;		/* where the sites live */
	struct stacks *stacks;
};

static uint64_t mono_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

/* Threads that exist before attach have no creation stack: they are one
 * site, "alive at attach". */
static void count_existing(struct threads *t, const struct target *tg)
{
	struct site *s = model_site_preexisting(t->model, SITE_THREAD);
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", tg->proc_pid);
	dir = opendir(path);
	if (!dir || !s) {
		if (dir)
			closedir(dir);
		return;
	}
	while ((d = readdir(dir))) {
		long tid = strtol(d->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		s->live++;
		u64map_put(&t->site_of, target_host_tid(tg, tid),
			   s->id + 1);
	}
	closedir(dir);
}

int task_obj_open(struct task_obj **out, const struct lt_opts *o,
		  const struct lt_maps *maps)
{
	struct task_obj *t;
	int err;

	*out = t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->skel = task_bpf__open();
	if (!t->skel) {
		err = -errno;
		lt_err("cannot open the thread BPF programs: %s\n", strerror(-err));
		return err;
	}
	LT_BPF_COMMON_RODATA(t->skel, maps);
	t->skel->rodata->ucopy_bytes = o->stack_copy_kb << 10;
	return lt_bpf_load(t->skel->skeleton, maps, "thread", LT_LOAD_ATTACH);
}

void task_obj_close(struct task_obj *t)
{
	if (!t)
		return;
	if (t->skel)
		lt_skel_detach(t->skel->skeleton);
	task_bpf__destroy(t->skel);
	free(t);
}

void task_obj_stop(struct task_obj *t)
{
	if (t && t->skel && t->skel->bss)
		t->skel->bss->lt_stop = 1;
}

void task_obj_drops(const struct task_obj *t, uint64_t *out)
{
	if (!t || !t->skel || !t->skel->bss)
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += t->skel->bss->drops[i];
}

int task_open(struct lt_target *ctx, const struct task_obj *obj,
	      const struct lt_maps *maps)
{
	struct threads *t;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ctx->threads = t;
	t->copy_need_fd = maps->copy_need_fd;
	t->model = &ctx->model;
	t->stacks = &ctx->stacks;
	u64map_init(&t->site_of);
	u64map_init(&t->born);
	t->skel = obj->skel;
	if (!ctx->target.spawned)
		count_existing(t, &ctx->target);
	return 0;
}

void task_close(struct lt_target *ctx)
{
	struct threads *t = ctx->threads;

	if (!t)
		return;
	u64map_free(&t->site_of);
	u64map_free(&t->born);
	free(t);
	ctx->threads = NULL;
}

void task_obj_set_go(struct task_obj *t, bool go)
{
	if (t)
		LT_BPF_FP_JUMPS(t->skel, go);
}

void task_ucopy_stats(const struct lt_target *ctx, uint64_t *out)
{
	if (!ctx->threads || !ctx->threads->skel->bss)
		return;
	for (int i = 0; i < LT_UC_MAX; i++)
		out[i] += ctx->threads->skel->bss->ucopy_stats[i];
}

void task_handle(struct lt_target *ctx, const struct lt_task_event *e)
{
	struct threads *t = ctx->threads;
	struct site *s;
	uint64_t id;

	if (e->type == LT_EV_THREAD_NEW) {
		/* A stack copy follows the record when frame pointers may
		 * not reach the creator's callers. */
		id = stacks_event_id(t->stacks, t->copy_need_fd,
				     e->stack_id, e + 1, e->copy_bytes);
		s = stacks_site(t->stacks, t->model, SITE_THREAD, id);
		if (!s)
			return;
		s->live++;
		s->created++;
		u64map_put(&t->site_of, e->tid, s->id + 1);
		u64map_put(&t->born, e->tid, e->ts_ns);
		return;
	}
	if (!u64map_get(&t->site_of, e->tid, &id))
		return;
	s = model_get(t->model, id - 1);
	if (s && s->live > 0)
		s->live--;
	u64map_del(&t->site_of, e->tid);
	u64map_del(&t->born, e->tid);
}

void task_collect(struct lt_target *ctx)
{
	struct threads *t = ctx->threads;
	struct timespec now;
	uint64_t tid, born, id;
	size_t i = 0;

	if (!t)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t k = 0; k < t->model->n; k++)
		if (t->model->sites[k]->kind == SITE_THREAD)
			t->model->sites[k]->oldest_s = -1;
	while (u64map_next(&t->born, &i, &tid, &born)) {
		struct site *s;
		double age;

		if (!u64map_get(&t->site_of, tid, &id))
			continue;
		s = model_get(t->model, id - 1);
		age = (double)(mono_ns(&now) - born) / 1e9;
		if (s && age > s->oldest_s)
			s->oldest_s = age;
	}
}
