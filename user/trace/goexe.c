// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One Go probe object per executable (trace/goexe.h says where its probes
 * sit and why). The creation probe's budget is the executable's: its hits
 * are summed in BPF over every process of the binary, so N processes of
 * one service cost at most the budget together, not N times it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "go.skel.h"
#include "leaktrace.h"
#include "go/goruntime.h"
#include "trace/goexe.h"
#include "trace/loader.h"
#include "trace/opts.h"
#include "trace/uprobe_cost.h"
#include "util/clock.h"
#include "util/log.h"

/* What a hit costs inside a busy target, against what leaktrace measures
 * (the mechanism in a tight loop of its own plus lt_go_new's BPF time):
 * on this VM a Go HTTP server under wrk lost ~8.5 us of CPU per hit, and
 * a goroutine churn loop ~9-14 us, where the measured sum was 1.5-1.6 us
 * (cold caches, other threads, the trap path's side effects). */
#define IN_TARGET_FACTOR 6.0

/* Every Go object of the run (a node has a few dozen Go binaries). */
static struct go_exe *exes;

double goexe_now(const struct go_exe *x)
{
	return (double)(lt_mono_ns() - x->t0_ns) / 1e9;
}

bool goexe_leads(const struct go_exe *x, uint32_t id)
{
	return x->nm > 0 && x->m[0].id == id;
}

int goexe_attach(struct go_exe *x, struct bpf_program *prog, pid_t pid,
		 uint64_t offset, struct bpf_link **out)
{
	char file[64];

	/* through our own fd: the path it was opened by may be another
	 * process's /proc/PID/exe, gone when that one exits */
	*out = bpf_program__attach_uprobe(prog, false, pid,
					  go_runtime_file(x->rt, file,
							  sizeof(file)),
					  offset);
	return *out ? 0 : -errno;
}

static int links_add(struct go_links *ls, struct bpf_link *l)
{
	struct bpf_link **v = realloc(ls->v, (ls->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	ls->v = v;
	v[ls->n++] = l;
	return 0;
}

static void links_clear(struct go_links *ls)
{
	struct bpf_link **slots[64];
	int i = 0;

	while (i < ls->n) {	/* at once, 64 at a time */
		size_t n = 0;

		for (; i < ls->n && n < 64; i++)
			slots[n++] = &ls->v[i];
		lt_links_destroy(slots, n);
	}
	ls->n = 0;
}

static void links_free(struct go_links *ls)
{
	links_clear(ls);
	free(ls->v);
	ls->v = NULL;
}

static int attach_add(struct go_exe *x, struct bpf_program *prog, pid_t pid,
		      uint64_t offset, struct go_links *ls)
{
	struct bpf_link *l;
	int err = goexe_attach(x, prog, pid, offset, &l);

	if (!err && (err = links_add(ls, l)))
		bpf_link__destroy(l);
	return err;
}

/* The creation probe for one pid (-1: any): one probe on newproc's
 * runqput call when the code is as expected (a CALL is emulated, its NOP
 * padding not even trapped on 6.18+), else every RET of newproc1 (each
 * single-stepped). All or none. */
static int creation_links(struct go_exe *x, pid_t pid, struct go_links *ls)
{
	struct go_probe_plan *p = &x->plan;
	struct bpf_program *prog = x->skel->progs.lt_go_new;
	int err = 0;

	if (p->newg.found)
		err = attach_add(x, prog, pid, p->newg.offset, ls);
	for (int i = 0; !p->newg.found && i < p->newproc1.nrets && !err; i++)
		err = attach_add(x, prog, pid, p->newproc1.ret_offsets[i], ls);
	if (err) {
		links_clear(ls);
		x->attach_errors++;
	}
	return err;
}

/* gopark entry and RETs, and the exit probe: exact park times, at two
 * uprobe hits per block (ping-pong 3.5M -> 10k ops/s on a VM): only on
 * request. */
static int park_links(struct go_exe *x, pid_t pid, struct go_links *ls)
{
	struct go_probe_plan *p = &x->plan;
	int err;

	err = attach_add(x, x->skel->progs.lt_go_gopark, pid,
			 p->gopark.entry_offset, ls);
	for (int i = 0; i < p->gopark.nrets && !err; i++)
		err = attach_add(x, x->skel->progs.lt_go_gopark_ret, pid,
				 p->gopark.ret_offsets[i], ls);
	if (!err)
		err = attach_add(x, x->skel->progs.lt_go_exit, pid,
				 p->gexit_call.found ? p->gexit_call.offset
						     : p->gexit.entry_offset, ls);
	if (err)
		links_clear(ls);
	return err;
}

static void links_noted(struct go_exe *x)
{
	int n = goexe_nlinks(x);

	if (n > x->links_peak)
		x->links_peak = n;
}

/* The creation probe on, for every process of the executable. One
 * process that cannot be probed (it is exiting) is counted; the others
 * keep theirs. */
static int creation_attach(struct go_exe *x)
{
	int err = 0, ok = 0;

	if (x->new_attached)
		return 0;
	if (x->any_pid) {
		err = creation_links(x, -1, &x->new_any);
		ok = !err;
	} else {
		for (int i = 0; i < x->nm; i++) {
			int e = creation_links(x, x->m[i].pid, &x->m[i].new_links);

			ok += !e;
			if (e)
				err = e;
		}
	}
	if (!ok && x->nm)
		return err;
	x->new_attached = true;
	links_noted(x);
	return 0;
}

static void creation_detach(struct go_exe *x)
{
	links_clear(&x->new_any);
	for (int i = 0; i < x->nm; i++)
		links_clear(&x->m[i].new_links);
	x->new_attached = false;
}

/* The cost of one creation probe hit on this kernel, measured on the
 * instruction the probe sits on. */
static void measure_cost(struct go_exe *x)
{
	enum uprobe_insn kind = UPROBE_ON_RET;
	double c;

	x->probe_insn = "ret";
	if (x->plan.newg.found) {
		kind = x->plan.newg.nop5 ? UPROBE_ON_NOP5 : UPROBE_ON_CALL;
		x->probe_insn = x->plan.newg.nop5 ? "nop5" : "call";
	}
	c = uprobe_cost_measure(x->skel->progs.lt_go_new, kind);
	if (c > 0) {
		/* Our program's own work at a creation (stack walk, record)
		 * comes on top of the mechanism: ~1 us until measured. */
		x->mech_s = c;
		x->cost_s = (c + 1e-6) * IN_TARGET_FACTOR;
		x->cost_measured = true;
	} else {
		x->mech_s = 19e-6;
		x->cost_s = 20e-6;	/* a trap on a VM, the worst we know */
		lt_warn("cannot measure the uprobe cost here (%s): assuming 20 us a hit\n",
			c < 0 ? strerror((int)-c) : "no difference");
	}
}

/* The creation hits a continuous window may take, kept in BPF (the rule
 * is probe_budget's, pb_cap, shared with the allocator probes): counted
 * from the window's first hit; 0 for a duty window. A window's first cap
 * sets its rate mark at half of it. */
static void set_cap(struct go_exe *x, double now)
{
	struct go_bpf__bss *b = x->skel->bss;
	uint64_t allow = pb_cap(&x->pb, now);

	if (x->pb.since != x->cap_since) {
		x->cap_since = x->pb.since;
		b->go_new_mark_ns = 0;
		b->go_new_mark = allow > 1 ? x->pb.hits_at + allow / 2 : 0;
	}
	b->go_new_cap = allow ? x->pb.hits_at + allow : 0;
}

/* A hit past the window's end: the mechanism and lt_go_new's early
 * return, which is what measure_cost timed on our own code, in a target. */
static double late_cost(const struct go_exe *x)
{
	return IN_TARGET_FACTOR * x->mech_s;
}

static int load(struct go_exe *x, const struct lt_opts *o,
		const struct lt_maps *maps)
{
	const struct go_runtime *rt = x->rt;
	struct go_bpf *skel;
	int err;

	skel = x->skel = go_bpf__open();
	if (!skel)
		return -errno;
	/* One process: its pid in rodata (one compare). Several: the
	 * "traced" map, whose flags also say Go's stack switches. */
	skel->rodata->targ_tgid = maps->targ_tgid;
	skel->bss->fp_jumps = true;
	skel->rodata->wakeup_bytes = maps->wakeup_bytes;
	skel->rodata->off_goid = rt->off.goid;
	skel->rodata->off_parent_goid =
		rt->off.parent_goid > 0 ? rt->off.parent_goid : 0;
	skel->rodata->off_g_m = rt->off.m;
	skel->rodata->off_m_curg =
		rt->off.parent_goid > 0 ? 0 : rt->off.m_curg;
	skel->rodata->off_gopc = rt->off.gopc;
	skel->rodata->newg_in_rbx = x->plan.newg.found;
	skel->rodata->track_parks = o->go_parks;
	err = bpf_map__set_max_entries(skel->maps.parked, o->max_goroutines);
	if (err) {
		lt_err("cannot size the Go BPF maps: %s\n", strerror(-err));
		return err;
	}
	/* uprobes are attached here, by their owner, not by the loader */
	return lt_bpf_load(skel->skeleton, maps, "Go", 0);
}

static void destroy(struct go_exe *x)
{
	creation_detach(x);
	links_free(&x->new_any);
	links_free(&x->park_any);
	for (int i = 0; i < x->nm; i++) {
		links_free(&x->m[i].new_links);
		links_free(&x->m[i].park_links);
	}
	free(x->m);
	go_bpf__destroy(x->skel);
	go_probes_free(&x->plan);
	go_runtime_put(x->rt);
	free(x);
}

/* A new object for rt's executable: its own runtime reference, plan,
 * BPF object, cost, and (any_pid) its probes. 1: not probeable (said). */
static int create(struct go_runtime *rt, const struct lt_opts *o,
		  const struct lt_maps *maps, const struct stat *st,
		  struct go_exe **out)
{
	char file[64];
	struct go_exe *x;
	ssize_t n;
	int err;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->dev = st->st_dev;
	x->ino = st->st_ino;
	n = readlink(rt->path, x->name, sizeof(x->name) - 1);
	if (n <= 0)
		snprintf(x->name, sizeof(x->name), "%.255s", rt->path);
	x->t0_ns = lt_mono_ns();
	x->cap_since = -1;
	x->any_pid = o->all && !o->cgroup && !maps->targ_tgid;
	x->parks = o->go_parks;
	/* A reference of its own: it outlives the process that made it. */
	err = go_runtime_get(go_runtime_file(rt, file, sizeof(file)), &x->rt,
			     NULL, 0);
	if (err) {
		free(x);
		return err;
	}
	err = go_probes_plan(x->rt, &x->plan);
	if (err) {
		lt_warn("goroutine tracing is off: runtime functions not found in %s (%s)\n",
			x->name, strerror(-err));
		go_runtime_put(x->rt);
		free(x);
		return 1;
	}
	err = load(x, o, maps);
	if (err)
		goto fail;
	lt_debug("go probes for %s: creation %s, %s\n", x->name,
		 !x->plan.newg.found ? "at newproc1's RETs" :
		 x->plan.newg.nop5 ? "at runqput's NOP padding" : "at the runqput call",
		 x->any_pid ? "once for every process" : "per traced process");
	if (o->go_budget_pct > 0)
		measure_cost(x);
	pb_init(&x->pb, o->go_budget_pct / 100.0, x->cost_s,
		(double)sysconf(_SC_NPROCESSORS_ONLN), 0);
	/* The creation probe goes on at the run loop's first tick, its first
	 * window continuous until measured and capped in BPF like every
	 * other. Not before: a window cut in BPF ends only at a detach (the
	 * target keeps hitting the probe until then, at ~1-3 us a hit), and
	 * no tick detaches during the setup (0.2-0.5 s here, seconds for a
	 * big binary): 87-126k hits past the cap came then at a 1M/s churn,
	 * 2.8 % of a 12 s run. Goroutines created meanwhile are found by the
	 * reads of allgs, and their go statements probed (go.c). */
	if (x->any_pid && x->parks) {
		err = park_links(x, -1, &x->park_any);
		if (err)
			goto fail;
		links_noted(x);
	}
	x->next = exes;
	exes = x;
	*out = x;
	return 0;
fail:
	destroy(x);
	return err;
}

static struct go_exe_member *member_add(struct go_exe *x, pid_t pid,
					uint32_t tgid)
{
	struct go_exe_member *v = realloc(x->m, (x->nm + 1) * sizeof(*v));

	if (!v)
		return NULL;
	x->m = v;
	memset(&v[x->nm], 0, sizeof(v[0]));
	v[x->nm].id = ++x->joined;
	v[x->nm].pid = pid;
	v[x->nm].tgid = tgid;
	return &v[x->nm++];
}

static void unlist(struct go_exe *x)
{
	for (struct go_exe **p = &exes; *p; p = &(*p)->next) {
		if (*p == x) {
			*p = x->next;
			return;
		}
	}
}

int goexe_join(struct go_runtime *rt, const struct lt_opts *o,
	       const struct lt_maps *maps, pid_t pid, uint32_t tgid,
	       struct go_exe **out, uint32_t *id)
{
	struct go_exe_member *m;
	struct go_exe *x;
	struct stat st;
	int err = 0;

	*out = NULL;
	/* the file the probes go on: our fd of it, else its path */
	if (rt->fd >= 0 ? fstat(rt->fd, &st) : stat(rt->path, &st))
		return -errno;
	for (x = exes; x; x = x->next)
		if (x->dev == st.st_dev && x->ino == st.st_ino)
			break;
	if (!x) {
		err = create(rt, o, maps, &st, &x);
		if (err)
			return err;
	}
	m = member_add(x, pid, tgid);
	if (!m) {
		err = -ENOMEM;
		goto fail;
	}
	*id = m->id;
	if (!x->any_pid) {
		if (x->new_attached &&
		    (err = creation_links(x, pid, &m->new_links)))
			goto fail;
		if (x->parks && (err = park_links(x, pid, &m->park_links)))
			goto fail;
		links_noted(x);
	}
	*out = x;
	return 0;
fail:
	if (m)
		goexe_leave(x, *id);
	else if (!x->nm) {
		unlist(x);
		destroy(x);
	}
	return err;
}

void goexe_leave(struct go_exe *x, uint32_t id)
{
	if (!x)
		return;
	for (int i = 0; i < x->nm; i++) {
		if (x->m[i].id != id)
			continue;
		links_free(&x->m[i].new_links);
		links_free(&x->m[i].park_links);
		memmove(&x->m[i], &x->m[i + 1], (x->nm - i - 1) * sizeof(x->m[0]));
		x->nm--;
		break;
	}
	if (x->nm)
		return;
	unlist(x);
	destroy(x);
}

void goexe_tick(struct go_exe *x)
{
	struct go_bpf__bss *b = x->skel->bss;
	uint64_t hits;
	bool cut;
	double now;

	if (x->pb.budget <= 0)
		return;
	now = goexe_now(x);
	/* The program's own time, measured in BPF, replaces the guess. */
	hits = b->go_hits[LT_GO_HIT_NEW];
	if (hits >= 1000)
		x->pb.cost_s = x->cost_s = IN_TARGET_FACTOR * (x->mech_s +
			(double)b->go_new_ns / hits / 1e9);
	/* The program ended the window at its cap: it ends then, for the
	 * budget (its rate: the hits up to then over its length), and the
	 * next window is the shortest. */
	cut = x->pb.on && b->go_new_capped_ns;
	if (cut) {
		double ago = (double)(int64_t)(lt_mono_ns() - b->go_new_capped_ns) / 1e9;
		double at = now - fmax(ago, 0);

		pb_cut(&x->pb, pb_cut_from(hits, x->pb.hits_at, b->go_new_mark,
					   b->go_new_mark_ns, b->go_new_capped_ns, at), at);
		lt_debug("go creation probe: cut by the cap %.1f ms ago, %.1f ms into the window\n",
			 ago * 1e3, (at - x->pb.since) * 1e3);
	}
	if (pb_tick(&x->pb, now, hits)) {
		/* A window's end is also kept in BPF, for when we are late;
		 * it starts once the probe is in (attaching takes time). */
		uint64_t len = x->pb.duty < 1 ? (uint64_t)(x->pb.on_len * 1e9) : 0;

		if (x->pb.on) {
			b->go_new_until_ns = len ? lt_mono_ns() + len + 500000000ULL : 0;
			/* the last window's cap is spent: none until set below */
			b->go_new_cap = 0;
			b->go_new_capped_ns = 0;
			x->late_at = b->go_new_late;
			x->attach_s = 0;
			/* a continuous window is capped while the probe goes
			 * in: the target hits it from the first breakpoint */
			set_cap(x, x->pb.since);
			int err = creation_attach(x);

			if (err == -EACCES || err == -EPERM) {
				/* refused for good (no CAP_SYS_ADMIN: the uprobe
				 * PMU wants it on this kernel): off, said once */
				lt_warn("cannot attach the goroutine creation probe to %s (%s): creation stacks are off; goroutines are still counted and their stacks read (uprobes need CAP_SYS_ADMIN here)\n",
					x->name, strerror(-err));
				x->refused = true;
				x->pb.on = false;
				x->pb.budget = 0;
				b->go_new_until_ns = 1;
			} else if (err) {
				x->pb.on = false;	/* counted; next window */
			} else {
				double t = goexe_now(x);

				x->attach_s = t - x->pb.since;
				x->pb.until += x->attach_s;
				x->pb.since = t;
				set_cap(x, t);
				b->go_new_until_ns = len ? lt_mono_ns() + len : 0;
			}
		} else {
			double t0 = goexe_now(x), secs;
			uint64_t late, late0 = b->go_new_late - x->late_at;

			/* The program stops recording now; unlinking takes a
			 * grace period. */
			b->go_new_until_ns = 1;
			creation_detach(x);
			/* What the target hit past the window's end, while we
			 * were late to see it and while the breakpoints came
			 * out, is counted by the program: paid for at the
			 * mechanism's cost in a target (the program returns at
			 * once: what measure_cost timed), not a guess of one
			 * core for the whole detach (its grace period comes
			 * after the breakpoints are gone: ~10 hits in a 100 ms
			 * detach at 650k creations/s here). */
			late = b->go_new_late - x->late_at;
			secs = x->attach_s + goexe_now(x) - t0;
			if (x->pb.changes == 2)
				x->first_hits = hits;
			pb_overrun_hits(&x->pb, secs, late, late_cost(x));
			lt_debug("go creation probe off at %.3f s: %.0f hits/s, %.2f cores, attach+detach %.0f ms, %llu hits past the window's end (%llu before the detach), next window %.0f ms in %.2f s%s\n",
				 now, x->pb.rate, x->pb.cost_rate, secs * 1e3,
				 (unsigned long long)late, (unsigned long long)late0,
				 x->pb.on_len * 1e3,
				 pb_next(&x->pb, goexe_now(x)), cut ? " (cut by the cap)" : "");
			x->attach_s = 0;
		}
	} else if (x->pb.on) {
		/* Continuous: the cap grows with the window (a duty window
		 * has none: its planned end bounds it). */
		set_cap(x, now);
		/* Back to continuous without a detach (a window measured the
		 * probe cheap, or the first window's end): the end kept in BPF
		 * must go, or the attached probe records nothing from then on
		 * while the report says "continuous" (found by the malloc
		 * tracker, which shares the controller). A cut just handled
		 * goes with it; one not seen yet stays for the next tick. */
		if (x->pb.duty >= 1 && b->go_new_until_ns &&
		    (cut || !b->go_new_capped_ns)) {
			b->go_new_until_ns = 0;
			if (cut) {
				/* the hits past the cut until now, paid for */
				b->go_new_capped_ns = 0;
				pb_overrun_hits(&x->pb, 0, b->go_new_late - x->late_at,
						late_cost(x));
				x->late_at = b->go_new_late;
			}
		}
	}
}

int goexe_nlinks(const struct go_exe *x)
{
	int n = x->new_any.n + x->park_any.n;

	for (int i = 0; i < x->nm; i++)
		n += x->m[i].new_links.n + x->m[i].park_links.n;
	return n;
}

int goexe_count(void)
{
	int n = 0;

	for (struct go_exe *x = exes; x; x = x->next)
		n++;
	return n;
}

struct json_object *goexe_all_json(void)
{
	json_object *arr = json_object_new_array();

	for (struct go_exe *x = exes; x; x = x->next) {
		json_object *o = json_object_new_object(), *pids;

		json_object_object_add(o, "exe", json_object_new_string(x->name));
		json_object_object_add(o, "go_version",
				       json_object_new_string(x->rt->version));
		json_object_object_add(o, "probes_attached", json_object_new_string(
			x->any_pid ? "once, every process" : "per traced process"));
		pids = json_object_new_array();
		for (int i = 0; i < x->nm; i++)
			json_object_array_add(pids, json_object_new_int64(x->m[i].tgid));
		json_object_object_add(o, "pids", pids);
		json_object_object_add(o, "processes_joined", json_object_new_int64(x->joined));
		/* the most at once: a duty-cycled creation probe may be
		 * off when the report is written */
		json_object_object_add(o, "uprobe_links", json_object_new_int64(x->links_peak));
		json_object_object_add(o, "uprobe_links_now", json_object_new_int64(goexe_nlinks(x)));
		json_object_object_add(o, "creation_probe_hits", json_object_new_int64(
			x->skel && x->skel->bss ?
			(int64_t)x->skel->bss->go_hits[LT_GO_HIT_NEW] : 0));
		json_object_array_add(arr, o);
	}
	return arr;
}
