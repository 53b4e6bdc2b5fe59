/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The `heap` site kind: Go heap in use per allocation stack, read every
 * interval from the runtime's own heap profile (go/goheap.h), and the
 * rule that makes runtime fault/mmap growth a consequence of it. */
#ifndef LT_TRACE_GOHEAP_H
#define LT_TRACE_GOHEAP_H
#include <stdbool.h>
#include <stdint.h>
#include "trace/target.h"

enum goheap_state {
	GOHEAP_NOT_GO,		/* not a Go target (or --no-go) */
	GOHEAP_ON,
	GOHEAP_OFF_LINKER,	/* profiling off in the binary */
	GOHEAP_RATE_ZERO,	/* the program set MemProfileRate = 0 */
	GOHEAP_UNSUPPORTED,	/* layout or variables not found */
	GOHEAP_UNREADABLE,	/* reads failed */
};

struct goheap_info {
	enum goheap_state state;
	const char *state_name;	/* "on", "off_by_linker", ... */
	const char *message;	/* one plain line for the report, or NULL */
	int64_t rate;		/* MemProfileRate */
	uint32_t cycle;		/* GC cycle of the counts */
	double cycle_seen_s;	/* when we first saw these counts (s since
				 * attach) */
	double data_age_s;	/* now - cycle_seen_s: at least this old */
	uint64_t cycles_seen;	/* distinct cycles read */
	uint64_t reads;		/* profile reads */
	uint64_t buckets;	/* in the last read */
	uint64_t bytes_read;	/* last read */
	uint64_t syscalls;	/* last read */
	double read_ms;		/* last read */
	double max_read_ms;
	double apply_ms;	/* last new cycle: summing and symbolizing */
	double max_apply_ms;	/* (the first one symbolizes every stack) */
	bool truncated;		/* a cap cut the last read */
	uint64_t bad;		/* buckets that failed checks, last read */
	bool before_gc;		/* no GC cycle published yet */
	const char *how;	/* "symtab" / "code" */
};

/* Opens the heap profile of a Go target (exe as seen from here). Never
 * fails the run: a target without a readable profile gets a state and a
 * message. -ENOMEM only. */
int goheap_open(struct lt_target *ctx, const char *exe);
void goheap_close(struct lt_target *ctx);
/* Per interval: reads the profile; sites change only when the runtime
 * published new counts (a new GC cycle, or the end of its sweep). */
void goheap_collect(struct lt_target *ctx);
void goheap_get_info(const struct lt_target *ctx, struct goheap_info *out);

/* Heap as the cause (call after model_rank). A growing fault or mmap
 * site of Go heap memory (first touched by Go code, or mapped through
 * the runtime's heap growth: runtime.sysMap, (*mheap).grow, mallocgc,
 * runtime.mmap, ...) grows because the heap grows when
 *  - leaking heap sites of its own user function grow by at least a
 *    quarter of its growth (cause: the first of them), or else
 *  - all growing heap sites together do (cause: the leaking one, else
 *    the fastest growing): pages one function's garbage gave back are
 *    first touched again by another's allocations.
 * It then gets heap_cause = cause id + 1, loses its leak verdict, and is
 * ranked right after its cause. Returns how many sites were marked. */
int goheap_explain(struct model *m);
#endif
