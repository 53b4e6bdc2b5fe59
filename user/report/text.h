/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The text report and the live view: one entry per culprit. */
#ifndef LT_TEXT_H
#define LT_TEXT_H
#include <stdio.h>
#include "trace/world.h"
#include "proc/memlimit.h"
#include "report/findings.h"

/* "function (file:line)", or "0xADDR in module". */
void text_frame(const struct frame *f, char *buf, size_t len);
/* fn without a C++ parameter list ("ns::f(...)"), in buf, or fn itself. */
const char *text_short_function(const char *fn, char *buf, size_t len);
/* The culprit of an entry: "function (file:line, line...)" with the
 * lines its sites were merged from; "" when it has none. */
struct entry;
void text_culprit(const struct entry *e, char *buf, size_t len);
/* Writes the text report. */
void text_report(struct lt_ctx *ctx, struct lt_target *tg, FILE *out, const struct finding *fs, int nf);

/* The process's memory limit and when the RSS growth now reaches it. */
struct limit_view {
	bool have;
	struct memlimit lim;
	double rss_now_per_min;	/* RSS slope over the recent part, bytes/min */
	double minutes;		/* until the limit at that rate; INFINITY */
};
void text_limit(struct lt_target *tg, struct limit_view *v);
/* "limit 1.0 GiB (cgroup v1 /x), at +12.0 MiB/min reached in ~35 min" */
void text_limit_line(const struct limit_view *v, char *buf, size_t len);
/* The exe as the process runs it: argv[0] (resolved next to the exe when
 * it is a bare name that names the same file), else the exe. */
void text_exe(const struct lt_target *tg, char *buf, size_t len);
#endif
