// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "util/log.h"
#include "stack/stacks.h"
#include "sym/funcnames.h"
#include "sym/symbolize.h"

#define MAX_INLINE 8
/* Frames kept from a CFI unwind (physical frames). */
#define MAX_UNWIND 128
/* Ids of CFI-unwound stacks: a hash of their pcs with this bit set. */
#define UNWOUND_ID (1ULL << 63)

void stacks_init(struct stacks *s, int map_fd, struct symbolizer *sym)
{
	memset(s, 0, sizeof(*s));
	s->map_fd = map_fd;
	s->sym = sym;
	u64map_init(&s->index);
	u64map_init(&s->sites);
	u64map_init(&s->need);
	s->copy_max = LT_UCOPY_DEF_KB << 10;
}

void stacks_free(struct stacks *s)
{
	for (size_t i = 0; i < s->nres; i++)
		free(s->res[i].frames);
	free(s->res);
	u64map_free(&s->index);
	u64map_free(&s->sites);
	u64map_free(&s->need);
}

int stacks_symbolize(struct symbolizer *sym, uint64_t addr, bool is_return,
		     struct frame *out, int max)
{
	if (max < 1)
		return 0;
	return symbolize(sym, addr, is_return, out,
			 max < MAX_INLINE ? max : MAX_INLINE);
}

static int push_frames(struct stacks *s, struct frame *out, int n, int max,
		       uint64_t addr, bool is_return)
{
	return n + stacks_symbolize(s->sym, addr, is_return, out + n, max - n);
}

/* Physical (outermost inlined) function containing addr, or NULL. */
static const char *function_of(struct stacks *s, uint64_t addr,
			       const char **module)
{
	struct frame sf[MAX_INLINE];
	int n = symbolize(s->sym, addr, false, sf, MAX_INLINE);

	*module = n > 0 ? sf[n - 1].module : NULL;
	return n > 0 ? sf[n - 1].function : NULL;
}

/* The word at SP is the caller's return address only while the function
 * at IP has pushed nothing: then it follows a call, and a direct call's
 * target is that very function (or a PLT stub in another module). A stale
 * return address left in a frame fails the target check. */
static bool sp_word_is_caller(struct stacks *s, uint64_t ip, uint64_t word)
{
	const char *fn_ip, *fn_target, *mod_ip, *mod_target;
	uint64_t target;

	if (!symbolizer_is_return_addr(s->sym, word))
		return false;
	if (!symbolizer_call_target(s->sym, word, &target))
		return true;	/* indirect call: cannot tell */
	fn_ip = function_of(s, ip, &mod_ip);
	fn_target = function_of(s, target, &mod_target);
	if (!fn_ip || !fn_target || mod_ip != mod_target)
		return true;	/* through a PLT stub, or unnamed code */
	return !strcmp(fn_ip, fn_target);
}

/* A walk takes room for every inlined frame of the deepest stack (50 KB);
 * the stack keeps what it uses (a node's thousands of stacks held 76 MB of
 * room). */
static struct frame *fit_frames(struct frame *f, int n, int max)
{
	struct frame *fit;

	if (n <= 0 || n >= max)
		return f;
	fit = realloc(f, n * sizeof(*f));
	return fit ? fit : f;
}

static int resolve(struct stacks *s, const struct lt_stack *st,
		   struct resolved_stack *r)
{
	int max = (LT_MAX_STACK + 1) * MAX_INLINE, n = 0, before;
	struct frame *f = calloc(max, sizeof(*f));
	uint32_t nr = st->nr < LT_MAX_STACK ? st->nr : LT_MAX_STACK;
	bool cut = false;

	if (!f)
		return -ENOMEM;
	for (uint32_t i = 0; i < nr; i++) {
		uint64_t ip = st->ips[i];

		if (!ip)
			continue;
		/* ips[1] is the word at SP: a return address only when the
		 * event hit a function before it pushed a frame. */
		if (i == 1 && ((nr > 2 && ip == st->ips[2]) ||
			       !sp_word_is_caller(s, st->ips[0], ip)))
			continue;
		/* Through code without frame pointers the walk reads data
		 * words: a real return address follows a call. */
		if (i >= 2 && !symbolizer_is_return_addr(s->sym, ip)) {
			const char *mod, *fn = function_of(s, ip - 1, &mod);

			/* Go starts goroutines with runtime.goexit as a return
			 * address no call precedes: a root, not a cut. */
			if (fn_is_stack_root(fn))
				n = push_frames(s, f, n, max, ip, true);
			else
				cut = true;
			break;
		}
		before = n;
		n = push_frames(s, f, n, max, ip, i > 0);
		/* Outside every mapping: the frame-pointer walk went through
		 * code without frame pointers and read a data word. */
		if (n > before && !f[before].module) {
			n = before;
			cut = true;
			break;
		}
	}
	r->frames = fit_frames(f, n, max);
	r->n = n;
	r->truncated = cut || (n > 0 && !(st->flags & LT_STACK_FULL) &&
			       !fn_is_stack_root(f[n - 1].function));
	if (r->truncated)
		s->truncated++;
	return 0;
}

static int add_resolved(struct stacks *s, uint64_t id,
			const struct resolved_stack *r)
{
	if (s->nres == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct resolved_stack *n = realloc(s->res, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->res = n;
		s->cap = cap;
	}
	if (u64map_put(&s->index, id, s->nres + 1))
		return -ENOMEM;
	s->res[s->nres++] = *r;
	return 0;
}

const struct resolved_stack *stacks_resolve(struct stacks *s, uint64_t id)
{
	static const struct resolved_stack unknown;
	struct resolved_stack r = {};
	struct lt_stack st;
	uint64_t idx;

	if (!id)
		return &unknown;
	if (u64map_get(&s->index, id, &idx))
		return &s->res[idx - 1];
	if (bpf_map_lookup_elem(s->map_fd, &id, &st)) {
		s->missing++;
		return &unknown;
	}
	if (resolve(s, &st, &r))
		return &unknown;
	if (add_resolved(s, id, &r)) {
		free(r.frames);
		return &unknown;
	}
	/* Cached here now: free the slot for new stacks. */
	bpf_map_delete_elem(s->map_fd, &id);
	return &s->res[s->nres - 1];
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int physical_frames(const struct resolved_stack *r)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += !r->frames[i].inlined;
	return n;
}

/* Frames for CFI-unwound pcs (pcs[0] the event's own IP). */
static int resolve_pcs(struct stacks *s, const uint64_t *pcs, int npcs,
		       enum unw_end end, struct resolved_stack *r)
{
	int max = npcs * MAX_INLINE, n = 0;
	struct frame *f = calloc(max ? max : 1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	bool cut = false;

	for (int i = 0; i < npcs && !cut; i++) {
		int before = n;

		n = push_frames(s, f, n, max, pcs[i], i > 0);
		if (n > before && !f[before].module) {
			n = before;	/* a data word, not code */
			cut = true;
		} else if (n > before && fn_is_stack_switch(f[n - 1].function)) {
			/* cgo: the Go caller is on the goroutine's stack, not
			 * in the copy of the system stack. Stop, say so. */
			cut = true;
		}
	}
	r->frames = fit_frames(f, n, max);
	r->n = n;
	r->truncated = cut || (end != UNW_END_OUTERMOST &&
			       !(n > 0 && fn_is_stack_root(f[n - 1].function)));
	if (r->truncated)
		s->truncated++;
	return 0;
}

/* Slack over what an unwind read: locals of a deeper call path. */
#define COPY_SLACK 512

static void set_need(struct stacks *s, int need_fd, uint64_t stack_id,
		     uint32_t need)
{
	uint64_t cur;

	if (u64map_get(&s->need, stack_id, &cur) && cur == need)
		return;
	u64map_put(&s->need, stack_id, need);
	if (need_fd >= 0)
		bpf_map_update_elem(need_fd, &stack_id, &need, BPF_ANY);
}

/* What the next copy of stack_id should hold after an unwind that read
 * used bytes of a len-byte copy and ended by end. */
static void learn_need(struct stacks *s, int need_fd, uint64_t stack_id,
		       enum unw_end end, size_t used, uint32_t len)
{
	uint64_t cur = 0;
	bool known = u64map_get(&s->need, stack_id, &cur);
	uint64_t want;

	if (end == UNW_END_OUTERMOST) {
		/* The largest of the paths seen, rounded up to 512 bytes. */
		want = (used + COPY_SLACK + 511) & ~511ULL;
		if (known && cur > want)
			want = cur;
		if (want < s->copy_max)
			set_need(s, need_fd, stack_id, want);
	} else if (end == UNW_END_COPY && known && len < s->copy_max) {
		/* A deeper path than the size learned so far: grow. */
		want = (uint64_t)len * 2 < s->copy_max ? (uint64_t)len * 2
						       : s->copy_max;
		s->uw.copy_grown++;
		set_need(s, need_fd, stack_id, want);
	}
}

uint64_t stacks_event_id(struct stacks *s, int need_fd, uint64_t stack_id,
			 const void *copy, uint32_t copy_bytes)
{
	const struct lt_ucopy *c = copy;
	const struct resolved_stack *fp;
	struct resolved_stack r;
	struct unw_regs regs;
	uint64_t pcs[MAX_UNWIND], h = 0xcbf29ce484222325ULL, idx, t0, dt;
	enum unw_end end;
	size_t used = 0;
	int n, fpf;

	if (!copy_bytes || !stack_id)
		return stack_id;
	if (copy_bytes < sizeof(*c) || c->len > copy_bytes - sizeof(*c)) {
		s->uw.bad_copy++;
		return stack_id;
	}
	s->uw.copies++;
	s->uw.copy_bytes += c->len;
	fp = stacks_resolve(s, stack_id);
	if (!fp->truncated && fp->n > 0) {
		s->uw.fp_complete++;
		set_need(s, need_fd, stack_id, 0);
		return stack_id;
	}
	regs.ip = c->ip;
	regs.sp = c->sp;
	regs.fp = c->fp;
	regs.lr = c->lr;
	t0 = mono_ns();
	n = unwind_stack(s->sym, &regs, (const uint8_t *)(c + 1), c->len, pcs,
			 MAX_UNWIND, &end, &fpf, &used);
	dt = mono_ns() - t0;
	s->uw.unwind_ns += dt;
	if (dt > s->uw.max_unwind_ns)
		s->uw.max_unwind_ns = dt;
	s->uw.end[end]++;
	learn_need(s, need_fd, stack_id, end, used, c->len);
	s->uw.frames += n;
	s->uw.fp_frames += fpf;
	if (lt_verbosity >= 2) {
		struct frame sf;

		symbolize(s->sym, pcs[n - 1], n > 1, &sf, 1);
		lt_debug("unwind: %d frames (frame pointers: %d), ended by %s at %#llx %s\n",
			 n, physical_frames(fp), unwind_end_name(end),
			 (unsigned long long)pcs[n - 1],
			 sf.function ? sf.function : "?");
	}
	if (n <= physical_frames(fp)) {
		s->uw.not_longer++;
		return stack_id;
	}
	for (int i = 0; i < n; i++)
		h = (h ^ pcs[i]) * 0x100000001b3ULL;
	h |= UNWOUND_ID;
	s->uw.unwound++;
	if (u64map_get(&s->index, h, &idx))
		return h;
	if (resolve_pcs(s, pcs, n, end, &r))
		return stack_id;
	if (add_resolved(s, h, &r)) {
		free(r.frames);
		return stack_id;
	}
	return h;
}

struct site *stacks_site(struct stacks *s, struct model *m,
			 enum site_kind kind, uint64_t id)
{
	uint64_t key = id * 31 + kind + 1, sid;
	const struct resolved_stack *r;
	struct site *site;
	int skip = 0;

	if (u64map_get(&s->sites, key, &sid))
		return model_get(m, sid - 1);
	r = stacks_resolve(s, id);
	/* A goroutine's creation stack starts inside the runtime (newproc1,
	 * systemstack, newproc): users want the go statement first. */
	while (kind == SITE_GOROUTINE && skip + 1 < r->n &&
	       fn_is_go_runtime(r->frames[skip].function))
		skip++;
	site = model_site(m, kind, r->frames + skip, r->n - skip,
			  r->truncated ? SITE_F_TRUNCATED : 0);
	if (site)
		u64map_put(&s->sites, key, site->id + 1);
	return site;
}

/* A JIT frame named since it was resolved (the perf map is written late). */
static void name_jit_frames(struct symbolizer *sym, struct frame *f, int n)
{
	struct frame named;

	for (int i = 0; i < n; i++) {
		if (f[i].function || !f[i].module ||
		    strcmp(f[i].module, SYM_JIT_MODULE))
			continue;
		if (symbolize(sym, f[i].addr, i > 0, &named, 1) >= 1 &&
		    named.function)
			f[i].function = named.function;
	}
}

void stacks_name_jit(struct stacks *s, struct model *m)
{
	/* per interval, for every target: only those running JIT code */
	if (!symbolizer_has_jit(s->sym))
		return;
	for (size_t i = 0; i < s->nres; i++)
		name_jit_frames(s->sym, s->res[i].frames, s->res[i].n);
	for (size_t i = 0; i < m->n; i++)
		name_jit_frames(s->sym, m->sites[i]->frames,
				m->sites[i]->nframes);
}
