// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "stacks.h"
#include "symbolize.h"

#define MAX_INLINE 8

/* Outermost frames of complete stacks: a stack ending anywhere else was cut
 * short (code without frame pointers). */
static const char *const roots[] = {
	"_start", "__libc_start_main", "__libc_start_call_main",
	"start_thread", "clone", "clone3", "__clone", "__clone3",
	"thread_start", "runtime.goexit", "runtime.goexit.abi0",
	"runtime.mstart", "runtime.mstart.abi0", "runtime.rt0_go",
	"runtime.rt0_go.abi0", "runtime.main", "runtime.mcall",
	"runtime.morestack", "runtime.morestack.abi0",
	"runtime.systemstack", "runtime.systemstack.abi0",
	"runtime.asmcgocall", "runtime.asmcgocall.abi0",
	"runtime.sigtramp", "runtime.sigreturn__sigaction",
};

static bool is_root(const char *fn)
{
	if (!fn)
		return false;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(fn, roots[i]))
			return true;
	return false;
}

void stacks_init(struct stacks *s, int map_fd, struct symbolizer *sym)
{
	memset(s, 0, sizeof(*s));
	s->map_fd = map_fd;
	s->sym = sym;
	u64map_init(&s->index);
	u64map_init(&s->sites);
}

void stacks_free(struct stacks *s)
{
	for (size_t i = 0; i < s->nres; i++)
		free(s->res[i].frames);
	free(s->res);
	u64map_free(&s->index);
	u64map_free(&s->sites);
}

int stacks_symbolize(struct symbolizer *sym, uint64_t addr, bool is_return,
		     struct frame *out, int max)
{
	struct sym_frame sf[MAX_INLINE];
	int k = symbolize(sym, addr, is_return, sf, MAX_INLINE), i;

	for (i = 0; i < k && i < max; i++) {
		out[i].addr = sf[i].addr;
		out[i].module = sf[i].module;
		out[i].function = sf[i].function;
		out[i].file = sf[i].file;
		out[i].line = sf[i].line;
		out[i].inlined = sf[i].inlined;
	}
	return i;
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
	struct sym_frame sf[MAX_INLINE];
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
			if (is_root(fn))
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
	r->frames = f;
	r->n = n;
	r->truncated = cut || (n > 0 && !(st->flags & LT_STACK_FULL) &&
			       !is_root(f[n - 1].function));
	if (r->truncated)
		s->truncated++;
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
	if (s->nres == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct resolved_stack *n = realloc(s->res, cap * sizeof(*n));

		if (!n)
			return &unknown;
		s->res = n;
		s->cap = cap;
	}
	if (resolve(s, &st, &r))
		return &unknown;
	s->res[s->nres] = r;
	if (u64map_put(&s->index, id, s->nres + 1))
		return &unknown;
	s->nres++;
	/* Cached here now: free the slot for new stacks. */
	bpf_map_delete_elem(s->map_fd, &id);
	return &s->res[s->nres - 1];
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
	while (kind == SITE_GOROUTINE && skip + 1 < r->n && r->frames[skip].function &&
	       !strncmp(r->frames[skip].function, "runtime.", 8))
		skip++;
	site = model_site(m, kind, r->frames + skip, r->n - skip,
			  r->truncated ? SITE_F_TRUNCATED : 0);
	if (site)
		u64map_put(&s->sites, key, site->id + 1);
	return site;
}
