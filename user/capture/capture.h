/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* leaktrace capture: one trace, one bundle for an incident ticket. The
 * normal run feeds it (a hook per sample, one at the end): every file of
 * the bundle comes from that single trace.
 */
#ifndef LT_CAPTURE_H
#define LT_CAPTURE_H
#include "trace/world.h"

#define CAPTURE_DEFAULT_S 60.0

/* Checks the bundle's directory (opts.output, or a default name in the
 * current directory) and creates the capture state in ctx->capture.
 * argv: the options after "capture", recorded in the bundle. 0, or -errno
 * after one clear message (the caller exits 2). */
int capture_new(struct lt_ctx *ctx, int argc, char **argv);
/* Called after every sample: records the process totals and per-kind
 * sums, takes the start snapshots on the first call, and shows progress
 * on a terminal. */
void capture_sample(struct lt_ctx *ctx, struct lt_target *tg);
/* Writes the bundle (model_rank() done): the directory, atomically
 * renamed into place, then its .tar.gz. 0, or 1 after a message. */
int capture_write(struct lt_ctx *ctx, struct lt_target *tg);
void capture_free(struct lt_ctx *ctx);
#endif
