/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The run's set of traced processes: opening one (a pid, or -- CMD held
 * until attached), attaching its trackers to the run's BPF objects,
 * releasing it; and, for --all and --cgroup, finding them: every user
 * process of the host or of one cgroup subtree (proc/scan.h), rescanned
 * every interval, new ones attached, exited ones released after their
 * final sample. */
#ifndef LT_NODE_H
#define LT_NODE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "trace/world.h"

/* Opens the process (pid, or ctx->opts.cmd when pid is 0) into tg:
 * /proc, symbolizer, model, whether it is Go. quiet: a process that
 * vanished or cannot be read is not said (discovery). 0, 2 for a bad
 * target (said unless quiet), 1 for a runtime failure. */
int node_target_open(struct lt_ctx *ctx, struct lt_target *tg, pid_t pid,
		     bool quiet);
/* Its trackers on the run's objects; in the map mode it is added to the
 * "traced" map last, once all its state exists. 0 or 1 (said). */
int node_target_attach(struct lt_ctx *ctx, struct lt_target *tg);
/* Out of the "traced" map and the run's list; its state freed. */
void node_target_free(struct lt_ctx *ctx, struct lt_target *tg);

struct node_stats {
	uint64_t seen;		/* processes attached since the start */
	uint64_t released;	/* exited, released after their final sample */
	uint64_t vanished;	/* exited before they could be attached */
	uint64_t refused;	/* could not be traced (said once each) */
	uint64_t over_limit;	/* not traced: --max-processes reached */
};

/* --all / --cgroup: resolves the cgroup (exit 2 message when it cannot
 * be read), scans, opens every process found (not attached yet: the BPF
 * objects come after). 0, 2 (said), 1. */
int node_open(struct lt_ctx *ctx);
/* Rescans: new processes opened and attached (their goroutines read),
 * exited ones marked (tg->exited) for node_release_exited after their
 * final sample. Returns the number of processes added. */
int node_rescan(struct lt_ctx *ctx);
/* Frees every exited target (after its final sample). */
void node_release_exited(struct lt_ctx *ctx);
const struct node_stats *node_stats(const struct lt_ctx *ctx);
void node_close(struct lt_ctx *ctx);
#endif
