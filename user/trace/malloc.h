/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Native allocation sites (SITE_MALLOC): uprobes on the target's allocator
 * (sym/allocsyms.h) attached in duty windows within --malloc-budget. While
 * attached every call is seen; an allocation seen in a window counts for
 * 1/duty allocations (the windows are a uniform sample of time). A
 * sampled object is live until its free is seen in a window, or until the
 * allocator hands its address out again in a later window (it was freed
 * while no probe looked), or its pages are unmapped.
 *
 *   outstanding bytes of a stack = sum over its live sampled objects of
 *                                  size / duty of the window it was seen in
 */
#ifndef LT_TRACE_MALLOC_H
#define LT_TRACE_MALLOC_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "leaktrace.h"

struct lt_target;
struct lt_maps;
struct site;
struct json_object;

/* Finds the allocator, loads and measures the probes. 0 also when there
 * is nothing to probe (said); -errno when the BPF programs fail. */
int malloc_open(struct lt_target *ctx, const struct lt_maps *maps);
void malloc_close(struct lt_target *ctx);
bool malloc_enabled(const struct lt_target *ctx);
/* Attaches or detaches as the budget says (each poll tick). */
void malloc_tick(struct lt_target *ctx, const struct lt_maps *maps);
/* The programs cut the current window (their cap; they woke us): end it
 * and detach now. Call before draining the ring buffers. */
void malloc_tick_cut(struct lt_target *ctx, const struct lt_maps *maps);
int malloc_poll_ms(const struct lt_target *ctx, int max_ms);
/* Adds the allocator's own ring buffer to rb (once it is open). */
struct ring_buffer;
int malloc_ring(struct lt_target *ctx, struct ring_buffer *rb);
void malloc_handle(struct lt_target *ctx, const void *rec, size_t size);
void malloc_stop(struct lt_target *ctx);
/* At each sample, before the model's: the sites' estimates fitted into the
 * process's private writable memory (VmData, bytes; 0 unknown). */
void malloc_collect(struct lt_target *ctx, uint64_t vm_data);
void malloc_drops(const struct lt_target *ctx, uint64_t *out);
/* Report: "malloc_sampling", per-site sampled counts, one text line. */
struct json_object *malloc_sampling_json(const struct lt_target *ctx);
void malloc_site_json(const struct lt_target *ctx, const struct site *s,
		      struct json_object *o);
void malloc_sampling_text(const struct lt_target *ctx, FILE *out);
/* After model_rank: fault, brk and mmap growth in allocator memory (first
 * touched or mapped inside the allocator; with no application mapping of
 * its own, every first touch) whose culprit function has no growing malloc
 * site of its own is what the allocator reuses and hands to others: shown
 * as the consequence of the top growing malloc site (heap_cause), verdict
 * none, entries rebuilt. Returns how many. */
int malloc_explain(struct lt_target *ctx);
#endif
