/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The verdict on a site and its rank: the one place that decides what
 * users are told. analyze.c describes a series (shape, rates, change
 * point); the rules here turn that, the site's counters and the process's
 * RSS into a verdict, and the verdict and the current rate into a score.
 */
#ifndef LT_VERDICT_H
#define LT_VERDICT_H
#include "model/model.h"

/* A leak verdict also needs an absolute rise over the window: a few
 * hundred KiB of warm-up page faults or two goroutines are noise, whatever
 * their fit. Slow leaks clear it in time: one goroutine a minute rises by
 * 3 in three minutes, 1 MiB a minute by 1 MiB in one. */
#define VERDICT_MIN_RISE_BYTES (1024.0 * 1024.0)
#define VERDICT_MIN_RISE_OBJECTS 3.0

/* Fills s->verdict and s->verdict_why from s->growth (analyze_growth
 * first) and the counters; rss_rise: how much the process's RSS rose over
 * the window (bytes, NAN if unknown). Also sets s->growth.leak to
 * (verdict == VERDICT_LEAK) so every output agrees. */
enum verdict verdict_decide(struct site *s, double rss_rise);
/* The site's rate now, per minute: the recent slope; for a leak the
 * whole-window slope when that is larger (a leak's recent part may be one
 * of its pauses). Never negative. */
double verdict_rate_now(const struct site *s);
/* Rank score: how fast it grows now, normalised per kind (MiB/min; one
 * goroutine or thread a minute counts as 4 MiB/min), weighted by the
 * verdict, plus a tenth of what is already held (bytes / 64 MiB, objects
 * / 100), so one-shot captures still rank by size. */
double verdict_score(const struct site *s);
const char *verdict_name(enum verdict v);	/* JSON: "leak", ... */
const char *verdict_label(enum verdict v);	/* text column: "LEAK", ... */
/* Order of strength: LEAK > GROWING > STOPPED > RECYCLED > NONE. */
int verdict_strength(enum verdict v);
#endif
