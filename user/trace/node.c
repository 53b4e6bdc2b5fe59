// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/scan.h"
#include "sym/symbolize.h"
#include "trace/go.h"
#include "trace/malloc.h"
#include "trace/goheap.h"
#include "trace/mem.h"
#include "trace/node.h"
#include "trace/task.h"
#include "util/log.h"

#define NODE_WINDOW_S 3600.0	/* --all, --cgroup: growth over the last hour */
#define NODE_MAX_SAMPLES 240	/* then a sample per 15 s: <= 362 a series (6 KiB) */

struct lt_node {
	struct scan_filter filter;
	char cgroup[PATH_MAX];		/* --cgroup as /proc/PID/cgroup writes it */
	struct proc_set set;		/* processes of the last scan */
	struct node_stats st;
};

/* Messages of a process found by a scan: it may be gone by now, and a
 * node has hundreds; say them only with -v. */
static int quiet_begin(bool quiet)
{
	int v = lt_verbosity;

	if (quiet && lt_verbosity < 1)
		lt_verbosity = -2;
	return v;
}

int node_target_open(struct lt_ctx *ctx, struct lt_target *tg, pid_t pid,
		     bool quiet)
{
	const struct lt_opts *o = &ctx->opts;
	char **cmd = pid ? NULL : o->cmd;
	char exe[PATH_MAX];
	int v, ret = 0;

	v = quiet_begin(quiet);
	if (cmd) {
		/* A command that cannot run is a bad target: say so first. */
		tg->target.spawned = true;
		if (target_exe_path(&tg->target, cmd, exe, sizeof(exe))) {
			ret = 2;
			goto out;
		}
		if (target_spawn(&tg->target, cmd)) {
			lt_err("cannot start %s: %s\n", cmd[0], strerror(errno));
			ret = 1;
			goto out;
		}
	} else if (target_open_pid(&tg->target, pid)) {
		ret = 2;
		goto out;
	}
	target_test_stop("opened");
	tg->sym = symbolizer_new(tg->target.proc_pid);
	if (!tg->sym) {
		int err = errno;

		if (err == ENOMEM) {
			lt_err("out of memory\n");
			ret = 1;
			goto out;
		}
		if (err == ESRCH || err == ENOENT) {
			if (!target_vanished(&tg->target))
				lt_err("cannot read the memory map of process %d: %s\n",
				       tg->target.pid, strerror(err));
		} else
			lt_err("cannot read the memory map of process %d: %s%s\n",
			       tg->target.pid, strerror(err), err == EACCES || err == EPERM ?
			       " (leaktrace needs ptrace rights over it: CAP_SYS_PTRACE in its "
			       "user namespace, same Yama scope)" : "");
		ret = 2;
		goto out;
	}
	model_init(&tg->model);
	/* An agent runs for days: growth over a sliding window, bounded
	 * samples per site (model.h). */
	tg->model.window_s = o->window_s > 0 ? o->window_s :
			     o->window_s < 0 && (o->all || o->cgroup) ? NODE_WINDOW_S : 0;
	if (tg->model.window_s > 0)
		tg->model.max_samples = NODE_MAX_SAMPLES;
	/* Frame-pointer walks in BPF follow Go's stack switches only in Go
	 * programs (elsewhere a jump is a garbage frame pointer). */
	if (!target_exe_path(&tg->target, cmd, exe, sizeof(exe)))
		tg->target.is_go = target_exe_is_go(exe);
	if (lt_target_index(ctx, tg)) {
		lt_err("out of memory\n");
		ret = 1;
	}
out:
	lt_verbosity = v;
	return ret;
}

int node_target_attach(struct lt_ctx *ctx, struct lt_target *tg)
{
	const struct lt_opts *o = &ctx->opts;
	char exe[PATH_MAX];
	int err;

	tg->t0 = ctx->t0;
	tg->started_at = ctx->started_at;
	if (ctx->t0.tv_sec || ctx->t0.tv_nsec) {	/* attached later */
		clock_gettime(CLOCK_MONOTONIC, &tg->t0);
		tg->started_at = time(NULL);
	}
	if (mem_open(tg, ctx->mem_obj, &ctx->maps))
		return 1;
	stacks_init(&tg->stacks, ctx->maps.stacks_fd, tg->sym);
	tg->stacks.copy_max = o->stack_copy_kb << 10;
	if (!o->no_threads && task_open(tg, ctx->task_obj, &ctx->maps))
		return 1;
	target_test_stop("loaded");
	if (target_vanished(&tg->target))	/* before its exe is read */
		return 2;
	if (!o->no_go && tg->target.is_go) {
		if (target_exe_path(&tg->target, tg->target.spawned ? o->cmd : NULL,
				    exe, sizeof(exe)) ||
		    go_open(tg, exe, &ctx->maps) ||
		    goheap_open(tg, exe))
			return target_vanished(&tg->target) ? 2 : 1;
	} else if (!o->no_go && !ctx->node) {
		/* One process (-p, -- CMD): as before, go_open says what it
		 * found (not Go: goroutines off). */
		if (target_exe_path(&tg->target, o->cmd, exe, sizeof(exe)) ||
		    go_open(tg, exe, &ctx->maps) ||
		    goheap_open(tg, exe))
			return target_vanished(&tg->target) ? 2 : 1;
	}
	/* The allocator probes come on at the first tick (malloc_tick):
	 * finding the allocator and measuring a hit take ~0.8 s (seconds on
	 * a loaded host) that must not delay the other probes; a command's
	 * allocator is known once it has exec'd. Not node-wide: a per-call
	 * probe and an 8 MiB ring buffer per process do not scale to every
	 * process of a host. */
	if (!ctx->node)
		tg->malloc_open_s = tg->target.spawned ? 0.1 : 0.01;
	/* Execs are followed from here on (-- CMD's own exec included). */
	if (procid_watch_exec(&tg->target.id))
		lt_warn("cannot watch the execs of process %d (sched_process_exec): an exec "
			"would go unnoticed\n", tg->target.pid);
	tg->spawn_exec_pending = tg->target.spawned;
	if (!ctx->maps.targ_tgid) {
		err = lt_maps_trace(&ctx->maps, tg->tgid, tg->target.is_go);
		if (err) {
			lt_err("cannot trace process %d: the traced-process map: %s\n",
			       tg->target.pid, strerror(-err));
			return 1;
		}
	}
	return 0;
}

void node_target_free(struct lt_ctx *ctx, struct lt_target *tg)
{
	if (tg->indexed && !ctx->maps.targ_tgid && ctx->maps.traced_fd > 0)
		lt_maps_untrace(&ctx->maps, tg->tgid);
	lt_target_remove(ctx, tg);
	goheap_close(tg);
	go_close(tg);
	malloc_close(tg);
	task_close(tg);
	mem_close(tg);
	stacks_free(&tg->stacks);
	model_free(&tg->model);
	symbolizer_free(tg->sym);
	target_abort(&tg->target);
	free(tg);
}

/* Opens a process the scan found; one that vanished or cannot be traced
 * is counted (and said once with -v). */
static struct lt_target *add_found(struct lt_ctx *ctx, struct lt_node *n,
				   struct proc_key k)
{
	struct lt_target *tg;
	int err;

	if (ctx->ntargets >= ctx->opts.max_procs) {
		if (!n->st.over_limit++)
			lt_warn("--max-processes %u reached: further processes are counted, not traced\n",
				ctx->opts.max_procs);
		return NULL;
	}
	tg = lt_target_add(ctx);
	if (!tg)
		return NULL;
	err = node_target_open(ctx, tg, k.pid, true);
	if (err) {
		if (kill(k.pid, 0) && errno == ESRCH)
			n->st.vanished++;
		else
			n->st.refused++;
		node_target_free(ctx, tg);
		return NULL;
	}
	return tg;
}

int node_open(struct lt_ctx *ctx)
{
	const struct lt_opts *o = &ctx->opts;
	struct lt_node *n;
	int err;

	n = calloc(1, sizeof(*n));
	if (!n) {
		lt_err("out of memory\n");
		return 1;
	}
	ctx->node = n;
	symbolizer_hints_quiet(true);	/* one line at the end, not one per library */
	n->filter.self = getpid();
	if (o->cgroup) {
		err = cgroup_resolve("/sys/fs/cgroup", o->cgroup, n->cgroup,
				     sizeof(n->cgroup), &n->filter.hier);
		if (err) {
			lt_err("--cgroup %s: %s\n", o->cgroup,
			       err == -ENOENT ? "no such cgroup" :
			       err == -EACCES ? "cannot be read (permission denied)" :
			       err == -EINVAL ? "not a cgroup directory" : strerror(-err));
			return 2;
		}
		n->filter.cgroup = n->cgroup;
	}
	err = proc_scan("", &n->filter, &n->set);
	if (err) {
		lt_err("cannot list the processes in /proc: %s\n", strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < n->set.n; i++)
		add_found(ctx, n, n->set.keys[i]);
	return 0;
}

static struct lt_target *target_of_key(struct lt_ctx *ctx, struct proc_key k)
{
	for (size_t i = 0; i < ctx->ntargets; i++) {
		struct lt_target *tg = ctx->targets[i];

		if (tg->target.pid == k.pid && !tg->exited)
			return tg;
	}
	return NULL;
}

int node_rescan(struct lt_ctx *ctx)
{
	struct lt_node *n = ctx->node;
	struct proc_set now = { 0 }, added = { 0 }, gone = { 0 };
	int nadded = 0;

	if (!n || proc_scan("", &n->filter, &now))
		return 0;
	if (proc_set_diff(&n->set, &now, &added, &gone)) {
		proc_set_free(&now);
		return 0;
	}
	for (size_t i = 0; i < gone.n; i++) {
		struct lt_target *tg = target_of_key(ctx, gone.keys[i]);

		if (tg)
			tg->exited = true;
	}
	for (size_t i = 0; i < added.n; i++) {
		struct lt_target *tg = add_found(ctx, n, added.keys[i]);
		int v, err;

		if (!tg)
			continue;
		/* A process found by a scan may be gone already: its attach
		 * failures are counted, said only with -v. */
		v = quiet_begin(true);
		err = node_target_attach(ctx, tg);
		lt_verbosity = v;
		if (err) {
			if (kill(added.keys[i].pid, 0) && errno == ESRCH)
				n->st.vanished++;
			else
				n->st.refused++;
			node_target_free(ctx, tg);
			continue;
		}
		go_scan_existing(tg);
		n->st.seen++;
		nadded++;
	}
	proc_set_free(&n->set);
	n->set = now;
	proc_set_free(&added);
	proc_set_free(&gone);
	return nadded;
}

void node_release_exited(struct lt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ntargets;) {
		struct lt_target *tg = ctx->targets[i];

		if (!tg->exited) {
			i++;
			continue;
		}
		if (ctx->node)
			ctx->node->st.released++;
		node_target_free(ctx, tg);	/* shifts the list */
	}
}

const struct node_stats *node_stats(const struct lt_ctx *ctx)
{
	return ctx->node ? &ctx->node->st : NULL;
}

void node_close(struct lt_ctx *ctx)
{
	if (!ctx->node)
		return;
	proc_set_free(&ctx->node->set);
	free(ctx->node);
	ctx->node = NULL;
}
