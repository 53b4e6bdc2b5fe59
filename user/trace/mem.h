/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Memory accounting: mapped bytes per stack (mmap, mremap, brk) from the
 * ranges the target maps, resident pages per faulting stack minus pages
 * released by munmap/madvise, and madvise bytes per advice. The brk
 * heuristic (brk.h), the page map (pages.h) and fault-sample splitting
 * (faultsplit.h) are its parts. */
#ifndef LT_MEM_H
#define LT_MEM_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "trace/target.h"
#include <linux/types.h>
#include "leaktrace.h"

struct lt_maps;
struct lt_opts;
struct mem_obj;

struct mem_stats {
	uint64_t madvise_bytes[LT_MADV_MAX];	/* requested, per advice */
	uint64_t madvise_calls[LT_MADV_MAX];
	uint64_t released_pages;		/* tracked pages given back */
	uint64_t lazyfree_pages;		/* of which MADV_FREE */
	uint64_t mapped_total;			/* bytes in traced ranges */
	uint64_t events;			/* memory records handled */
	uint64_t unseen_mapped;			/* bytes the kernel mapped and */
	uint64_t unseen_unmapped;		/* unmapped with no call seen */
	uint64_t vm_misses;			/* checks that found them */
};

/* Opens, sizes, loads and attaches the memory programs, with the shared
 * maps of maps (trace/loader.h): one object for every target of the run
 * (it filters on maps->targ_tgid, or on the "traced" map). Memory calls are
 * seen by the syscall tracepoints until mem_obj_to_sites; why_tracepoints:
 * why for the report, "" when the sites may take over. 0 or -errno
 * (said). */
int mem_obj_open(struct mem_obj **out, const struct lt_opts *o,
		 const struct lt_maps *maps, const char *why_tracepoints);
/* The uprobes at the syscall sites give way to the tracepoints (at_s:
 * seconds into the run; why: for the report). 0 or -errno (said). */
int mem_obj_to_tracepoints(struct mem_obj *m, double at_s, const char *why);
/* The one traced process (pid in our namespace), its libraries mapped
 * (a command started here: after its exec), rate: its memory calls a
 * second so far: probed at its syscall sites from here on, the tracepoints
 * off, unless the rate puts the sites over their budget (not after a fall
 * back to the tracepoints either). 0, or -EDOM (why in the report, said
 * with -v: the tracepoints stay). */
int mem_obj_to_sites(struct mem_obj *m, pid_t pid, double at_s, double rate);
/* At every tick (now_s: seconds into the run; the rate is taken over
 * 0.1 s at least): the syscall sites' probes give way to the tracepoints
 * when their hits cost the target more than 1 % of a core (the cost of a
 * hit measured the first time the rate could matter). */
void mem_obj_sites_budget(struct mem_obj *m, double now_s);
/* How memory calls are seen, for the report. */
struct mem_probes_info {
	bool via_uprobes;
	int sites, files;
	const char *why_tracepoints;	/* "" via uprobes */
	double switched_at;		/* -1: never */
	double sites_from;		/* -1: never */
};
void mem_obj_probes(const struct mem_obj *m, struct mem_probes_info *out);
void mem_obj_close(struct mem_obj *m);
/* Stops new records (the last drain then ends). */
void mem_obj_stop(struct mem_obj *m);
/* Adds the object's drop counters to out[LT_DROP_MAX]. */
void mem_obj_drops(const struct mem_obj *m, uint64_t *out);
/* The target's memory state on the run's object. Sites go to ctx->model
 * through ctx->stacks. */
int mem_open(struct lt_target *ctx, struct mem_obj *obj,
	     const struct lt_maps *maps);
/* Reads the kernel's fault counters of every target at once; each
 * target's mem_collect then takes its own. Call before the collects. */
void mem_obj_snapshot(struct mem_obj *m);
/* Deletes the kernel entries of the targets released since the last
 * call (mem_close queues them). */
void mem_obj_sweep(struct mem_obj *m);
/* Releases the target's state, its chunks and counters in the kernel's
 * maps included (shared object). */
void mem_close(struct lt_target *ctx);
/* A record; LT_EV_EXEC forgets every range and page of the old image. */
void mem_handle(struct lt_target *ctx, const struct lt_mem_event *e);
/* After an exec (its record consumed): forgets the old image now if the
 * ring buffer had no room for its record (said). */
void mem_exec(struct lt_target *ctx);
/* The one target's new image is Go (single-target fast path): frame-
 * pointer walks may jump stacks. */
void mem_obj_set_go(struct mem_obj *m, bool go);
/* A sampled page fault with a stack copy: learns which full stack its
 * frame-pointer stack id stood for this time. */
void mem_fault_sample(struct lt_target *ctx, const struct lt_fault_sample *e);
/* Sampled faults unwound so far; *split_ids: fault stacks split by them. */
uint64_t mem_fault_samples(const struct lt_target *ctx, uint64_t *split_ids);
/* Reads the kernel's per-stack fault counters into the fault sites and the
 * ranges into the mmap/brk sites. */
void mem_collect(struct lt_target *ctx);
const struct mem_stats *mem_stats(const struct lt_target *ctx);
/* vm_size: VmSize now. Compares the mappings the calls seen made with the
 * kernel's (trace/vmcheck.h); a miss is said and counted, and the one
 * target probed at its syscall sites falls back to the tracepoints. */
void mem_check_vm(struct lt_target *ctx, uint64_t vm_size);
/* Seeds that comparison now (a command started here, once it runs). */
void mem_seed_vm(struct lt_target *ctx);
/* Adds the stack-copy counters to out[LT_UC_MAX]. */
void mem_ucopy_stats(const struct lt_target *ctx, uint64_t *out);
#endif
