// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Goroutines, probe side. Reads of runtime.allgs are the source of truth
 * for what is alive (trace/goreads.c); probes only add what reads cannot:
 * the full creator stack. The creation probe runs under a cost budget
 * (continuous while cheap, duty-cycled beyond); go statements whose
 * goroutines the reads find alive with no sampled creation stack get a
 * probe of their own. No exit probe unless --go-parks asks for exact park
 * times. The probes and their budget are the executable's, shared by
 * every traced process running it (trace/goexe.c); go statement probes
 * and everything read are the process's own.
 */
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "go.skel.h"
#include "go/goallgs.h"
#include "go/goprobes.h"
#include "go/goruntime.h"
#include "trace/go.h"
#include "trace/go_int.h"
#include "trace/loader.h"
#include "util/clock.h"
#include "util/log.h"

/* A go statement probe may spend this share of the budget. */
#define STMT_SHARE 0.25
#define STMT_CHECK_S 0.2

bool go_enabled(const struct lt_target *ctx)
{
	return ctx->go && ctx->go->exe;
}

const char *go_version(const struct lt_target *ctx)
{
	return ctx->go && ctx->go->rt && ctx->go->rt->version[0] ?
	       ctx->go->rt->version : NULL;
}

const struct go_runtime *go_runtime(const struct lt_target *ctx)
{
	return go_enabled(ctx) ? ctx->go->rt : NULL;
}

struct site *go_site_of(struct lt_target *ctx, uint64_t goid)
{
	uint64_t id;

	if (!go_enabled(ctx) || !u64map_get(&ctx->go->site_of, goid, &id))
		return NULL;
	return model_get(&ctx->model, id - 1);
}

uint64_t go_exits_reconciled(const struct lt_target *ctx)
{
	return go_enabled(ctx) ? ctx->go->exits_by_reads : 0;
}

int64_t go_count_start(const struct lt_target *ctx)
{
	if (!go_enabled(ctx))
		return -1;
	return ctx->go->count_start > 0 ? ctx->go->count_start : 0;
}

int64_t go_count_end(const struct lt_target *ctx)
{
	if (!go_enabled(ctx))
		return -1;
	return ctx->go->count_end > 0 ? ctx->go->count_end : 0;
}

struct go_site_info *go_info(struct go_state *g, uint32_t id)
{
	if (id >= g->ninfo) {
		size_t n = id + 256;
		struct go_site_info *v = realloc(g->info, n * sizeof(*v));

		if (!v)
			return NULL;
		memset(v + g->ninfo, 0, (n - g->ninfo) * sizeof(*v));
		g->info = v;
		g->ninfo = n;
	}
	return &g->info[id];
}

int go_open(struct lt_target *ctx, const char *exe,
	    const struct lt_maps *maps)
{
	char msg[256] = "";
	struct go_state *g;
	int err;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	ctx->go = g;
	g->pid = ctx->target.pid;
	g->tgid = target_host_pid(&ctx->target);
	g->count_start = g->count_end = -1;
	u64map_init(&g->site_of);
	u64map_init(&g->born);
	err = go_runtime_get(exe, &g->rt, msg, sizeof(msg));
	if (err == -ENOENT) {
		lt_note("%s is not a Go binary: goroutine tracing is off\n",
			ctx->target.comm[0] ? ctx->target.comm : exe);
		return 0;
	}
	if (err) {
		lt_warn("goroutine tracing is off: %s\n",
			msg[0] ? msg : strerror(-err));
		return 0;	/* memory and threads still work */
	}
	/* The executable's probes: made by its first traced process,
	 * joined by the others. */
	err = goexe_join(g->rt, ctx->opts, maps, g->pid, g->tgid, &g->exe,
			 &g->exe_id);
	if (err > 0)
		return 0;	/* said: goroutine tracing off */
	/* A process that died meanwhile is the caller's to say (vanished
	 * while setting up), not an attach failure. */
	if (err && !(err == -ESRCH && kill(g->pid, 0) && errno == ESRCH))
		lt_err("cannot attach Go runtime uprobes to %s: %s\n", exe,
		       strerror(-err));
	return err;
}

void go_close(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;
	struct bpf_link **slots[MAX_STMT_PROBES];
	size_t n = 0;

	if (!g)
		return;
	for (int i = 0; i < g->nstmts; i++)
		slots[n++] = &g->stmts[i].link;
	lt_links_destroy(slots, n);
	goexe_leave(g->exe, g->exe_id);
	go_runtime_put(g->rt);
	u64map_free(&g->site_of);
	u64map_free(&g->born);
	free(g->info);
	free(g->waits);
	free(g);
	ctx->go = NULL;
}

int go_executables(void)
{
	return goexe_count();
}

struct json_object *go_executables_json(void)
{
	return goexe_all_json();
}

/* No new records from now on (before the last drain). */
void go_stop(struct lt_target *ctx)
{
	if (go_enabled(ctx) && ctx->go->exe->skel->bss)
		ctx->go->exe->skel->bss->lt_stop = 1;
}

/* The object's drops are the executable's: counted once, by its leader. */
void go_drops(const struct lt_target *ctx, uint64_t *out)
{
	const struct go_exe *x = go_enabled(ctx) ? ctx->go->exe : NULL;

	if (!x || !x->skel->bss || !goexe_leads(x, ctx->go->exe_id))
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += x->skel->bss->drops[i];
}

/* Go statement probes past their share of the budget are taken off: such
 * a statement is hot, and the duty-cycled creation probe samples it. */
static void stmt_check(struct lt_target *ctx, double now)
{
	struct go_state *g = ctx->go;
	double allowed = STMT_SHARE * g->exe->pb.budget / g->exe->cost_s;

	for (int i = 0; i < g->nstmts; i++) {
		struct go_stmt_probe *sp = &g->stmts[i];
		double len = now - sp->checked_at;

		if (!sp->link || len < STMT_CHECK_S)
			continue;
		if ((double)(sp->hits - sp->hits_at) > allowed * len) {
			bpf_link__destroy(sp->link);
			sp->link = NULL;
			sp->hot = true;
			lt_info("go statement probe at %#llx taken off: %.0f hits/s is over its budget\n",
				(unsigned long long)sp->gopc,
				(sp->hits - sp->hits_at) / len);
		}
		sp->hits_at = sp->hits;
		sp->checked_at = now;
	}
}

void go_tick(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;

	if (!go_enabled(ctx) || g->exe->pb.budget <= 0)
		return;
	/* once a tick for the executable, by its leading process */
	if (goexe_leads(g->exe, g->exe_id))
		goexe_tick(g->exe);
	stmt_check(ctx, lt_target_elapsed(ctx));
}

void go_tick_cut(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;

	if (go_enabled(ctx) && g->exe->pb.budget > 0 && g->exe->pb.on &&
	    g->exe->skel->bss->go_new_capped_ns && goexe_leads(g->exe, g->exe_id))
		goexe_tick(g->exe);
}

int go_poll_ms(const struct lt_target *ctx, int max_ms)
{
	double next;

	const struct go_exe *x = go_enabled(ctx) ? ctx->go->exe : NULL;

	if (!x || x->pb.budget <= 0)
		return max_ms;
	next = pb_next(&x->pb, goexe_now(x)) * 1000;
	return next < max_ms ? (int)ceil(next) : max_ms;
}

void go_stmt_want(struct lt_target *ctx, uint64_t gopc)
{
	struct go_state *g = ctx->go;
	struct go_stmt_probe *sp;
	struct go_call_probe cp;
	int err;

	if (g->exe->pb.budget <= 0 || !g->have_bias || !g->rt->pcln)
		return;
	for (int i = 0; i < g->nstmts; i++)
		if (g->stmts[i].gopc == gopc)
			return;
	if (g->nstmts == MAX_STMT_PROBES)
		return;
	sp = &g->stmts[g->nstmts++];
	memset(sp, 0, sizeof(*sp));
	sp->gopc = gopc;
	sp->checked_at = lt_target_elapsed(ctx);
	err = go_stmt_probe_find(g->rt->elf, g->rt->pcln, gopc - g->bias, &cp);
	if (err) {
		sp->unplaceable = true;
		lt_info("go statement at %#llx: no proven place for a probe (%s)\n",
			(unsigned long long)gopc, strerror(-err));
		return;
	}
	sp->probe_addr = cp.vaddr + g->bias;
	/* this process's own link: the kernel filters, events carry its tgid */
	err = goexe_attach(g->exe, g->exe->skel->progs.lt_go_stmt, g->pid,
			   cp.offset, &sp->link);
	if (err) {
		sp->link = NULL;
		sp->unplaceable = true;
		g->attach_errors++;
		lt_info("cannot probe the go statement at %#llx: %s\n",
			(unsigned long long)gopc, strerror(-err));
		return;
	}
	lt_debug("probing the go statement at %#llx on its own\n",
		 (unsigned long long)gopc);
}

/* The creator's site becomes the site's creator (its ancestry). */
static void link_creator(struct lt_target *ctx, struct site *s, uint64_t parent)
{
	uint64_t pid;
	struct site *p;

	if (!parent || s->creator ||
	    !u64map_get(&ctx->go->site_of, parent, &pid))
		return;
	p = model_get(&ctx->model, pid - 1);
	if (p && p != s)
		s->creator = p;
}

static struct go_stmt_probe *stmt_by_addr(struct go_state *g, uint64_t addr)
{
	for (int i = 0; i < g->nstmts; i++)
		if (g->stmts[i].probe_addr == addr)
			return &g->stmts[i];
	return NULL;
}

void go_handle(struct lt_target *ctx, const struct lt_go_event *e)
{
	struct go_state *g = ctx->go;
	struct go_site_info *in;
	struct go_stmt_probe *sp;
	struct site *s;

	if (!go_enabled(ctx))
		return;
	switch (e->type) {
	case LT_EV_GO_NEW:
		s = stacks_site(&ctx->stacks, &ctx->model, SITE_GOROUTINE,
				e->stack_id);
		if (!s)
			return;
		s->created++;
		if ((in = go_info(g, s->id)))
			in->gopc = e->gopc;
		link_creator(ctx, s, e->parent_goid);
		u64map_put(&g->site_of, e->goid, s->id + 1);
		u64map_put(&g->born, e->goid, e->ts_ns);
		return;
	case LT_EV_GO_STMT:
		g->stmt_hits++;
		sp = stmt_by_addr(g, e->gopc);
		if (!sp)
			return;
		sp->hits++;
		s = stacks_site(&ctx->stacks, &ctx->model, SITE_GOROUTINE,
				e->stack_id);
		if (!s)
			return;
		/* While the creation probe is on it sees these too. */
		if (!g->exe->new_attached)
			s->created++;
		s->stmt_probed++;
		if ((in = go_info(g, s->id)))
			in->gopc = sp->gopc;
		link_creator(ctx, s, e->parent_goid);
		return;
	case LT_EV_GO_EXIT:	/* --go-parks only: reads do the rest */
		if (u64map_get(&g->site_of, e->goid, NULL)) {
			u64map_del(&g->site_of, e->goid);
			u64map_del(&g->born, e->goid);
		}
		return;
	}
}

void go_collect(struct lt_target *ctx, bool force)
{
	struct go_state *g = ctx->go;

	if (!go_enabled(ctx))
		return;
	go_ages(ctx);
	if (!force && ctx->now_s < g->next_read_s)
		return;
	if (ctx->opts->go_parks)
		go_parked_since(ctx);
	go_full_read(ctx, false);
}

void go_scan_existing(struct lt_target *ctx)
{
	if (!go_enabled(ctx) || ctx->go->scanned)
		return;
	ctx->go->scanned = true;
	go_full_read(ctx, true);
}

/* The probe was taken off for its cost at least once (a long period may
 * not have begun a second window yet). */
static bool was_duty_cycled(const struct go_exe *x)
{
	return x->pb.windows || x->pb.duty < 1;
}

/* "goroutine_sampling": how goroutines were seen, and at what cost. */
struct json_object *go_sampling_json(const struct lt_target *ctx)
{
	const struct go_state *g = ctx->go;
	const struct go_exe *x;
	json_object *o, *c, *r, *arr;
	double now;

	if (!go_enabled(ctx))
		return NULL;
	x = g->exe;
	now = goexe_now(x);
	o = json_object_new_object();
	c = json_object_new_object();
	json_object_object_add(c, "mode", json_object_new_string(
		x->refused ? "refused" : x->pb.budget <= 0 ? "off" :
		was_duty_cycled(x) ? "duty-cycled" : "continuous"));
	json_object_object_add(c, "budget_pct", json_object_new_double(x->pb.budget * 100));
	json_object_object_add(c, "cost_per_hit_us", json_object_new_double(
		round(x->cost_s * 1e8) / 100));
	json_object_object_add(c, "cost_measured", json_object_new_boolean(x->cost_measured));
	json_object_object_add(c, "mechanism_us", json_object_new_double(round(x->mech_s * 1e8) / 100));
	json_object_object_add(c, "probe_on", json_object_new_string(
		x->probe_insn ? x->probe_insn : "none"));
	/* The probe, its budget and the numbers below are the executable's:
	 * summed over every traced process running it. */
	json_object_object_add(c, "scope", json_object_new_string("executable"));
	json_object_object_add(c, "shared_by_processes", json_object_new_int64(x->nm));
	json_object_object_add(c, "processes_joined", json_object_new_int64(x->joined));
	json_object_object_add(c, "attached", json_object_new_string(
		x->any_pid ? "once, every process" : "per traced process"));
	json_object_object_add(c, "hits", json_object_new_int64(
		x->skel->bss ? (int64_t)x->skel->bss->go_hits[LT_GO_HIT_NEW] : 0));
	json_object_object_add(c, "hits_per_s_on", json_object_new_double(round(x->pb.rate)));
	json_object_object_add(c, "on_share", json_object_new_double(
		round(pb_on_share(&x->pb, now) * 10000) / 10000));
	json_object_object_add(c, "duty", json_object_new_double(
		round(x->pb.duty * 10000) / 10000));
	json_object_object_add(c, "windows", json_object_new_int64(x->pb.windows));
	/* windows the BPF hit cap ended before user space's tick */
	json_object_object_add(c, "capped_windows", json_object_new_int64(x->pb.cut_windows));
	/* the first window's hits (continuous until measured), once it
	 * ended; null while it runs */
	json_object_object_add(c, "first_window_hits", x->pb.changes >= 2 ?
		json_object_new_int64((int64_t)x->first_hits) : NULL);
	/* the last window's hits in cores, bounded by the online CPUs (the
	 * per-hit estimate above times the rate can exceed them) */
	json_object_object_add(c, "cores_while_on", json_object_new_double(
		round(x->pb.cost_rate * 1000) / 1000));
	/* hits past a window's end: the mechanism ran, nothing recorded */
	json_object_object_add(c, "hits_past_window_end", json_object_new_int64(
		x->skel->bss ? (int64_t)x->skel->bss->go_new_late : 0));
	json_object_object_add(c, "spent_pct", json_object_new_double(
		round(pb_spent(&x->pb, now) * 1e5) / 1e3));
	json_object_object_add(c, "attach_errors", json_object_new_int64(
		x->attach_errors + g->attach_errors));
	json_object_object_add(o, "creation_probe", c);
	arr = json_object_new_array();
	for (int i = 0; i < g->nstmts; i++) {
		const struct go_stmt_probe *sp = &g->stmts[i];
		json_object *p = json_object_new_object();
		char pc[32];

		snprintf(pc, sizeof(pc), "%#llx", (unsigned long long)sp->gopc);
		json_object_object_add(p, "gopc", json_object_new_string(pc));
		json_object_object_add(p, "state", json_object_new_string(
			sp->unplaceable ? "not placed" : sp->hot ? "taken off (hot)" :
			sp->link ? "on" : "off"));
		json_object_object_add(p, "hits", json_object_new_int64(sp->hits));
		json_object_array_add(arr, p);
	}
	json_object_object_add(o, "go_statement_probes", arr);
	r = json_object_new_object();
	json_object_object_add(r, "count", json_object_new_int64(g->nreads));
	json_object_object_add(r, "interval_s", g->nreads > 1 ?
		json_object_new_double(round((g->last_read_s - g->first_read_s) /
					     (g->nreads - 1) * 100) / 100) : NULL);
	json_object_object_add(r, "last_ms", json_object_new_double(round(g->read_ms_last * 10) / 10));
	json_object_object_add(r, "max_ms", json_object_new_double(round(g->read_ms_max * 10) / 10));
	json_object_object_add(r, "mean_ms", g->nreads ?
		json_object_new_double(round(g->read_ms_sum / g->nreads * 10) / 10) : NULL);
	json_object_object_add(r, "budget_pct", json_object_new_double(READ_BUDGET * 100));
	json_object_object_add(o, "reads", r);
	json_object_object_add(o, "unsampled_live", json_object_new_int64(g->unsampled));
	json_object_object_add(o, "runtime_leaked", json_object_new_int64(g->runtime_leaked));
	json_object_object_add(o, "exits_found_by_reads", json_object_new_int64(g->exits_by_reads));
	return o;
}

void go_sampling_text(const struct lt_target *ctx, FILE *out)
{
	const struct go_state *g = ctx->go;
	const struct go_exe *x;
	double now;

	if (!go_enabled(ctx))
		return;
	x = g->exe;
	now = goexe_now(x);
	if (x->pb.budget <= 0) {
		fprintf(out, "Goroutines: read from memory every %.1f s; creation probe off (--go-budget 0)\n",
			g->nreads > 1 ? (g->last_read_s - g->first_read_s) / (g->nreads - 1) : 0);
		return;
	}
	fprintf(out, "Goroutines: read from memory %u times (%.1f ms last); creation probe %s",
		g->nreads, g->read_ms_last,
		was_duty_cycled(x) ? "duty-cycled" : "on throughout");
	if (was_duty_cycled(x))
		fprintf(out, ", on %.1f %% of the time", pb_on_share(&x->pb, now) * 100);
	fprintf(out, " (%.2f %% of a core at %.1f us a hit, budget %.2f %%",
		pb_spent(&x->pb, now) * 100, x->cost_s * 1e6, x->pb.budget * 100);
	if (x->joined > 1)
		fprintf(out, "; the executable's probe and budget, shared by %d traced process%s",
			x->nm, x->nm == 1 ? "" : "es");
	fprintf(out, ")\n");
}
