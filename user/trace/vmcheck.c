// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The address space as the calls seen say it is, against the kernel's
 * (vmcheck.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procmaps.h"
#include "proc/procstat.h"
#include "trace/ranges.h"
#include "trace/vmcheck.h"

#define PAGE_UP(x) (((x) + 4095ULL) & ~4095ULL)

struct vmcheck {
	struct ranges *r;		/* mapped, the break's area apart */
	uint64_t heap_lo, heap_hi;	/* [start_brk, break) */
	bool on, reseed;
	bool have_base;
	int64_t base;			/* VmSize - seen when they last
					 * agreed: the kernel's own mappings */
	bool pending;			/* a range differed at the last check */
	uint64_t p_start, p_end;
	bool p_mapped;
};

struct vmcheck *vmcheck_new(void)
{
	struct vmcheck *v = calloc(1, sizeof(*v));

	if (v && !(v->r = ranges_new())) {
		free(v);
		return NULL;
	}
	return v;
}

void vmcheck_free(struct vmcheck *v)
{
	if (!v)
		return;
	ranges_free(v->r);
	free(v);
}

/* Mappings no call makes: the main stack grows by faults, the kernel adds
 * [uprobes] at a probe's first hit (ours) and [uprobes-trampoline] where it
 * optimizes one (6.18+), [vsyscall] is not a mapping of the process; the
 * break's area is followed apart. */
static bool not_by_calls(const struct map_entry *e)
{
	return !strcmp(e->path, "[stack]") || !strncmp(e->path, "[uprobes", 8) ||
	       !strcmp(e->path, "[vsyscall]") || !strcmp(e->path, "[heap]");
}

static int read_maps(int pid, struct ranges **out, struct map_entry **m,
		     size_t *n)
{
	struct ranges *r;
	int err = procmaps_read(pid, m, n);

	if (err)
		return err;
	r = ranges_new();
	if (!r) {
		procmaps_free(*m, *n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++)
		if (!not_by_calls(&(*m)[i]))
			ranges_add(r, (*m)[i].start, (*m)[i].end, 0, NULL, NULL);
	*out = r;
	return 0;
}

int vmcheck_seed(struct vmcheck *v, int pid)
{
	struct map_entry *m;
	struct ranges *r;
	uint64_t start_brk = 0, cur_brk = 0;
	size_t n;
	int err;

	v->on = false;
	v->reseed = false;
	v->have_base = false;
	v->pending = false;
	err = procstat_start_brk(pid, &start_brk, &cur_brk);
	if (err)
		return err;
	err = read_maps(pid, &r, &m, &n);
	if (err)
		return err;
	procmaps_free(m, n);
	ranges_free(v->r);
	v->r = r;
	v->heap_lo = start_brk;
	v->heap_hi = PAGE_UP(cur_brk) > start_brk ? PAGE_UP(cur_brk) : start_brk;
	v->on = true;
	return 0;
}

void vmcheck_map(struct vmcheck *v, uint64_t addr, uint64_t len)
{
	if (v && len)
		ranges_add(v->r, addr, addr + len, 0, NULL, NULL);
}

void vmcheck_unmap(struct vmcheck *v, uint64_t addr, uint64_t len)
{
	if (v && len)
		ranges_remove(v->r, addr, addr + len, NULL, NULL);
}

void vmcheck_remap(struct vmcheck *v, uint64_t old, uint64_t old_len,
		   uint64_t new_addr, uint64_t new_len)
{
	if (v)
		ranges_remap(v->r, old, old_len, new_addr, new_len, 0, NULL, NULL);
}

void vmcheck_brk(struct vmcheck *v, uint64_t brk)
{
	if (v && v->heap_lo && brk >= v->heap_lo)
		v->heap_hi = PAGE_UP(brk);
}

void vmcheck_exec(struct vmcheck *v)
{
	if (v && v->on)
		v->reseed = true;
}

static uint64_t seen_bytes(const struct vmcheck *v)
{
	return ranges_total(v->r) + (v->heap_hi - v->heap_lo);
}

struct spans {
	uint64_t (*v)[2];
	size_t n, cap;
	bool failed;
};

static void collect(void *c, uint32_t tag, uint64_t start, uint64_t end)
{
	struct spans *s = c;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, cap * sizeof(*s->v));

		if (!p) {
			s->failed = true;
			return;
		}
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n][0] = start;
	s->v[s->n++][1] = end;
}

/* a minus b, in place (a's ranges that b lacks). */
static int subtract(struct ranges *a, const struct ranges *b)
{
	struct spans s = { 0 };

	ranges_foreach(b, collect, &s);
	for (size_t i = 0; i < s.n; i++)
		ranges_remove(a, s.v[i][0], s.v[i][1], NULL, NULL);
	free(s.v);
	return s.failed ? -ENOMEM : 0;
}

/* A copy of r (tags dropped). */
static struct ranges *copy(const struct ranges *r)
{
	struct ranges *c = ranges_new();
	struct spans s = { 0 };

	if (!c)
		return NULL;
	ranges_foreach(r, collect, &s);
	for (size_t i = 0; i < s.n; i++)
		ranges_add(c, s.v[i][0], s.v[i][1], 0, NULL, NULL);
	free(s.v);
	if (s.failed) {
		ranges_free(c);
		return NULL;
	}
	return c;
}

struct first {
	uint64_t start, end;
};

static void take_first(void *c, uint32_t tag, uint64_t start, uint64_t end)
{
	struct first *f = c;

	if (!f->end) {
		f->start = start;
		f->end = end;
	}
}

/* The lowest range of r, {0, 0} when empty. */
static struct first first_of(const struct ranges *r)
{
	struct first f = { 0, 0 };

	ranges_foreach(r, take_first, &f);
	return f;
}

/* Whether r holds every byte of [start, end). */
static bool covers(const struct ranges *r, uint64_t start, uint64_t end)
{
	uint64_t s, e;

	while (start < end) {
		if (!ranges_find(r, start, NULL, &s, &e) || e <= start)
			return false;
		start = e;
	}
	return true;
}

int vmcheck_check(struct vmcheck *v, int pid, uint64_t vm_bytes,
		  struct vm_miss *miss)
{
	struct ranges *k = NULL, *missing = NULL, *extra = NULL;
	struct map_entry *m = NULL;
	size_t n = 0;
	int ret = 0;

	if (!v || !v->on || !vm_bytes)
		return 0;
	if (v->reseed) {
		vmcheck_seed(v, pid);
		return 0;
	}
	if (v->have_base && (int64_t)vm_bytes - (int64_t)seen_bytes(v) == v->base) {
		v->pending = false;
		return 0;
	}
	if (read_maps(pid, &k, &m, &n))
		return 0;
	missing = copy(k);
	extra = copy(v->r);
	if (!missing || !extra || subtract(missing, v->r) || subtract(extra, k))
		goto out;
	/* The break's area: the kernel's [heap] lines against the calls'. */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].path, "[heap]")) {
			if (m[i].end > v->heap_hi && m[i].start >= v->heap_lo)
				ranges_add(missing, m[i].start > v->heap_hi ?
					   m[i].start : v->heap_hi, m[i].end, 0,
					   NULL, NULL);
		}
	if (!ranges_total(missing) && !ranges_total(extra)) {
		v->base = (int64_t)vm_bytes - (int64_t)seen_bytes(v);
		v->have_base = true;
		v->pending = false;
		goto out;
	}
	if (!v->pending || !covers(v->p_mapped ? missing : extra, v->p_start,
				   v->p_end)) {
		/* Maybe a record still in flight: again at the next check. */
		struct first mf = first_of(missing), xf = first_of(extra);
		bool mapped = mf.end && (!xf.end || mf.start < xf.start);

		v->pending = true;
		v->p_start = mapped ? mf.start : xf.start;
		v->p_end = mapped ? mf.end : xf.end;
		v->p_mapped = mapped;
		goto out;
	}
	memset(miss, 0, sizeof(*miss));
	miss->start = v->p_start;
	miss->end = v->p_end;
	miss->mapped = v->p_mapped;
	miss->mapped_bytes = ranges_total(missing);
	miss->unmapped_bytes = ranges_total(extra);
	if (miss->mapped) {
		const struct map_entry *e = procmaps_find(m, n, miss->start);

		if (e && e->path[0] == '/')
			snprintf(miss->path, sizeof(miss->path), "%s", e->path);
	}
	/* The kernel's view from here on. */
	ranges_free(v->r);
	v->r = k;
	k = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].path, "[heap]") && m[i].end > v->heap_hi)
			v->heap_hi = m[i].end;
	v->pending = false;
	v->have_base = false;
	ret = 1;
out:
	ranges_free(missing);
	ranges_free(extra);
	ranges_free(k);
	procmaps_free(m, n);
	return ret;
}
