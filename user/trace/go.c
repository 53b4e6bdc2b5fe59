// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Goroutines, probe side. Reads of runtime.allgs are the source of truth
 * for what is alive (trace/goreads.c); probes only add what reads cannot:
 * the full creator stack. The creation probe runs under a cost budget
 * (continuous while cheap, duty-cycled beyond); go statements whose
 * goroutines the reads find alive with no sampled creation stack get a
 * probe of their own. No exit probe unless --go-parks asks for exact park
 * times.
 */
#include <errno.h>
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
#include "trace/uprobe_cost.h"
#include "util/clock.h"
#include "util/log.h"

/* What a hit costs inside a busy target, against what leaktrace measures
 * (the mechanism in a tight loop of its own plus lt_go_new's BPF time):
 * on this VM a Go HTTP server under wrk lost ~8.5 us of CPU per hit, and
 * a goroutine churn loop ~9-14 us, where the measured sum was 1.5-1.6 us
 * (cold caches, other threads, the trap path's side effects). */
#define IN_TARGET_FACTOR 6.0
/* A go statement probe may spend this share of the budget. */
#define STMT_SHARE 0.25
#define STMT_CHECK_S 0.2

bool go_enabled(const struct lt_target *ctx)
{
	return ctx->go && ctx->go->skel;
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

static int attach_one(struct go_state *g, struct bpf_program *prog,
		      uint64_t offset, struct bpf_link **out)
{
	char file[64];

	/* through our own fd: the path it was opened by may be another
	 * process's /proc/PID/exe, gone when that one exits */
	*out = bpf_program__attach_uprobe(prog, false, g->pid,
					  go_runtime_file(g->rt, file,
							  sizeof(file)),
					  offset);
	return *out ? 0 : -errno;
}

static int add_link(struct bpf_link ***v, int *n, struct bpf_link *l)
{
	struct bpf_link **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = l;
	return 0;
}

/* The creation probe: one probe on newproc's runqput call when the code is
 * as expected (a CALL is emulated, its NOP padding not even trapped on
 * 6.18+), else every RET of newproc1 (each single-stepped). */
static int creation_attach(struct go_state *g)
{
	struct go_probe_plan *p = &g->plan;
	struct bpf_program *prog = g->skel->progs.lt_go_new;
	struct bpf_link *l;
	int err = 0;

	if (g->new_attached)
		return 0;
	if (p->newg.found) {
		err = attach_one(g, prog, p->newg.offset, &l);
		if (!err && (err = add_link(&g->new_links, &g->nnew, l)))
			bpf_link__destroy(l);
	}
	for (int i = 0; !p->newg.found && i < p->newproc1.nrets && !err; i++) {
		err = attach_one(g, prog, p->newproc1.ret_offsets[i], &l);
		if (!err && (err = add_link(&g->new_links, &g->nnew, l)))
			bpf_link__destroy(l);
	}
	if (err) {
		for (int i = 0; i < g->nnew; i++)
			bpf_link__destroy(g->new_links[i]);
		g->nnew = 0;
		g->attach_errors++;
		return err;
	}
	g->new_attached = true;
	return 0;
}

static void creation_detach(struct go_state *g)
{
	for (int i = 0; i < g->nnew; i++)
		bpf_link__destroy(g->new_links[i]);
	g->nnew = 0;
	g->new_attached = false;
}

/* gopark entry and RETs, and the exit probe: exact park times, at two
 * uprobe hits per block (ping-pong 3.5M -> 10k ops/s on a VM): only on
 * request. */
static int parks_attach(struct go_state *g)
{
	struct go_probe_plan *p = &g->plan;
	struct bpf_link *l;
	int err;

	err = attach_one(g, g->skel->progs.lt_go_gopark, p->gopark.entry_offset, &l);
	if (!err && (err = add_link(&g->links, &g->nlinks, l)))
		bpf_link__destroy(l);
	for (int i = 0; i < p->gopark.nrets && !err; i++) {
		err = attach_one(g, g->skel->progs.lt_go_gopark_ret,
				 p->gopark.ret_offsets[i], &l);
		if (!err && (err = add_link(&g->links, &g->nlinks, l)))
			bpf_link__destroy(l);
	}
	if (!err) {
		err = attach_one(g, g->skel->progs.lt_go_exit,
				 p->gexit_call.found ? p->gexit_call.offset
						     : p->gexit.entry_offset, &l);
		if (!err && (err = add_link(&g->links, &g->nlinks, l)))
			bpf_link__destroy(l);
	}
	return err;
}

/* The cost of one creation probe hit on this kernel, measured on the
 * instruction the probe sits on. */
static void measure_cost(struct go_state *g)
{
	enum uprobe_insn kind = UPROBE_ON_RET;
	double c;

	g->probe_insn = "ret";
	if (g->plan.newg.found) {
		kind = g->plan.newg.nop5 ? UPROBE_ON_NOP5 : UPROBE_ON_CALL;
		g->probe_insn = g->plan.newg.nop5 ? "nop5" : "call";
	}
	c = uprobe_cost_measure(g->skel->progs.lt_go_new, kind);
	if (c > 0) {
		/* Our program's own work at a creation (stack walk, record)
		 * comes on top of the mechanism: ~1 us until measured. */
		g->mech_s = c;
		g->cost_s = (c + 1e-6) * IN_TARGET_FACTOR;
		g->cost_measured = true;
	} else {
		g->mech_s = 19e-6;
		g->cost_s = 20e-6;	/* a trap on a VM, the worst we know */
		lt_warn("cannot measure the uprobe cost here (%s): assuming 20 us a hit\n",
			c < 0 ? strerror((int)-c) : "no difference");
	}
}

static int load(struct lt_target *ctx, struct go_state *g,
		const struct lt_maps *maps)
{
	struct go_bpf *skel;
	int err;

	skel = g->skel = go_bpf__open();
	if (!skel)
		return -errno;
	/* the Go object is this process's own: its pid, Go's stack switches */
	skel->rodata->targ_tgid = target_host_pid(&ctx->target);
	skel->bss->fp_jumps = true;
	skel->rodata->wakeup_bytes = maps->wakeup_bytes;
	skel->rodata->off_goid = g->rt->off.goid;
	skel->rodata->off_parent_goid =
		g->rt->off.parent_goid > 0 ? g->rt->off.parent_goid : 0;
	skel->rodata->off_g_m = g->rt->off.m;
	skel->rodata->off_m_curg =
		g->rt->off.parent_goid > 0 ? 0 : g->rt->off.m_curg;
	skel->rodata->off_gopc = g->rt->off.gopc;
	skel->rodata->newg_in_rbx = g->plan.newg.found;
	skel->rodata->track_parks = ctx->opts->go_parks;
	err = bpf_map__set_max_entries(skel->maps.parked,
				       ctx->opts->max_goroutines);
	if (err) {
		lt_err("cannot size the Go BPF maps: %s\n", strerror(-err));
		return err;
	}
	/* uprobes are attached by go_attach(), not here */
	return lt_bpf_load(skel->skeleton, maps, "Go", 0);
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
	err = go_probes_plan(g->rt, &g->plan);
	if (err) {
		lt_warn("goroutine tracing is off: runtime functions not found in %s (%s)\n",
			exe, strerror(-err));
		return 0;
	}
	g->have_plan = true;
	if ((err = load(ctx, g, maps)))
		return err;
	lt_debug("go probes: creation %s\n",
		 !g->plan.newg.found ? "at newproc1's RETs" :
		 g->plan.newg.nop5 ? "at runqput's NOP padding" : "at the runqput call");
	if (ctx->opts->go_budget_pct > 0)
		measure_cost(g);
	/* On from now (goroutines created while we set up are seen), but
	 * the budget's ticks begin with the run loop: until then BPF itself
	 * ends the first window. */
	pb_init(&g->pb, ctx->opts->go_budget_pct / 100.0, g->cost_s, 0);
	if (g->pb.budget > 0) {
		g->skel->bss->go_new_until_ns = lt_mono_ns() +
			(uint64_t)(PB_FIRST_WINDOW_S * 1e9);
		err = creation_attach(g);
	}
	if (!err && ctx->opts->go_parks)
		err = parks_attach(g);
	if (err)
		lt_err("cannot attach Go runtime uprobes to %s: %s\n", exe,
		       strerror(-err));
	return err;
}

void go_close(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;

	if (!g)
		return;
	creation_detach(g);
	free(g->new_links);
	for (int i = 0; i < g->nlinks; i++)
		bpf_link__destroy(g->links[i]);
	free(g->links);
	for (int i = 0; i < g->nstmts; i++)
		bpf_link__destroy(g->stmts[i].link);
	go_bpf__destroy(g->skel);
	if (g->have_plan)
		go_probes_free(&g->plan);
	go_runtime_put(g->rt);
	u64map_free(&g->site_of);
	u64map_free(&g->born);
	free(g->info);
	free(g->waits);
	free(g);
	ctx->go = NULL;
}

/* No new records from now on (before the last drain). */
void go_stop(struct lt_target *ctx)
{
	if (go_enabled(ctx) && ctx->go->skel->bss)
		ctx->go->skel->bss->lt_stop = 1;
}

void go_drops(const struct lt_target *ctx, uint64_t *out)
{
	if (!go_enabled(ctx) || !ctx->go->skel->bss)
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += ctx->go->skel->bss->drops[i];
}

/* Go statement probes past their share of the budget are taken off: such
 * a statement is hot, and the duty-cycled creation probe samples it. */
static void stmt_check(struct lt_target *ctx, double now)
{
	struct go_state *g = ctx->go;
	double allowed = STMT_SHARE * g->pb.budget / g->cost_s;

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
	uint64_t hits;
	double now;

	if (!go_enabled(ctx) || g->pb.budget <= 0)
		return;
	now = lt_target_elapsed(ctx);
	/* The program's own time, measured in BPF, replaces the guess. */
	hits = g->skel->bss->go_hits[LT_GO_HIT_NEW];
	if (hits >= 1000)
		g->pb.cost_s = g->cost_s = IN_TARGET_FACTOR * (g->mech_s +
			(double)g->skel->bss->go_new_ns / hits / 1e9);
	if (pb_tick(&g->pb, now, hits)) {
		/* A window's end is also kept in BPF, for when we are late;
		 * it starts once the probe is in (attaching takes time). */
		uint64_t len = g->pb.duty < 1 ? (uint64_t)(g->pb.on_len * 1e9) : 0;

		if (g->pb.on) {
			g->skel->bss->go_new_until_ns = len ? lt_mono_ns() + len + 500000000ULL : 0;
			if (creation_attach(g)) {
				g->pb.on = false;	/* counted; next window */
			} else {
				double t = lt_target_elapsed(ctx);

				g->pb.until += t - g->pb.since;
				g->pb.since = t;
				g->skel->bss->go_new_until_ns = len ? lt_mono_ns() + len : 0;
			}
		} else {
			creation_detach(g);
		}
	} else if (g->pb.on && g->pb.duty >= 1 && g->skel->bss->go_new_until_ns) {
		/* Back to continuous without a detach: the last window's end
		 * kept in BPF must go, or the attached probe records nothing
		 * from then on while the report says "continuous" (found by
		 * the malloc tracker, which shares the controller). */
		g->skel->bss->go_new_until_ns = 0;
	}
	stmt_check(ctx, now);
}

int go_poll_ms(const struct lt_target *ctx, int max_ms)
{
	double next;

	if (!go_enabled(ctx) || ctx->go->pb.budget <= 0)
		return max_ms;
	next = pb_next(&ctx->go->pb, lt_target_elapsed(ctx)) * 1000;
	return next < max_ms ? (int)ceil(next) : max_ms;
}

void go_stmt_want(struct lt_target *ctx, uint64_t gopc)
{
	struct go_state *g = ctx->go;
	struct go_stmt_probe *sp;
	struct go_call_probe cp;
	int err;

	if (g->pb.budget <= 0 || !g->have_bias || !g->rt->pcln)
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
	err = attach_one(g, g->skel->progs.lt_go_stmt, cp.offset, &sp->link);
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
		if (!g->new_attached)
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
static bool was_duty_cycled(const struct go_state *g)
{
	return g->pb.windows || g->pb.duty < 1;
}

/* "goroutine_sampling": how goroutines were seen, and at what cost. */
struct json_object *go_sampling_json(const struct lt_target *ctx)
{
	const struct go_state *g = ctx->go;
	double now = ctx->now_s;
	json_object *o, *c, *r, *arr;

	if (!go_enabled(ctx))
		return NULL;
	o = json_object_new_object();
	c = json_object_new_object();
	json_object_object_add(c, "mode", json_object_new_string(
		g->pb.budget <= 0 ? "off" : was_duty_cycled(g) ? "duty-cycled" : "continuous"));
	json_object_object_add(c, "budget_pct", json_object_new_double(g->pb.budget * 100));
	json_object_object_add(c, "cost_per_hit_us", json_object_new_double(
		round(g->cost_s * 1e8) / 100));
	json_object_object_add(c, "cost_measured", json_object_new_boolean(g->cost_measured));
	json_object_object_add(c, "mechanism_us", json_object_new_double(round(g->mech_s * 1e8) / 100));
	json_object_object_add(c, "probe_on", json_object_new_string(
		g->probe_insn ? g->probe_insn : "none"));
	json_object_object_add(c, "hits", json_object_new_int64(
		g->skel->bss ? (int64_t)g->skel->bss->go_hits[LT_GO_HIT_NEW] : 0));
	json_object_object_add(c, "hits_per_s_on", json_object_new_double(round(g->pb.rate)));
	json_object_object_add(c, "on_share", json_object_new_double(
		round(pb_on_share(&g->pb, now) * 10000) / 10000));
	json_object_object_add(c, "duty", json_object_new_double(
		round(g->pb.duty * 10000) / 10000));
	json_object_object_add(c, "windows", json_object_new_int64(g->pb.windows));
	json_object_object_add(c, "spent_pct", json_object_new_double(
		round(pb_spent(&g->pb, now) * 1e5) / 1e3));
	json_object_object_add(c, "attach_errors", json_object_new_int64(g->attach_errors));
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
	double now = ctx->now_s;

	if (!go_enabled(ctx))
		return;
	if (g->pb.budget <= 0) {
		fprintf(out, "Goroutines: read from memory every %.1f s; creation probe off (--go-budget 0)\n",
			g->nreads > 1 ? (g->last_read_s - g->first_read_s) / (g->nreads - 1) : 0);
		return;
	}
	fprintf(out, "Goroutines: read from memory %u times (%.1f ms last); creation probe %s",
		g->nreads, g->read_ms_last,
		was_duty_cycled(g) ? "duty-cycled" : "on throughout");
	if (was_duty_cycled(g))
		fprintf(out, ", on %.1f %% of the time", pb_on_share(&g->pb, now) * 100);
	fprintf(out, " (%.2f %% of a core at %.1f us a hit, budget %.2f %%)\n",
		pb_spent(&g->pb, now) * 100, g->cost_s * 1e6, g->pb.budget * 100);
}
