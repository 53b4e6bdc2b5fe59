/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by the BPF programs and user space: fixed-width types, enums
 * and defines only; includes nothing. Every ring-buffer record starts with a
 * __u32 type tag (enum lt_event_type).
 */
#ifndef LEAKTRACE_H
#define LEAKTRACE_H

#define LT_MAX_STACK 64		/* frames kept per stack */
#define LT_PAGE_SHIFT 12

/* Stack layout as stored by BPF in the "stacks" map:
 *   ips[0]  user IP at the event
 *   ips[1]  the word at the user SP: the return address into the caller when
 *           the event is in a function that has not pushed a frame yet
 *           (syscall wrappers, uprobes at entry, Go assembly). User space
 *           keeps it only if it is a return address (follows a call).
 *   ips[2+] frame-pointer chain as the kernel walks it.
 */
struct lt_stack {
	__u32 nr;		/* valid entries in ips */
	__u32 flags;		/* LT_STACK_* */
	__u64 ips[LT_MAX_STACK];
};

#define LT_STACK_FULL	1	/* the frame-pointer walk filled all slots */

/* User stack copies for CFI unwinding in user space (DESIGN.md "Stacks").
 * A low-rate event (mmap, mremap, brk, thread creation) whose
 * frame-pointer stack user space has not marked complete carries, right
 * after its record in the same ring-buffer record, a struct lt_ucopy and
 * len bytes of the user stack from sp up. The event's copy_bytes field is
 * sizeof(struct lt_ucopy) + len, 0 when no copy follows.
 */
#define LT_UCOPY_MAX_KB	28	/* per-CPU scratch stays under 32 KiB */
#define LT_UCOPY_MAX	(LT_UCOPY_MAX_KB << 10)
#define LT_UCOPY_DEF_KB	16

struct lt_ucopy {
	__u64 ip;		/* user registers at the event */
	__u64 sp;		/* data[0] is the byte at sp */
	__u64 fp;		/* x86_64 rbp, arm64 x29 */
	__u64 lr;		/* arm64 x30; 0 on x86_64 */
	__u32 len;		/* stack bytes that follow */
	__u32 pad;
};

/* Per-CPU scratch where BPF builds a record with its copy ("ucopy_buf",
 * created by user space with this value size): the event record ends at
 * ev[LT_EV_ROOM], the copy follows. */
#define LT_EV_ROOM 128		/* the largest event record that carries a copy */
struct lt_ucopy_buf {
	__u8 ev[LT_EV_ROOM];
	struct lt_ucopy hdr;
	__u8 data[LT_UCOPY_MAX];
};
#define LT_COPY_NEED_MAX 16384	/* "copy_need" entries (stack ids) */

/* Stack-copy counters, BPF .bss (enum lt_ucopy_stat). */
enum lt_ucopy_stat {
	LT_UC_COPIED,		/* events sent with a stack copy */
	LT_UC_SKIPPED,		/* frame-pointer stack known complete: no copy */
	LT_UC_READ_FAILED,	/* no byte of the stack was readable */
	LT_UC_RINGBUF,		/* ring buffer half full, or the copy did not
				 * fit: event sent without it */
	LT_UC_MAX,
};

/* The "traced" map: host tgid -> this, for every traced process when
 * leaktrace traces more than one (one process is a constant instead). */
struct lt_traced {
	__u32 flags;		/* LT_TRACED_* */
	__u32 pad;
};
#define LT_TRACED_GO	1	/* a Go program: frame pointers may jump */

/* procid.bpf.c's task iterator: one record per task of the host. */
struct lt_nspid_rec {
	__s32 ns_tid, ns_tgid;	/* in the reader's pid namespace */
	__s32 host_tid, host_tgid;
};

/* procid.bpf.c's "exec_watch" map: host tgid -> this, for the targets
 * whose execs are followed. */
struct lt_exec_count {
	__u64 count;		/* execs seen */
	__u64 ns;		/* the last one's bpf_ktime_get_ns() */
};

enum lt_event_type {
	LT_EV_MMAP = 1,
	LT_EV_MUNMAP,
	LT_EV_MREMAP,
	LT_EV_BRK,
	LT_EV_MADVISE,
	LT_EV_THREAD_NEW,
	LT_EV_THREAD_EXIT,
	LT_EV_GO_NEW,
	LT_EV_GO_EXIT,
	LT_EV_FAULT_SAMPLE,
	LT_EV_GO_STMT,
	LT_EV_EXEC,		/* the target exec'd (struct lt_mem_event) */
	LT_EV_MALLOC,
	LT_EV_FREE,
};

/* Memory syscalls, emitted at syscall exit when the call succeeded. */
struct lt_mem_event {
	__u32 type;		/* LT_EV_MMAP .. LT_EV_MADVISE, LT_EV_EXEC */
	__u32 bpf_released;	/* munmap/madvise: BPF already forgot the
				 * range's pages (small ranges); exec: every
				 * page of the old image */
	__u64 stack_id;		/* key into "stacks"; 0 = not recorded */
	__u64 addr;		/* mmap: result; munmap/madvise: addr;
				 * mremap: old addr; brk: new break */
	__u64 len;		/* mmap/munmap/madvise: length; mremap: old
				 * length; brk: requested break (0: a query) */
	__u64 new_addr;		/* mremap: result */
	__u64 new_len;		/* mremap: new length */
	__u32 flags;		/* mmap flags, madvise advice */
	__u32 prot;		/* mmap prot */
	__u32 copy_bytes;	/* lt_ucopy + stack bytes after this record */
	__u32 tgid;		/* host tgid of the process (user space
				 * dispatches every record to its target) */
};

/* A sampled first touch whose frame-pointer stack may stop early: carries
 * a stack copy, so user space learns which full stacks the fault stack id
 * stands for and splits its pages between them. */
struct lt_fault_sample {
	__u32 type;		/* LT_EV_FAULT_SAMPLE */
	__u32 copy_bytes;	/* lt_ucopy + stack bytes after this record */
	__u64 stack_id;		/* the fault's frame-pointer stack */
	__u32 tgid;		/* host tgid of the process */
	__u32 pad;
};
#define LT_FAULT_SAMPLE_DEF 64	/* one first touch in this many */

/* Thread lifecycle (task tracepoints). */
struct lt_task_event {
	__u32 type;		/* LT_EV_THREAD_NEW / LT_EV_THREAD_EXIT */
	__u32 tid;		/* new thread / exiting thread */
	__u64 ts_ns;
	__u64 stack_id;		/* creator's user stack (NEW only) */
	__u32 copy_bytes;	/* lt_ucopy + stack bytes after this record */
	__u32 tgid;		/* host tgid of the process */
};

/* Goroutine lifecycle (Go runtime uprobes). GO_STMT: a probe on one go
 * statement's CALL of runtime.newproc (the new goroutine's id is not known
 * there: goid 0, gopc the go statement's return address). */
struct lt_go_event {
	__u32 type;		/* LT_EV_GO_NEW / LT_EV_GO_EXIT / LT_EV_GO_STMT */
	__u32 tgid;		/* host tgid of the process */
	__u64 ts_ns;
	__u64 goid;
	__u64 parent_goid;	/* NEW, STMT: the creating goroutine; 0 unknown */
	__u64 stack_id;		/* NEW, STMT: creator stack */
	__u64 gopc;		/* NEW: go statement PC; STMT: the probe's PC */
};

/* Goroutines parked now (--go-parks), the "parked" map of the Go object:
 * (tgid, goid) -> where and since when (one object serves every process
 * of an executable, and goids repeat across processes). The park site is
 * the caller of gopark (one word read at SP, no stack walk: gopark is
 * hot). */
struct lt_park_key {
	__u32 tgid;		/* host tgid */
	__u32 pad;
	__u64 goid;
};

struct lt_parked {
	__u64 since_ns;
	__u64 caller_pc;
	__u32 reason;		/* wait reason code */
	__u32 pad;
};

/* Native allocator calls (bpf/malloc.bpf.c), sent only while the probes
 * are attached (duty windows, trace/malloc.h). An allocation is sent at
 * the function's return (uretprobe: the allocator is C; a file holding Go
 * code is never probed, see bpf/malloc.bpf.c)
 * with the caller's stack as it is right after the call: ips[0] is the
 * return address into the caller. */
enum lt_malloc_fn {
	LT_MF_MALLOC,		/* malloc, operator new, valloc */
	LT_MF_CALLOC,		/* calloc(n, size) */
	LT_MF_REALLOC,		/* realloc(ptr, size) */
	LT_MF_MEMALIGN,		/* memalign/aligned_alloc(align, size) */
	LT_MF_POSIX_MEMALIGN,	/* posix_memalign(&ptr, align, size) */
	LT_MF_FREE,		/* free, operator delete */
	LT_MF_MAX,
};

struct lt_malloc_event {
	__u32 type;		/* LT_EV_MALLOC */
	__u32 fn;		/* enum lt_malloc_fn */
	__u64 addr;		/* returned pointer (0: the call failed) */
	__u64 size;		/* bytes asked for */
	__u64 old_addr;		/* realloc: the pointer given */
	__u64 stack_id;		/* caller's stack */
	__u32 copy_bytes;	/* lt_ucopy + stack bytes after this record */
	__u32 pad;
};

struct lt_free_event {
	__u32 type;		/* LT_EV_FREE */
	__u32 late;		/* past the window's end, before the detach:
				 * not a hit of the window */
	__u64 addr;
};

/* Allocator probe hits and the BPF time they took, BPF .bss: the budget's
 * input (enum lt_malloc_hit). */
enum lt_malloc_hit {
	LT_MH_ALLOC,		/* allocation calls that returned */
	LT_MH_FREE,		/* free calls (NULL included) */
	LT_MH_NO_ENTRY,		/* a return without its entry (attached
				 * mid-call, or the entry map full) */
	LT_MH_MAX,
};

/* madvise advice (the kernel's uapi values; BPF includes no libc header).
 * One definition for BPF (releases small ranges), the memory tracker (the
 * rest, per-advice counters) and the findings. */
#define LT_MADV_DONTNEED	4
#define LT_MADV_FREE		8
#define LT_MADV_REMOVE		9
#define LT_MADV_DONTNEED_LOCKED	24
#define LT_MADV_MAX		32	/* advice counted per value below this */
/* mmap flag (uapi): the new mapping replaces what was in its range. */
#define LT_MAP_FIXED		0x10

/* Advice that drops pages (their next touch faults a fresh one); MADV_FREE
 * lazily. */
static inline int lt_madv_releases(__u64 advice)
{
	return advice == LT_MADV_DONTNEED || advice == LT_MADV_FREE ||
	       advice == LT_MADV_REMOVE || advice == LT_MADV_DONTNEED_LOCKED;
}

/* Per-stack page-fault counters, aggregated in the kernel. */
struct lt_fault_stat {
	__u64 pages;		/* first touches of pages attributed to the stack */
	__u64 released;		/* of those, released by munmap/madvise in BPF */
	__u64 lazy;		/* of the released, by MADV_FREE */
};

/* Pages touched, by chunks of LT_CHUNK_PAGES: the "pages" map holds, per
 * chunk, the stack id of the fault that first touched each page (0: not
 * touched since attach or released since). One entry per page made every
 * fault a cache-missing lookup in a table of millions; a chunk is usually
 * hot in cache, as pages are touched in order. */
#define LT_CHUNK_SHIFT	6
#define LT_CHUNK_PAGES	(1 << LT_CHUNK_SHIFT)
#define LT_SID_UNKNOWN	(~0ULL)	/* touched; the stack could not be recorded */
/* munmap/madvise (and what a MAP_FIXED mmap replaces) of up to this many
 * pages are released in BPF; larger ranges are left to user space
 * (bpf_released = 0), which reads the record after the target may have
 * touched the range again: a page touched in that gap is forgotten. */
#define LT_RELEASE_BPF_PAGES 1024

struct lt_chunk {
	__u64 sid[LT_CHUNK_PAGES];
};

/* Keys of per-process state shared by all traced processes: a chunk of
 * the "pages" map is (host tgid << 32) | chunk number (a 47-bit address
 * has a chunk number below 2^29); "fault_stats" is keyed by the stack id
 * and the tgid (two instances of one non-PIE program share stack ids). */
#define LT_CHUNK_KEY(tgid, chunk)	(((__u64)(tgid) << 32) | (chunk))
#define LT_CHUNK_OF_KEY(key)		((key) & 0xffffffffULL)
#define LT_TGID_OF_KEY(key)		((__u32)((key) >> 32))

struct lt_fault_key {
	__u64 sid;		/* stack id of the first touches */
	__u32 tgid;
	__u32 pad;
};

/* Only BPF writes the "pages" map (with bpf_loop, 5.17+; before that user
 * space edits it too: user/trace/pages.h). Releases of larger ranges (and brk
 * shrinks, MAP_FIXED, mremap) that user space learns from the ring buffer
 * are asked of the memory object's syscall programs, run by user space
 * (BPF_PROG_RUN) with this context:
 *   lt_pages_release  forget pages [first, last), counting them released
 *                     (lazy: by MADV_FREE) on the stacks that touched them
 *   lt_pages_move     move the first touches of pages [first, last) to
 *                     the pages from dest on (mremap moved them) */
struct lt_pages_req {
	__u64 first, last;	/* page numbers */
	__u64 dest;		/* move: destination of page first */
	__u32 lazy;		/* release: by MADV_FREE */
	__u32 tgid;		/* the process whose pages these are */
};

/* Everything that could not be recorded, by cause. Counted in BPF .bss. */
enum lt_drop {
	LT_DROP_RINGBUF,	/* ring buffer full: event lost */
	LT_DROP_STACK_MAP,	/* stacks map full: event kept without stack */
	LT_DROP_STACK_READ,	/* bpf_get_stack failed */
	LT_DROP_PAGES_MAP,	/* pages map full: fault not tracked */
	LT_DROP_FAULT_MAP,	/* fault stats map full: fault not counted */
	LT_DROP_ARGS_MAP,	/* in-flight syscall args map full */
	LT_DROP_ARGS_MISS,	/* syscall exit without its entry */
	LT_DROP_GO_MAP,		/* goroutine state map full */
	LT_DROP_MAX,
};

/* Go probe hits, counted in BPF .bss: the cost budget's input. */
enum lt_go_hit {
	LT_GO_HIT_NEW,		/* creation probe (runqput call / newproc1 RETs) */
	LT_GO_HIT_STMT,		/* probes on single go statements */
	LT_GO_HIT_MAX,
};

#endif /* LEAKTRACE_H */
