/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the report says of a goroutine site beyond the common fields: how
 * much of it the creation probe sampled, who created its creators
 * (ancestry), and goroutines the Go runtime itself marked leaked.
 */
#ifndef LT_REPORT_GOROUTINES_H
#define LT_REPORT_GOROUTINES_H
#include <stdio.h>
#include "model/model.h"

#define ANCESTRY_MAX 8

struct json_object;
/* Adds sampled_share, unsampled, creation, ancestry, runtime_leaked. */
void goroutine_site_json(const struct site *s, struct json_object *o);
/* Indented lines under the site's row (indent: spaces before each). */
void goroutine_site_text(const struct site *s, FILE *out, int indent);
/* The ancestors of s, creator first, at most max; returns the count. */
int goroutine_ancestry(const struct site *s, const struct site **out, int max);
/* Frames that stand for an ancestor: its creation stack, or for one alive
 * before attach (whose creation stack is unknown) where it waits now. */
const struct frame *goroutine_ancestor_frames(const struct site *a, int *n);
#endif
