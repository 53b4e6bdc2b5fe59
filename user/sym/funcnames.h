/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What well-known function names mean, in one place: where stacks begin
 * (thread and goroutine roots), where a stack switches to another
 * (cgo), the allocator's entry points, and the runtime/libc/syscall
 * plumbing users skip to reach their own code. fn may be NULL (false). */
#ifndef LT_FUNCNAMES_H
#define LT_FUNCNAMES_H
#include <stdbool.h>

/* Outermost frame of a complete stack (_start, start_thread, clone,
 * runtime.goexit, runtime.mstart, ...): a stack ending elsewhere was cut
 * short. */
bool fn_is_stack_root(const char *fn);
/* Code that switches to the system stack to run C (cgo): frames beyond it
 * belong to another stack. */
bool fn_is_stack_switch(const char *fn);
/* An allocator's own function (malloc, calloc, realloc, memalign and
 * glibc's internals behind them). */
bool fn_is_allocator(const char *fn);
/* A Go runtime function ("runtime." prefix). */
bool fn_is_go_runtime(const char *fn);
/* Runtime, libc, syscall-wrapper or allocator plumbing between the event
 * and the code that asked for it (a prefix match). */
bool fn_is_plumbing(const char *fn);
#endif
