// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Native allocator calls: malloc, calloc, realloc, memalign/aligned_alloc,
 * posix_memalign and free of the allocator the target uses (glibc,
 * jemalloc, tcmalloc; found by user space, trace/malloc.c). Attached only
 * in the duty windows the CPU budget allows.
 *
 * An allocation is an entry probe (arguments, kept per thread and
 * function) and a uretprobe on the same address (one trap for both):
 * at the return RAX is the pointer, IP the caller's return address and
 * SP/RBP the caller's, so the stack taken there is the caller's, whole,
 * and a copy of it unwinds with CFI like any other. A uretprobe is safe
 * here and only here: these functions are C, called on thread stacks that
 * nothing moves (in a cgo program too: Go calls C on the system stack).
 * Never on Go code: alloc_find (user/sym/allocsyms.c) refuses every file
 * with .gopclntab or .go.buildinfo (stripped Go binaries keep both), and
 * user space attaches these programs only to what it found
 * (test_allocsyms::test_go_files_refused). free is one entry probe, no
 * stack.
 */
#include "common.bpf.h"
#include "ucopy.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Hits by enum lt_malloc_hit and the time the programs took. */
__u64 malloc_hits[LT_MH_MAX] = {};
__u64 malloc_ns = 0;
/* The duty window ends then (ktime ns; 0 none): past it, while user space
 * is late to detach, the programs do nothing. */
__u64 malloc_until_ns = 0;
/* A window's cost bounded in the programs, not only by user space's next
 * tick: when the alloc + free hits reach malloc_cap (0: none) the window
 * ends here and now (malloc_until_ns), and malloc_capped_ns says when. A
 * load that arrives while the probes are on thus costs the trap alone
 * while user space, busy draining, gets to the detach; the hits up to
 * the cap are all counted, so the rate user space measures is right. */
__u64 malloc_cap = 0;
__u64 malloc_capped_ns = 0;
/* When the hits reached malloc_mark (0: none; half the window's first
 * cap): the rate from there to the cut is the load's, not the idle
 * window's before it. */
__u64 malloc_mark = 0;
__u64 malloc_mark_ns = 0;

struct call_args {
	__u64 a0, a1, a2;
};

/* (thread << 8 | fn) -> arguments at entry. LRU: a call whose return was
 * never seen (probes detached mid-call) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct call_args);
} calls SEC(".maps");

static __always_inline bool in_window(__u64 now)
{
	return lt_is_target() && !(malloc_until_ns && now > malloc_until_ns);
}

static __always_inline bool capped(__u64 now)
{
	return lt_window_capped(malloc_hits[LT_MH_ALLOC] + malloc_hits[LT_MH_FREE], now,
				&malloc_cap, &malloc_capped_ns, &malloc_mark,
				&malloc_mark_ns, &malloc_until_ns);
}

static __always_inline int on_entry(struct pt_regs *ctx, __u32 fn)
{
	__u64 key = (bpf_get_current_pid_tgid() << 8) | fn, t0 = bpf_ktime_get_ns();
	struct call_args a = {
		.a0 = PT_REGS_PARM1(ctx),
		.a1 = PT_REGS_PARM2(ctx),
		.a2 = PT_REGS_PARM3(ctx),
	};

	if (!in_window(t0) || capped(t0))
		return 0;
	bpf_map_update_elem(&calls, &key, &a, BPF_ANY);
	__sync_fetch_and_add(&malloc_ns, bpf_ktime_get_ns() - t0);
	return 0;
}

static __always_inline int on_return(struct pt_regs *ctx, __u32 fn)
{
	__u64 key = (bpf_get_current_pid_tgid() << 8) | fn, t0 = bpf_ktime_get_ns();
	struct lt_malloc_event e = {};
	struct call_args *a;
	__u64 ret = PT_REGS_RC(ctx);

	if (!lt_is_target())
		return 0;
	a = bpf_map_lookup_elem(&calls, &key);
	if (!a) {
		/* past the window's end the entry did nothing: not a miss */
		if (in_window(t0))
			__sync_fetch_and_add(&malloc_hits[LT_MH_NO_ENTRY], 1);
		return 0;
	}
	e.type = LT_EV_MALLOC;
	e.fn = fn;
	switch (fn) {
	case LT_MF_CALLOC:
		e.size = a->a0 * a->a1;
		e.addr = ret;
		break;
	case LT_MF_REALLOC:
		e.old_addr = a->a0;
		e.size = a->a1;
		e.addr = ret;
		break;
	case LT_MF_MEMALIGN:
		e.size = a->a1;
		e.addr = ret;
		break;
	case LT_MF_POSIX_MEMALIGN:
		e.size = a->a2;
		if ((int)ret == 0)
			bpf_probe_read_user(&e.addr, sizeof(e.addr), (void *)a->a0);
		break;
	default:
		e.size = a->a0;
		e.addr = ret;
	}
	bpf_map_delete_elem(&calls, &key);
	__sync_fetch_and_add(&malloc_hits[LT_MH_ALLOC], 1);
	/* A failed call changes nothing (realloc's block stays). */
	if (e.addr) {
		e.stack_id = lt_capture_stack(PT_REGS_IP(ctx), 0, PT_REGS_FP(ctx));
		lt_output(&e, sizeof(e), __builtin_offsetof(struct lt_malloc_event,
							    copy_bytes), e.stack_id);
	}
	__sync_fetch_and_add(&malloc_ns, bpf_ktime_get_ns() - t0);
	return 0;
}

static __always_inline int on_free(struct pt_regs *ctx)
{
	__u64 addr = PT_REGS_PARM1(ctx), t0 = bpf_ktime_get_ns();
	struct lt_free_event *e;

	bool late;

	if (!lt_is_target())
		return 0;
	/* Past the window's end (or its cap), until user space detaches,
	 * frees are still sent, marked late and not counted as hits: an
	 * object allocated just before the end and freed right after (a
	 * buffer malloc'd and freed in one function) is then not taken for
	 * one that outlived the window. The trap is paid anyway. */
	late = (malloc_until_ns && t0 > malloc_until_ns) || capped(t0);
	if (!late)
		__sync_fetch_and_add(&malloc_hits[LT_MH_FREE], 1);
	if (!addr)
		return 0;
	e = lt_reserve(sizeof(*e));
	if (e) {
		e->type = LT_EV_FREE;
		e->late = late;
		e->addr = addr;
		lt_submit(e);
	}
	__sync_fetch_and_add(&malloc_ns, bpf_ktime_get_ns() - t0);
	return 0;
}

/* One program per direction, the function in the attach cookie (enum
 * lt_malloc_fn): a uprobe_multi link (kernel 6.6+) attaches or detaches
 * every entry point of a file at once; detaching a link costs leaktrace
 * an RCU-tasks grace period (~0.15 s here), so per-symbol links (the
 * fallback, same code) took 2.5 s for glibc's 8 entry points. */
static __always_inline int entry_or_free(struct pt_regs *ctx)
{
	__u32 fn = (__u32)bpf_get_attach_cookie(ctx);

	if (fn == LT_MF_FREE)
		return on_free(ctx);
	return on_entry(ctx, fn);
}

SEC("uprobe.multi")
int lt_alloc_entry_multi(struct pt_regs *ctx)
{
	return entry_or_free(ctx);
}

SEC("uretprobe.multi")
int lt_alloc_ret_multi(struct pt_regs *ctx)
{
	return on_return(ctx, (__u32)bpf_get_attach_cookie(ctx));
}

SEC("uprobe")
int lt_alloc_entry(struct pt_regs *ctx)
{
	return entry_or_free(ctx);
}

SEC("uretprobe")
int lt_alloc_ret(struct pt_regs *ctx)
{
	return on_return(ctx, (__u32)bpf_get_attach_cookie(ctx));
}
