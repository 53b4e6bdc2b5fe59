// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The memory BPF object, one for every target of the run: loading it,
 * the kernel's fault counters read once per collect, and the sweep of
 * released processes' entries. The per-target side is mem.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace/loader.h"
#include "trace/mem.h"
#include "trace/mem_int.h"
#include "trace/uprobe_cost.h"
#include "util/log.h"
#include "mem.skel.h"

static bool is_sys_tp(const struct bpf_program *p)
{
	return !strncmp(bpf_program__section_name(p), "tracepoint/syscalls/", 20);
}

/* The syscall tracepoint programs on (into the skeleton's link slots:
 * detached with the others). 0 or -errno (said). */
static int sys_attach(struct mem_obj *m)
{
	struct bpf_object_skeleton *s = m->skel->skeleton;

	if (m->sys_attached)
		return 0;
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *p = *s->progs[i].prog;
		struct bpf_link *l;

		if (!is_sys_tp(p) || !bpf_program__autoload(p) || *s->progs[i].link)
			continue;
		l = bpf_program__attach(p);
		if (!l) {
			int err = -errno;

			lt_err("cannot attach the memory syscall tracepoints: %s (is tracefs mounted on /sys/kernel/tracing?)\n",
			       strerror(-err));
			return err;
		}
		*s->progs[i].link = l;
	}
	m->sys_attached = true;
	return 0;
}

static struct bpf_program *site_prog(struct mem_bpf *s, enum lt_event_type t,
				     bool release)
{
	switch (t) {
	case LT_EV_MMAP:	return release ? s->progs.lt_mmap_after_rel
					       : s->progs.lt_mmap_after;
	case LT_EV_MUNMAP:	return release ? s->progs.lt_munmap_after_rel
					       : s->progs.lt_munmap_after;
	case LT_EV_MREMAP:	return s->progs.lt_mremap_after;
	case LT_EV_BRK:		return s->progs.lt_brk_after;
	case LT_EV_MADVISE:	return release ? s->progs.lt_madvise_after_rel
					       : s->progs.lt_madvise_after;
	default:		return NULL;
	}
}

/* The sites' links (all of them, now). */
static void sites_detach(struct mem_obj *m)
{
	struct bpf_link **slots[MEMSITES_MAX];

	for (int i = 0; i < m->nulinks; i++)
		slots[i] = &m->ulinks[i];
	lt_links_destroy(slots, m->nulinks);
	m->nulinks = 0;
}

/* The sites' links destroyed on a thread of their own: removing the
 * breakpoints takes the target's mmap lock, which a target busy mapping
 * holds most of the time (1.2 s at 50k mmap+munmap a second here), while
 * its records fill the ring buffer if the main loop waits (143k were
 * lost so). The programs already stand aside (mem_via_uprobes 0);
 * mem_obj_close joins the thread. */
static void sites_detach_later(struct mem_obj *m)
{
	struct bpf_link **slots[MEMSITES_MAX];

	for (int i = 0; i < m->nulinks; i++)
		slots[i] = &m->ulinks[i];
	lt_links_destroy_later(&m->sites_later, slots, m->nulinks);
	m->nulinks = 0;
}

/* Uprobes on the one target's memory syscall sites, in place of the
 * tracepoints. 0; -EDOM with the reason in m->why_tp; -errno (said). */
static int sites_attach(struct mem_obj *m, pid_t pid, bool release)
{
	struct mem_sites *ms = calloc(1, sizeof(*ms));
	int err;

	if (!ms)
		return -ENOMEM;
	err = memsites_find(pid, ms, m->why_tp, sizeof(m->why_tp));
	if (err) {
		if (err != -EDOM)
			snprintf(m->why_tp, sizeof(m->why_tp),
				 "its mapped code could not be read: %s", strerror(-err));
		free(ms);
		return -EDOM;
	}
	/* The probes stand aside until the caller sets mem_via_uprobes. */
	for (int i = 0; i < ms->n; i++) {
		const struct mem_site *st = &ms->s[i];
		struct bpf_link *l;

		l = bpf_program__attach_uprobe(site_prog(m->skel, st->type, release),
					       false, pid, st->path, st->offset);
		if (!l) {
			err = -errno;
			snprintf(m->why_tp, sizeof(m->why_tp),
				 "a probe at %s+0x%llx was refused: %s", st->path,
				 (unsigned long long)st->offset, strerror(-err));
			sites_detach(m);
			free(ms);
			return -EDOM;
		}
		m->ulinks[m->nulinks++] = l;
	}
	m->nsites = ms->n;
	m->nfiles = ms->files;
	m->why_tp[0] = '\0';
	free(ms);
	return 0;
}

/* The syscall tracepoints off (their links in the skeleton's slots), on
 * a thread: ten of them took 0.4 s to detach on this quiet VM, and a main
 * loop held that long reads no records and takes no samples (in CI a
 * 5-second trace's first sample came late and short, and a leak's fit
 * failed). The programs already stand aside: mem_via_uprobes is 1. */
static void sys_detach_later(struct mem_obj *m)
{
	struct bpf_object_skeleton *s = m->skel->skeleton;
	struct bpf_link **slots[32];
	size_t n = 0;

	for (int i = 0; i < s->prog_cnt && n < 32; i++)
		if (is_sys_tp(*s->progs[i].prog) && *s->progs[i].link)
			slots[n++] = s->progs[i].link;
	lt_links_destroy_later(&m->sys_later, slots, n);
	m->sys_attached = false;
}

void mem_progs_release(struct mem_bpf *s, bool bpf_release)
{
	struct bpf_program *plain[] = {
		s->progs.lt_mmap_exit, s->progs.lt_munmap_exit,
		s->progs.lt_madvise_exit, s->progs.lt_mmap_after,
		s->progs.lt_munmap_after, s->progs.lt_madvise_after,
		s->progs.lt_exec,
	};
	struct bpf_program *rel[] = {
		s->progs.lt_mmap_exit_rel, s->progs.lt_munmap_exit_rel,
		s->progs.lt_madvise_exit_rel, s->progs.lt_mmap_after_rel,
		s->progs.lt_munmap_after_rel, s->progs.lt_madvise_after_rel,
		s->progs.lt_exec_rel,
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		bpf_program__set_autoload(plain[i], !bpf_release);
		bpf_program__set_autoload(rel[i], bpf_release);
	}
}

/* Opens, sizes, sets and loads the memory object. page_progs: with the
 * syscall programs that edit the page map for user space (flags: of
 * lt_bpf_load). */
static int mem_load(struct mem_obj *m, const struct lt_opts *o,
		    const struct lt_maps *maps, bool bpf_release,
		    bool page_progs, unsigned int flags)
{
	int err;

	m->skel = mem_bpf__open();
	if (!m->skel) {
		err = -errno;
		lt_err("cannot open the memory BPF programs: %s\n", strerror(-err));
		return err;
	}
	LT_BPF_COMMON_RODATA(m->skel, maps);
	m->skel->rodata->ucopy_bytes = o->stack_copy_kb << 10;
	m->skel->rodata->fault_sample = o->fault_sample;
	/* Chunks: room for max_pages touched pages even when only one page
	 * in 16 of a chunk is touched (thread stacks, sparse heaps). */
	if ((err = bpf_map__set_max_entries(m->skel->maps.pages,
			(o->max_pages >> 4) ? o->max_pages >> 4 : 1)) ||
	    (err = bpf_map__set_max_entries(m->skel->maps.fault_stats,
					    o->max_fault_stacks)) ||
	    (err = bpf_map__set_max_entries(m->skel->maps.sys_args,
					    maps->targ_tgid ? 16384 : 65536))) {
		lt_err("cannot size BPF maps: %s\n", strerror(-err));
		return err;
	}
	mem_progs_release(m->skel, bpf_release);
	/* The syscall tracepoints are attached by mem_obj_open, when the
	 * target's own syscall sites cannot stand for them. */
	for (int i = 0; i < m->skel->skeleton->prog_cnt; i++) {
		struct bpf_program *p = *m->skel->skeleton->progs[i].prog;

		if (is_sys_tp(p))
			bpf_program__set_autoattach(p, false);
	}
	bpf_program__set_autoload(m->skel->progs.lt_pages_release, page_progs);
	bpf_program__set_autoload(m->skel->progs.lt_pages_move, page_progs);
	bpf_program__set_autoload(m->skel->progs.lt_sweep, page_progs);
	return lt_bpf_load(m->skel->skeleton, maps, "memory", flags);
}

/* Forgets the target's chunks and fault counters in the shared maps (its
 * state is released: the process exited). */
static void forget_kernel_state(struct mem_bpf *skel, uint32_t tgid)
{
	int fd = bpf_map__fd(skel->maps.pages);
	struct lt_fault_key fk, fnext;
	uint64_t key, next;
	bool have;

	have = !bpf_map_get_next_key(fd, NULL, &key);
	while (have) {
		have = !bpf_map_get_next_key(fd, &key, &next);
		if (LT_TGID_OF_KEY(key) == tgid)
			bpf_map_delete_elem(fd, &key);
		key = next;
	}
	fd = bpf_map__fd(skel->maps.fault_stats);
	have = !bpf_map_get_next_key(fd, NULL, &fk);
	while (have) {
		have = !bpf_map_get_next_key(fd, &fk, &fnext);
		if (fk.tgid == tgid)
			bpf_map_delete_elem(fd, &fk);
		fk = fnext;
	}
}

int mem_obj_open(struct mem_obj **out, const struct lt_opts *o,
		 const struct lt_maps *maps, const char *why_tracepoints)
{
	struct mem_obj *m;
	bool bpf_release;
	int err;

	*out = m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->release_fd = m->move_fd = m->sweep_fd = -1;
	/* Releases in BPF where bpf_loop exists (5.17+): small ranges at the
	 * syscall's exit, the rest asked by user space of the syscall
	 * programs. Before that user space edits the page map itself, and
	 * also when this kernel refuses the syscall programs (said). */
	bpf_release = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
					      BPF_FUNC_loop, NULL) == 1;
	err = mem_load(m, o, maps, bpf_release, bpf_release,
		       LT_LOAD_ATTACH | (bpf_release ? LT_LOAD_QUIET : 0));
	if (err && bpf_release && m->skel) {
		mem_bpf__destroy(m->skel);
		m->skel = NULL;
		err = mem_load(m, o, maps, true, false, LT_LOAD_ATTACH);
		if (!err)
			lt_warn("this kernel refused the page-map programs: user space edits the page map, racing with the fault program (a page first touched meanwhile may be missed)\n");
	}
	if (err)
		return err;
	m->switched_at = m->sites_from = -1;
	m->bpf_release = bpf_release;
	snprintf(m->why_tp, sizeof(m->why_tp), "%s", why_tracepoints);
	if ((err = sys_attach(m)))	/* the sites come later, if at all */
		return err;
	if (bpf_program__autoload(m->skel->progs.lt_pages_release))
		m->release_fd = bpf_program__fd(m->skel->progs.lt_pages_release);
	if (bpf_program__autoload(m->skel->progs.lt_pages_move))
		m->move_fd = bpf_program__fd(m->skel->progs.lt_pages_move);
	if (bpf_program__autoload(m->skel->progs.lt_sweep))
		m->sweep_fd = bpf_program__fd(m->skel->progs.lt_sweep);
	return 0;
}

/* The syscall sites' probes may cost the target this share of a core;
 * below SITES_MEASURE_RATE hits a second they cannot (20 us a hit, two
 * traps, is the most seen here) and their cost is not measured; above
 * SITES_BUDGET / SITES_COST_FLOOR (a hit costs ~1 us on bare metal) they
 * are over it whatever a hit costs, and measuring (~0.1 s of the main
 * loop, while the records of a busy target fill the ring buffer: 66k
 * were lost so at 52k hits a second) is skipped. */
#define SITES_BUDGET 0.01
#define SITES_MEASURE_RATE 200.0
#define SITES_COST_UNMEASURED 20e-6
#define SITES_COST_FLOOR 1e-6
/* The rate over this much time at least (called at every tick: a target
 * churning mappings pays ~30 us a call until the switch; checked once a
 * second, pagetouch's churn ran at 0.545x of untraced, 0.635x with the
 * tracepoints from the start). */
#define SITES_RATE_SPAN 0.1

/* Whether rate memory calls a second, each a site hit, cost the target
 * more than the budget; why says so. */
static bool over_budget(struct mem_obj *m, double rate, char *why, size_t len)
{
	if (rate < SITES_MEASURE_RATE)
		return false;
	/* The probed instruction (a cmp or a mov after the syscall) is
	 * stepped out of line: two traps, like a RET. */
	if (!m->hit_cost && rate * SITES_COST_FLOOR <= SITES_BUDGET) {
		m->hit_cost = uprobe_cost_measure(m->skel->progs.lt_mmap_after,
						  UPROBE_ON_RET);
		if (m->hit_cost <= 0)
			m->hit_cost = SITES_COST_UNMEASURED;
	}
	if (m->hit_cost && rate * m->hit_cost <= SITES_BUDGET)
		return false;
	if (m->hit_cost)
		snprintf(why, len, "%.0f memory calls a second, at %.1f us a syscall-site hit: %.1f %% of a core, over the %.0f %% budget",
			 rate, m->hit_cost * 1e6, rate * m->hit_cost * 100, SITES_BUDGET * 100);
	else
		snprintf(why, len, "%.0f memory calls a second: at 1 us a syscall-site hit or more, over the %.0f %% budget",
			 rate, SITES_BUDGET * 100);
	return true;
}

void mem_obj_sites_budget(struct mem_obj *m, double now_s)
{
	uint64_t hits;
	double rate;
	char why[200];

	if (!m || !m->via_uprobes || !m->skel->bss)
		return;
	hits = m->skel->bss->site_hits;
	if (m->hits_t <= 0) {
		m->hits_last = hits;
		m->hits_t = now_s;
		return;
	}
	if (now_s - m->hits_t < SITES_RATE_SPAN)
		return;
	rate = (double)(hits - m->hits_last) / (now_s - m->hits_t);
	m->hits_last = hits;
	m->hits_t = now_s;
	if (!over_budget(m, rate, why, sizeof(why)))
		return;
	lt_info("memory calls: %s; the syscall tracepoints from now on\n", why);
	mem_obj_to_tracepoints(m, now_s, why);
}

int mem_obj_to_sites(struct mem_obj *m, pid_t pid, double at_s, double rate)
{
	if (!m || m->via_uprobes || m->switched_at >= 0)
		return 0;
	if (over_budget(m, rate, m->why_tp, sizeof(m->why_tp))) {
		lt_info("memory calls: the syscall tracepoints stay (%s)\n", m->why_tp);
		return -EDOM;
	}
	if (sites_attach(m, pid, m->bpf_release)) {
		lt_info("memory calls: the syscall tracepoints stay (%s)\n", m->why_tp);
		return -EDOM;
	}
	/* The uprobes first (they stand aside until the flag says), then
	 * the switch: a call the tracepoints saw at its exit just before
	 * may be seen once more at its site (adding or removing a range
	 * twice changes nothing), none is missed. */
	m->skel->bss->mem_via_uprobes = 1;
	m->via_uprobes = true;
	m->sites_from = at_s;
	sys_detach_later(m);
	lt_info("memory calls: probed at %d syscall sites in %d files of process %d from %.1f s\n",
		m->nsites, m->nfiles, (int)pid, at_s);
	return 0;
}

int mem_obj_to_tracepoints(struct mem_obj *m, double at_s, const char *why)
{
	int err;

	if (!m)
		return 0;
	if (!m->via_uprobes) {		/* already: the reason, if none yet */
		if (!m->why_tp[0])
			snprintf(m->why_tp, sizeof(m->why_tp), "%s", why);
		return 0;
	}
	/* Tracepoints first (they stand aside while the flag is set), then
	 * the switch: a call in flight then may miss its entry (counted as
	 * an argument miss), none is seen twice. */
	err = sys_attach(m);
	if (err)
		return err;
	m->skel->bss->mem_via_uprobes = 0;
	sites_detach_later(m);
	m->via_uprobes = false;
	m->switched_at = at_s;
	snprintf(m->why_tp, sizeof(m->why_tp), "%s", why);
	return 0;
}

void mem_obj_probes(const struct mem_obj *m, struct mem_probes_info *out)
{
	memset(out, 0, sizeof(*out));
	out->switched_at = out->sites_from = -1;
	out->why_tracepoints = "";
	if (!m)
		return;
	out->via_uprobes = m->via_uprobes;
	out->sites = m->nsites;
	out->files = m->nfiles;
	out->why_tracepoints = m->why_tp;
	out->switched_at = m->switched_at;
	out->sites_from = m->sites_from;
}

void mem_obj_close(struct mem_obj *m)
{
	if (!m)
		return;
	lt_links_join(&m->sys_later);
	lt_links_join(&m->sites_later);
	if (m->skel)
		lt_skel_detach_with(m->skel->skeleton, m->ulinks, m->nulinks);
	m->nulinks = 0;
	mem_bpf__destroy(m->skel);
	free(m->snap);
	free(m->gone);
	free(m);
}

static int by_tgid(const void *a, const void *b)
{
	const struct fault_entry *x = a, *y = b;

	if (x->k.tgid != y->k.tgid)
		return x->k.tgid < y->k.tgid ? -1 : 1;
	return x->k.sid < y->k.sid ? -1 : x->k.sid > y->k.sid;
}

static int snap_room(struct mem_obj *m, size_t n)
{
	struct fault_entry *v;
	size_t cap;

	if (n <= m->snap_cap)
		return 0;
	cap = m->snap_cap ? m->snap_cap * 2 : 1024;
	while (cap < n)
		cap *= 2;
	v = realloc(m->snap, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->snap = v;
	m->snap_cap = cap;
	return 0;
}

/* Entry by entry (kernels without batch lookups). */
static void snapshot_walk(struct mem_obj *m, int fd)
{
	struct lt_fault_key k, next;
	bool have = !bpf_map_get_next_key(fd, NULL, &k);

	while (have) {
		have = !bpf_map_get_next_key(fd, &k, &next);
		if (snap_room(m, m->nsnap + 1))
			return;
		m->snap[m->nsnap].k = k;
		if (!bpf_map_lookup_elem(fd, &k, &m->snap[m->nsnap].v))
			m->nsnap++;
		k = next;
	}
}

#define SNAP_BATCH 4096

void mem_obj_snapshot(struct mem_obj *m)
{
	struct lt_fault_key keys[SNAP_BATCH];
	struct lt_fault_stat vals[SNAP_BATCH];
	int fd;
	__u64 in = 0, out = 0;
	bool first = true;

	if (!m || !m->skel)
		return;
	fd = bpf_map__fd(m->skel->maps.fault_stats);
	m->nsnap = 0;
	/* A few syscalls for the whole map, not two per entry (with many
	 * processes the per-target walks were most of leaktrace's CPU). */
	for (;;) {
		__u32 n = SNAP_BATCH;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys,
					       vals, &n, NULL);

		if (err && errno != ENOENT) {
			m->nsnap = 0;
			snapshot_walk(m, fd);
			break;
		}
		if (snap_room(m, m->nsnap + n))
			break;
		for (__u32 i = 0; i < n; i++) {
			m->snap[m->nsnap].k = keys[i];
			m->snap[m->nsnap].v = vals[i];
			m->nsnap++;
		}
		if (err)	/* ENOENT: the last batch */
			break;
		in = out;
		first = false;
	}
	qsort(m->snap, m->nsnap, sizeof(*m->snap), by_tgid);
}

/* The released processes' chunks and counters: one BPF pass over each
 * map (lt_sweep), else entry by entry here (old kernels). */
void mem_obj_sweep(struct mem_obj *m)
{
	__u8 one = 1;

	if (!m || !m->skel || !m->ngone)
		return;
	if (m->sweep_fd >= 0) {
		int gfd = bpf_map__fd(m->skel->maps.gone);
		LIBBPF_OPTS(bpf_test_run_opts, o);

		for (size_t i = 0; i < m->ngone; i++)
			bpf_map_update_elem(gfd, &m->gone[i], &one, BPF_ANY);
		bpf_prog_test_run_opts(m->sweep_fd, &o);
		for (size_t i = 0; i < m->ngone; i++)
			bpf_map_delete_elem(gfd, &m->gone[i]);
	} else {
		for (size_t i = 0; i < m->ngone; i++)
			forget_kernel_state(m->skel, m->gone[i]);
	}
	m->ngone = 0;
}

void mem_obj_set_go(struct mem_obj *m, bool go)
{
	if (m)
		LT_BPF_FP_JUMPS(m->skel, go);
}

void mem_obj_stop(struct mem_obj *m)
{
	if (m && m->skel && m->skel->bss)
		m->skel->bss->lt_stop = 1;
}

void mem_obj_drops(const struct mem_obj *m, uint64_t *out)
{
	if (!m || !m->skel || !m->skel->bss)
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += m->skel->bss->drops[i];
}

void mem_obj_forget(struct mem_obj *o, uint32_t tgid)
{
	if (o->ngone == o->gone_cap) {
		size_t cap = o->gone_cap ? o->gone_cap * 2 : 64;
		uint32_t *v = realloc(o->gone, cap * sizeof(*v));

		if (v) {
			o->gone = v;
			o->gone_cap = cap;
		}
	}
	if (o->ngone < o->gone_cap)
		o->gone[o->ngone++] = tgid;
	else
		forget_kernel_state(o->skel, tgid);
}

const struct fault_entry *mem_obj_faults(const struct mem_obj *o, uint32_t tgid,
					 size_t *n)
{
	size_t lo = 0, hi = o->nsnap, e;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->snap[mid].k.tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (e = lo; e < o->nsnap && o->snap[e].k.tgid == tgid; e++)
		;
	*n = e - lo;
	return o->snap + lo;
}
