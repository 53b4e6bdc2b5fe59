/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* export/: leaktrace's results for monitoring systems. This file: the
 * Prometheus text exposition (format 0.0.4) built from plain rows, one
 * target per traced process: pure, no I/O, unit-tested.
 *
 * Cardinality: per process at most top_n site rows (grouped by kind and
 * culprit function), at most max_sites rows in all (targets in list
 * order); what is left out is counted in leaktrace_metrics_sites_omitted.
 */
#ifndef LT_METRICS_H
#define LT_METRICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "proc/identity.h"

#define METRICS_LABEL_MAX 200	/* bytes of a label value kept */

/* Sites of one process sharing (kind, culprit), summed. */
struct metrics_site {
	enum site_kind kind;
	char culprit[METRICS_LABEL_MAX + 1];	/* see metrics_culprit */
	int64_t bytes;		/* -1 n/a */
	int64_t live;		/* -1 n/a */
	double growth_per_min;	/* bytes (memory kinds) or objects */
	bool leak;		/* any of the group's sites is a leak */
};

struct metrics_target {
	const struct proc_identity *id;
	double start_time_s;	/* Unix time the process started; <= 0 unknown */
	bool have_totals;	/* rss and threads were sampled */
	uint64_t rss;		/* bytes */
	uint32_t threads;
	int64_t goroutines;	/* -1: not a Go program, or not traced */
	bool have_heap;		/* heap_inuse is known (Go heap profile) */
	uint64_t heap_inuse;	/* bytes of live heap objects, by the profile */
	const struct metrics_site *sites;	/* most suspect first */
	size_t nsites;
	size_t nmore;		/* groups left out before (metrics_group_sites) */
};

/* leaktrace itself. */
struct metrics_self {
	double cpu_s;		/* user + system */
	uint64_t rss;		/* bytes */
	const uint64_t *drops;	/* by cause */
	const char *const *drop_names;
	size_t ndrops;
	double collected_at;	/* Unix time of the sample shown */
};

struct metrics_limits {
	unsigned int top_n;	/* site rows per process */
	unsigned int max_sites;	/* site rows in all */
};

/* Groups ranked sites (most suspect first) by (kind, culprit) into out,
 * at most max groups, in order of first appearance; sites with nothing
 * live, no growth and no leak are skipped. Returns the number of groups;
 * *more: groups that did not fit. */
size_t metrics_group_sites(struct site *const *ranked, size_t n,
			   struct metrics_site *out, size_t max, size_t *more);
/* The culprit label of a site: its user frame's function, else
 * "[module]" in buf, else "[unknown]"; "[before attach]" for objects
 * that were alive at attach. */
const char *metrics_culprit(const struct site *s, char *buf, size_t len);
/* Writes the exposition for targets t[0..nt) and self to out (a malloc'd
 * NUL-terminated string, *len without the NUL). 0 or -ENOMEM. */
int metrics_build(const struct metrics_target *t, size_t nt,
		  const struct metrics_self *self,
		  const struct metrics_limits *lim, char **out, size_t *len);
/* Writes v escaped as a label value (\\, \", \n; invalid UTF-8 bytes as
 * '?'; cut at METRICS_LABEL_MAX bytes on a character boundary). */
void metrics_label_escape(FILE *f, const char *v);
#endif
