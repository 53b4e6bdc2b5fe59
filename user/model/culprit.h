/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The culprit of a stack: its innermost application frame. Frames of the
 * Go runtime, syscall wrappers, libc, the allocator and libraries'
 * dispatch loops are plumbing: they are where memory is obtained, not why.
 */
#ifndef LT_CULPRIT_H
#define LT_CULPRIT_H
#include <stdbool.h>
#include "model/model.h"

enum plumbing {
	PLUMB_NONE,		/* application code */
	PLUMB_RUNTIME,		/* Go runtime, runtime/cgo, syscall wrappers */
	PLUMB_LIBC,		/* libc, the dynamic loader, libgcc, libstdc++ */
	PLUMB_ALLOCATOR,	/* malloc families, slab refills */
	PLUMB_DISPATCH,		/* event loops that call application handlers */
	PLUMB_LIBRARY,		/* Go's standard library: the culprit only when
				 * no application frame calls it */
};

/* What kind of plumbing f is (PLUMB_NONE: application). A frame without a
 * function name is application code unless its module is a system library. */
enum plumbing frame_plumbing(const struct frame *f);
/* Index of the culprit frame of s: the first application frame, else the
 * first standard-library frame; -1 when every frame is plumbing (the growth
 * is a symptom of what drives the runtime or allocator). A goroutine's is
 * its go statement (frame 0), -1 for the runtime's own goroutines. */
int site_culprit_frame(const struct site *s);
#endif
