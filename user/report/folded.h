/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --format folded: one collapsed stack per site for flame-graph tools
 * (flamegraph.pl, inferno, speedscope):
 *
 *     kind;outermost;...;innermost VALUE
 *
 * VALUE is outstanding bytes for memory kinds and live objects for
 * goroutines and threads; the kind is the root frame, so each kind gets
 * its own tower. Sites with nothing outstanding are left out.
 */
#ifndef LT_FOLDED_H
#define LT_FOLDED_H
#include <stdio.h>
#include "trace/world.h"

/* Writes the folded stacks of ctx's ranked sites to out. 0 or -errno. */
int folded_write(struct lt_target *tg, FILE *out);
/* The value a site contributes to a profile: bytes for memory kinds, live
 * objects otherwise; 0 when not applicable. */
int64_t folded_site_value(const struct site *s);
#endif
