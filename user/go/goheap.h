/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Go runtime's own heap profile, read from a live process: the
 * runtime samples allocations (runtime.MemProfileRate, 512 KiB by
 * default) and keeps one bucket per allocation stack in the list
 * runtime.mbuckets. We read that list with process_vm_readv (never
 * written, never stopped) and decode each bucket as runtime.MemProfile
 * would, Go 1.19 .. 1.27, amd64.
 */
#ifndef LT_GOHEAP_H
#define LT_GOHEAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct go_runtime;
struct gopcln;

/* Byte offsets of the runtime's profile bucket (mprof.go). */
struct go_heap_layout {
	int bucket_size;	/* sizeof(bucket): 48 (stk[] follows) */
	int off_allnext, off_typ, off_size, off_nstk;
	int off_active, off_future;	/* memRecord after stk[nstk] */
	int cycle_size;		/* memRecordCycle: 32, 16 from Go 1.27 */
	int off_allocs, off_frees;
	int off_alloc_bytes, off_free_bytes;	/* -1: count x size (1.27+) */
	int record_size;	/* memRecord: active + future[3] */
	int max_stack;		/* nstk bound: 32 before 1.23, then 1024 */
	bool from_dwarf;
};

/* Where a binary keeps its heap profile (link-time addresses). */
struct go_heap {
	struct go_heap_layout lay;
	uint64_t mbuckets;	/* *bucket (atomic.UnsafePointer from 1.21) */
	uint64_t rate;		/* runtime.MemProfileRate (int) */
	uint64_t cycle;		/* runtime.mProfCycle (uint32: cycle<<1|flushed) */
	const char *how;	/* "symtab" or "code" (stripped) */
	/* The linker turned profiling off: nothing in the binary reaches
	 * runtime.MemProfile (<= 1.22) / runtime.memProfileInternal (1.23+),
	 * so MemProfileRate is 0 and there are no buckets. */
	bool off_by_linker;
	int version_minor;
};

/* Finds the variables and the layout. 0; -ENOTSUP when the Go version has
 * no table and no DWARF, or a variable could not be located (msg says
 * which); -ENOENT when not a Go binary. A binary whose profiling is off
 * is opened fine (off_by_linker set). */
int go_heap_open(const struct go_runtime *rt, struct go_heap *h,
		 char *msg, size_t msglen);
/* Layout from DWARF (runtime.bucket, memRecord, memRecordCycle). 0 or
 * -ENOENT. Layout from the tables for a Go minor version: 0 or -ENOTSUP. */
int go_heap_layout_dwarf(Elf *elf, struct go_heap_layout *l);
int go_heap_layout_table(int minor, struct go_heap_layout *l);
/* Stripped binaries: the variables from the loads of runtime.allocmcache
 * (MemProfileRate), runtime.mProf_FlushLocked (mbuckets) and
 * runtime.mProf_PostSweep (mProfCycle, 4 bytes). 0 or -ENOENT. */
int go_heap_locate_code(Elf *elf, const struct gopcln *t, struct go_heap *h);

/* One allocation stack, as runtime.MemProfile would report it. */
struct go_heap_rec {
	uint64_t size;		/* object size of the bucket */
	uint64_t allocs, frees;	/* sampled objects (published cycles) */
	uint64_t alloc_bytes, free_bytes;
	const uint64_t *stk;	/* logical return PCs, innermost first */
	uint32_t nstk;
};

struct go_heap_opts {
	size_t max_buckets;	/* 0 -> 1,000,000 */
	size_t max_bytes;	/* bytes read in all; 0 -> 256 MiB */
};

struct go_heap_profile {
	struct go_heap_rec *recs;
	size_t n;
	int64_t rate;		/* MemProfileRate now (0: profiling off) */
	uint32_t cycle;		/* mProfCycle: the published counts are as of
				 * the mark termination that began it */
	bool flushed;		/* cycle's flush flag (else we added its
				 * pending counts, as MemProfile does) */
	bool before_gc;		/* no cycle published yet: all pending
				 * counts summed (MemProfile does the same) */
	bool truncated;		/* a cap was hit: the list was cut */
	size_t bad;		/* buckets that failed the sanity checks */
	size_t syscalls;	/* process_vm_readv calls */
	size_t bytes_read;
	uint64_t bias;
	uint64_t *pcs;		/* storage of the stacks */
	size_t npcs, cap_pcs;
	size_t cap;
};

/* Reads pid's heap profile. 0; -ENOTSUP when profiling is off by the
 * linker; -ESRCH/-EPERM from the reads; -ENOEXEC when the memory does not
 * look like rt's binary's; -ENOMEM. Free with go_heap_profile_free. */
int go_heap_read(int pid, const struct go_runtime *rt, const struct go_heap *h,
		 const struct go_heap_opts *opts, struct go_heap_profile *out);
void go_heap_profile_free(struct go_heap_profile *p);

/* pprof's scaling of a sampled count (runtime/pprof scaleHeapSample):
 * count / (1 - e^(-size/rate)); rate <= 1: unscaled. */
void go_heap_scale(uint64_t count, uint64_t size, int64_t rate,
		   double *objects, double *bytes);
#endif
