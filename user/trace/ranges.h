/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Interval map of a process's mapped ranges, each tagged with the site that
 * mapped it. Models mmap (incl. MAP_FIXED over existing ranges), munmap
 * (partial too), mremap (shrink, grow in place, move) and brk.
 */
#ifndef LT_RANGES_H
#define LT_RANGES_H
#include <stdbool.h>
#include <stdint.h>

struct ranges;

/* Called for every piece of a tagged range that goes away. */
typedef void (*ranges_cb)(void *ctx, uint32_t tag, uint64_t start,
			  uint64_t end);

struct ranges *ranges_new(void);
void ranges_free(struct ranges *r);
/* Maps [start, end) to tag. Overlapped parts of older ranges are removed
 * first and reported through cb (may be NULL). */
void ranges_add(struct ranges *r, uint64_t start, uint64_t end, uint32_t tag,
		ranges_cb cb, void *ctx);
/* Unmaps [start, end); removed pieces reported through cb. */
void ranges_remove(struct ranges *r, uint64_t start, uint64_t end,
		   ranges_cb cb, void *ctx);
/* mremap(old, old_len, new_len) landing at new_addr: the kept prefix moves
 * with its tags, growth beyond old_len gets grow_tag, a shrink's tail is
 * reported removed. Anything previously at the destination is removed. */
void ranges_remap(struct ranges *r, uint64_t old, uint64_t old_len,
		  uint64_t new_addr, uint64_t new_len, uint32_t grow_tag,
		  ranges_cb cb, void *ctx);
/* Bytes currently mapped with tag / in all. */
uint64_t ranges_bytes(const struct ranges *r, uint32_t tag);
uint64_t ranges_total(const struct ranges *r);
/* Number of distinct ranges held. */
uint64_t ranges_count(const struct ranges *r);
/* Operations skipped because memory ran out (the map is then behind). */
uint64_t ranges_errors(const struct ranges *r);
/* The range holding addr, if any; out pointers may be NULL. O(log n). */
bool ranges_find(const struct ranges *r, uint64_t addr, uint32_t *tag,
		 uint64_t *start, uint64_t *end);
/* Calls cb for every range in address order; cb must not modify r. */
void ranges_foreach(const struct ranges *r, ranges_cb cb, void *ctx);
/* Verifies the internal invariants (for tests): returns the tree height
 * (>= 0) or -EUCLEAN. O(n). */
int ranges_check(const struct ranges *r);
#endif
