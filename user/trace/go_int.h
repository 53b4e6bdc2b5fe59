/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Go tracker's state, shared by its probe side (trace/go.c) and its
 * read side (trace/goreads.c). Private to those two files.
 */
#ifndef LT_GO_INT_H
#define LT_GO_INT_H
#include <stdbool.h>
#include <stdint.h>
#include "trace/target.h"
#include "trace/goexe.h"
#include "util/hashmap.h"

#define MAX_WAIT_GROUPS 8	/* distinct park stacks tallied per site */
#define PARK_FRAMES 32
#define MAX_STMT_PROBES 16	/* go statements probed one by one */
#define READ_BUDGET 0.01	/* reads may take this share of a core */

struct bpf_link;

struct wait_group {
	uint64_t key;		/* hash of reason + park pcs */
	uint64_t count;
	const char *reason;
	uint64_t pcs[PARK_FRAMES];
	int npcs;
};

struct site_waits {
	struct wait_group g[MAX_WAIT_GROUPS];
	int n;
};

/* A probe on one go statement (its CALL of runtime.newproc): the full
 * creator stack of a go statement the duty-cycled creation probe never
 * saw, at that statement's own rate. */
struct go_stmt_probe {
	uint64_t gopc;		/* the runtime's g.gopc (runtime address) */
	uint64_t probe_addr;	/* runtime address probed */
	struct bpf_link *link;
	uint64_t hits;		/* events received */
	uint64_t hits_at;	/* at the last check */
	double checked_at;
	bool hot;		/* detached: it would cost more than its share */
	bool unplaceable;	/* no proven instruction boundary: not probed */
};

/* Per goroutine site (indexed by site id). */
struct go_site_info {
	uint64_t gopc;		/* go statement of its goroutines, 0 unknown */
	int64_t read_probed;	/* probed goroutines found alive by this read */
};

struct go_state {
	struct go_runtime *rt;
	/* the executable's probe object, shared with every traced process
	 * running it (trace/goexe.h), and this process's membership */
	struct go_exe *exe;
	uint32_t exe_id;
	uint32_t tgid;			/* host tgid (the parked map's key) */
	pid_t pid;
	uint64_t attach_errors;		/* go statement probes */
	struct go_stmt_probe stmts[MAX_STMT_PROBES];
	int nstmts;
	uint64_t stmt_hits;
	/* goroutines seen created: goid -> site id + 1, and birth time */
	struct u64map site_of;
	struct u64map born;
	struct go_site_info *info;
	size_t ninfo;
	struct site_waits *waits;	/* by site id, during a full read */
	size_t nwaits;
	/* reads */
	int64_t count_start, count_end;
	uint64_t exits_by_reads;	/* probed goroutines found gone */
	int64_t unsampled;		/* live, creation not probed (last read) */
	int64_t runtime_leaked;		/* _Gleaked (last read) */
	bool scanned;
	uint64_t bias;
	bool have_bias;
	uint32_t nreads;
	double next_read_s;
	double read_ms_last, read_ms_max, read_ms_sum;
	double first_read_s, last_read_s;
};

struct go_site_info *go_info(struct go_state *g, uint32_t site_id);
/* Read side (trace/goreads.c). */
void go_full_read(struct lt_target *ctx, bool initial);
void go_ages(struct lt_target *ctx);
void go_parked_since(struct lt_target *ctx);
/* Probe side: a go statement whose goroutines have no sampled creation
 * stack; probed on its own when the budget and a proven place allow. */
void go_stmt_want(struct lt_target *ctx, uint64_t gopc);
#endif
