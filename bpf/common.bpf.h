/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-side helpers shared by every leaktrace program: the target filter,
 * drop counters, and user stack capture into the "stacks" map.
 */
#ifndef LT_COMMON_BPF_H
#define LT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "leaktrace.h"

/* Set by user space before load. One traced process (its fast path: one
 * compare, the map below is never looked up), or 0: the "traced" map
 * names the traced processes. */
const volatile __u32 targ_tgid = 0;
/* targ_tgid is a Go program: frame pointers may jump between stacks.
 * Not rodata: user space switches it when the target execs another image
 * (a shell exec'ing a Go service); set before load like the rodata. With
 * several targets the "traced" map's flags say it per process. */
bool fp_jumps = false;
/* Wake user space only once this much is waiting: it drains on a timer,
 * so a wakeup per record (tens of thousands a second under goroutine
 * churn) would only burn the CPU the target needs. */
const volatile __u64 wakeup_bytes = 1 << 20;

/* Set by user space before its last drain: no new records after it. */
__u32 lt_stop = 0;

/* Everything not recorded, by enum lt_drop. */
__u64 drops[LT_DROP_MAX] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);	/* resized by user space */
	__type(key, __u64);
	__type(value, struct lt_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_stack);
} stack_scratch SEC(".maps");

/* Host tgid -> struct lt_traced: the traced processes when targ_tgid is 0
 * (created and written by user space, shared by every object). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* resized by user space */
	__type(key, __u32);
	__type(value, struct lt_traced);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* resized by user space */
} events SEC(".maps");

static __always_inline void lt_drop(enum lt_drop why)
{
	if (why < LT_DROP_MAX)
		__sync_fetch_and_add(&drops[why], 1);
}

static __always_inline bool lt_is_tgid(__u32 tgid)
{
	if (lt_stop)
		return false;
	if (targ_tgid)
		return tgid == targ_tgid;
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline bool lt_is_target(void)
{
	return lt_is_tgid(bpf_get_current_pid_tgid() >> 32);
}

/* Frame pointers of the current process may jump between stacks (Go). */
static __always_inline bool lt_fp_jumps(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lt_traced *t;

	if (targ_tgid)
		return fp_jumps;
	t = bpf_map_lookup_elem(&traced, &tgid);
	return t && (t->flags & LT_TRACED_GO);
}

/* User-mode registers of the current task (tracepoint programs get none). */
static __always_inline struct pt_regs *lt_user_regs(void)
{
	struct task_struct *task;
	void *stack;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	/* Before 5.15: the user regs sit at the top of the kernel stack. */
	task = (struct task_struct *)bpf_get_current_task();
	stack = BPF_CORE_READ(task, stack);

	return (struct pt_regs *)((char *)stack + (4096 << 2)) - 1;
}

/* Frame-pointer walk of the user stack from (ip, fp) into ips[0..max).
 * Our own walk, not bpf_get_stack(): the kernel's follows any value in
 * RBP, and code without frame pointers keeps data there; reading a page
 * that is not present (the one being faulted in, often) costs a nested
 * fault, ~4 us an event on this VM against ~70 ns for a clean walk. So a
 * frame must lie above the previous one and within LT_FRAME_MAX of it;
 * only in Go programs (fp_jumps) may it jump anywhere aligned in the user
 * half, since Go's systemstack links the g0 stack to the goroutine's. */
#define LT_FRAME_MAX (1ULL << 20)

struct lt_frame {
	__u64 next;
	__u64 ret;
};

static __always_inline long lt_fp_walk(__u64 ip, __u64 sp, __u64 fp,
				       __u64 *ips, int max, bool *full)
{
	struct lt_frame fr;
	bool jumps = lt_fp_jumps();
	long n = 1;

	ips[0] = ip;
	*full = false;
	for (int i = 0; i < LT_MAX_STACK; i++) {
		if (n >= max) {
			*full = true;
			break;
		}
		if ((fp & 7) || fp < (1ULL << 16) || fp >= (1ULL << 47) - 16)
			break;
		if (!jumps && (fp < sp || fp - sp > LT_FRAME_MAX))
			break;
		if (bpf_probe_read_user(&fr, sizeof(fr), (void *)fp) || !fr.ret)
			break;
		if (n >= 0 && n < LT_MAX_STACK - 1)
			ips[n] = fr.ret;
		n++;
		if (fr.next == fp)
			break;
		sp = fp + sizeof(fr);
		fp = fr.next;
	}
	return n;
}

/* Captures the current user stack (layout in leaktrace.h) and stores it in
 * "stacks". Returns its id, or 0 when it could not be recorded (counted).
 * ip, sp and fp are the user registers at the event.
 */
static __always_inline __u64 lt_capture_stack(__u64 ip, __u64 sp, __u64 fp)
{
	struct lt_stack *st;
	__u32 zero = 0;
	__u64 h = 0xcbf29ce484222325ULL, word = 0;
	bool full;
	long n, err;

	st = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!st)
		return 0;
	/* ips[0] IP, ips[1] the word at SP, then the frame chain. */
	n = lt_fp_walk(ip, sp, fp, &st->ips[1], LT_MAX_STACK - 1, &full);
	st->flags = full ? LT_STACK_FULL : 0;
	st->ips[0] = ip;
	if (sp)
		bpf_probe_read_user(&word, sizeof(word), (void *)sp);
	st->ips[1] = word;
	st->nr = n + 1;
	/* The process is part of the id: two instances of one binary have
	 * the same addresses, and each target reads (and deletes) its own
	 * stacks from the shared map. */
	h = (h ^ (bpf_get_current_pid_tgid() >> 32)) * 0x100000001b3ULL;
	for (int i = 0; i < LT_MAX_STACK; i++) {
		if (i >= st->nr)
			break;
		h = (h ^ st->ips[i]) * 0x100000001b3ULL;
	}
	h ^= h >> 29;
	if (!h)
		h = 1;
	err = bpf_map_update_elem(&stacks, &h, st, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: known stack */) {
		lt_drop(LT_DROP_STACK_MAP);
		return 0;
	}
	return h;
}

/* Stack of the current task at a tracepoint (syscall or fault). */
static __always_inline __u64 lt_capture_user_stack(void)
{
	struct pt_regs *regs = lt_user_regs();

	if (!regs) {
		lt_drop(LT_DROP_STACK_READ);
		return 0;
	}
	return lt_capture_stack(PT_REGS_IP_CORE(regs), PT_REGS_SP_CORE(regs),
				PT_REGS_FP_CORE(regs));
}

static __always_inline void *lt_reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec)
		lt_drop(LT_DROP_RINGBUF);
	return rec;
}

/* Last forced wakeup (ns), shared by all CPUs; races only add a wakeup. */
__u64 lt_last_wake_ns = 0;

/* Ring-buffer flags for a record: no wakeup, unless wakeup_bytes are
 * waiting, and then at most one a millisecond: when user space falls
 * behind, a wakeup per record (~4 us each here) would only slow the
 * target further. */
static __always_inline __u64 lt_rb_flags(void)
{
	__u64 now;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	now = bpf_ktime_get_ns();
	if (now - lt_last_wake_ns < 1000000)
		return BPF_RB_NO_WAKEUP;
	lt_last_wake_ns = now;
	return BPF_RB_FORCE_WAKEUP;
}

/* Wakes user space now: a probe window the programs cut is detached at
 * once, not at the next poll tick after a drain (~150 ms of redis
 * trapping into cut probes here). Records arrive without wakeups; an
 * empty record discarded with a forced wakeup wakes the reader and is
 * never read. A full ring wakes it anyway. */
static __always_inline void lt_wake_now(void)
{
	void *rec = bpf_ringbuf_reserve(&events, 8, 0);

	if (rec)
		bpf_ringbuf_discard(rec, BPF_RB_FORCE_WAKEUP);
}

/* A continuous probe window's cap, kept in BPF (user space sets it:
 * trace/probe_budget.h pb_cap), n the window's hits so far. Marks when n
 * passes *mark (the cut window's rate is measured from there, not over an
 * idle or attaching start); at *cap the window ends here and now
 * (*until_ns), the first time with the time recorded and user space
 * woken. True: past the cap, record nothing. */
static __always_inline bool lt_window_capped(__u64 n, __u64 now, __u64 *cap,
					     __u64 *capped_ns, __u64 *mark,
					     __u64 *mark_ns, __u64 *until_ns)
{
	if (*mark && !*mark_ns && n >= *mark)
		*mark_ns = now;
	if (!*cap || n < *cap)
		return false;
	if (!*capped_ns) {
		*capped_ns = now;
		lt_wake_now();
	}
	*until_ns = now;
	return true;
}

static __always_inline void lt_submit(void *rec)
{
	bpf_ringbuf_submit(rec, lt_rb_flags());
}

#endif /* LT_COMMON_BPF_H */
