/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Goroutines: live goroutines per creation stack, counted by reads of the
 * target's runtime.allgs (where each waits, since when), creation stacks
 * from a creation uprobe kept within a CPU budget and from probes on
 * single go statements, and who created whom (ancestry). */
#ifndef LT_GO_H
#define LT_GO_H
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "trace/target.h"
#include "leaktrace.h"

struct lt_maps;

/* Attaches the Go probes when the target is a Go binary. Returns 0 also
 * for a non-Go target (goroutine tracing is then off, with one note);
 * -errno when a Go target could not be probed. exe: the binary as seen
 * from here. */
int go_open(struct lt_target *ctx, const char *exe,
	    const struct lt_maps *maps);
void go_close(struct lt_target *ctx);
bool go_enabled(const struct lt_target *ctx);
void go_handle(struct lt_target *ctx, const struct lt_go_event *e);
/* Reads the goroutines that exist before the first sample (call once the
 * probes are live). */
void go_scan_existing(struct lt_target *ctx);
/* Per interval: ages; when due (reads are paced by their own cost) or
 * forced, reads every goroutine's state and park stack from the target's
 * memory and recounts every goroutine site. */
void go_collect(struct lt_target *ctx, bool force);
/* Every poll tick: keeps the creation probe within its budget (attached,
 * or duty-cycled) and go statement probes within theirs. */
void go_tick(struct lt_target *ctx);
/* The creation probe's window was cut by its programs (they woke us):
 * end it and detach now. Call before draining the ring buffers. */
void go_tick_cut(struct lt_target *ctx);
/* Poll timeout: max_ms, or less when the probe's state changes sooner. */
int go_poll_ms(const struct lt_target *ctx, int max_ms);
/* Report: how goroutines were seen and at what cost ("goroutine_sampling"
 * in JSON; NULL when not Go), and its line in the text report. */
struct json_object;
struct json_object *go_sampling_json(const struct lt_target *ctx);
void go_sampling_text(const struct lt_target *ctx, FILE *out);
/* Live goroutines at the first and latest full read; -1 if not Go. */
int64_t go_count_start(const struct lt_target *ctx);
int64_t go_count_end(const struct lt_target *ctx);
/* Probed goroutines that full reads found gone (there is no exit probe
 * by default: this is how exits are seen). */
uint64_t go_exits_reconciled(const struct lt_target *ctx);
const char *go_version(const struct lt_target *ctx);
/* The target's Go runtime description (for reading allgs), or NULL. */
struct go_runtime;
const struct go_runtime *go_runtime(const struct lt_target *ctx);
/* The site of a live goroutine (its creation stack when the probes saw it
 * created), or NULL. */
struct site *go_site_of(struct lt_target *ctx, uint64_t goid);
/* The run's Go probe objects, one per executable shared by its traced
 * processes: their number, and "go_executables" (exe, Go version, pids,
 * uprobe links, how attached) for the node report. */
int go_executables(void);
struct json_object *go_executables_json(void);
/* Stops new records (the last drain then ends). */
void go_stop(struct lt_target *ctx);
void go_drops(const struct lt_target *ctx, uint64_t *out);
#endif
