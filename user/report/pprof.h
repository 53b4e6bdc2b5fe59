/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --format pprof: the sites as a gzipped profile.proto (user/profile.proto)
 * for `go tool pprof` and other pprof readers.
 *
 * One sample type per kind that has sites: goroutines/count,
 * threads/count, mapped_bytes/bytes (mmap and brk), resident_bytes/bytes
 * (faults), heap_bytes/bytes, malloc_bytes/bytes. Each site is one sample
 * with its value under its kind's type (0 under the others), its stack
 * (innermost location first, inlined frames as extra lines of one
 * location) and labels kind, leak and, for goroutines, wait_reason. The
 * profile is fully symbolized: readers need not open the binaries.
 */
#ifndef LT_PPROF_H
#define LT_PPROF_H
#include <stdio.h>
#include "trace/world.h"

/* Writes the profile for ctx's sites (model_rank() done). 0 or -errno. */
int pprof_write(struct lt_ctx *ctx, struct lt_target *tg, FILE *out);
#endif
