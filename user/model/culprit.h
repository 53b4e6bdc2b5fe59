/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The culprit of a stack: its innermost application frame. Frames of the
 * Go runtime, syscall wrappers, libc, the allocator and libraries'
 * dispatch loops are plumbing: they are where memory is obtained, not why.
 */
#ifndef LT_CULPRIT_H
#define LT_CULPRIT_H
#include <stdbool.h>
#include "model/model.h"
#include "sym/funcnames.h"	/* enum plumbing */

/* What kind of plumbing f is (PLUMB_NONE: application). The main
 * executable's frames are never libc; a frame without a function name is
 * application code unless its module is a system library. */
enum plumbing frame_plumbing(const struct frame *f);
/* Index of the culprit frame of s: the first application frame, else the
 * first standard-library frame; -1 when every frame is plumbing (the growth
 * is a symptom of what drives the runtime or allocator). A goroutine's is
 * its go statement (frame 0), -1 for the runtime's own goroutines. */
int site_culprit_frame(const struct site *s);
#endif
