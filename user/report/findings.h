/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Plain-words explanations of what the numbers mean, with the remedy. */
#ifndef LT_FINDINGS_H
#define LT_FINDINGS_H
#include "trace/world.h"

enum finding_severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL };

struct finding {
	enum finding_severity severity;
	const char *kind;	/* "lazyfree", "threads", "truncated", ... */
	char title[320];
	char detail[768];
};

/* Fills out[max] most important first; returns the count. Needs
 * model_rank() first. */
int findings_build(struct lt_ctx *ctx, struct lt_target *tg, struct finding *out, int max);
const char *finding_severity_name(enum finding_severity s);
#endif
