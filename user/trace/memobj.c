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
#include "util/log.h"
#include "mem.skel.h"

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
	bpf_program__set_autoload(m->skel->progs.lt_munmap_exit, !bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_madvise_exit, !bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_munmap_exit_rel, bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_madvise_exit_rel, bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_exec, !bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_exec_rel, bpf_release);
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
		 const struct lt_maps *maps)
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
	if (bpf_program__autoload(m->skel->progs.lt_pages_release))
		m->release_fd = bpf_program__fd(m->skel->progs.lt_pages_release);
	if (bpf_program__autoload(m->skel->progs.lt_pages_move))
		m->move_fd = bpf_program__fd(m->skel->progs.lt_pages_move);
	if (bpf_program__autoload(m->skel->progs.lt_sweep))
		m->sweep_fd = bpf_program__fd(m->skel->progs.lt_sweep);
	return 0;
}

void mem_obj_close(struct mem_obj *m)
{
	if (!m)
		return;
	if (m->skel)
		lt_skel_detach(m->skel->skeleton);
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
