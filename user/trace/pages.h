/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel's "pages" map (first-touch stack per page, by chunk; see
 * leaktrace.h) as user space changes it: releases BPF left to it (large
 * munmap/madvise ranges, brk shrinks, MAP_FIXED, mremap shrinks) and
 * mremap moves. On kernels with bpf_loop (5.17+) user space only asks:
 * the memory object's syscall programs do the writes, so BPF is the one
 * writer of the map. Before that user space edits chunks itself, racing
 * with the fault program (a page first touched while its chunk is
 * rewritten may be forgotten). */
#ifndef LT_PAGES_H
#define LT_PAGES_H
#include <stdbool.h>
#include <stdint.h>
#include "util/hashmap.h"

struct pages {
	int map_fd;		/* "pages" */
	int release_fd;		/* lt_pages_release, or -1: edit here */
	int move_fd;		/* lt_pages_move, or -1 */
	uint32_t tgid;		/* host tgid: the high half of its chunk keys */
	/* Counted here when user space edits (else in the kernel's fault
	 * stats): stack id -> pages released / by MADV_FREE. */
	struct u64map released, lazy;
	uint64_t released_pages, lazy_pages;
	uint64_t failed;	/* requests the kernel refused */
};

void pages_init(struct pages *p, int map_fd, int release_fd, int move_fd);
void pages_free(struct pages *p);
/* Forgets the touched pages of [start, end) (byte addresses): no longer
 * resident, or with lazy (MADV_FREE) only until the kernel needs them.
 * held: pages tracked now (a bound on the map's chunks). */
void pages_release(struct pages *p, uint64_t start, uint64_t end, bool lazy,
		   uint64_t held);
/* mremap moved len bytes from old to new: first touches move with them. */
void pages_move(struct pages *p, uint64_t old, uint64_t len, uint64_t new);
#endif
