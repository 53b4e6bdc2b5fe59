/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What well-known function and module names mean, in one place (one
 * table in funcnames.c): where stacks begin (thread and goroutine roots),
 * where a stack switches to another (cgo), the allocator's entry points,
 * and which runtime, libc, allocator and dispatch code sits between an
 * event and the application code that asked for it. fn may be NULL. */
#ifndef LT_FUNCNAMES_H
#define LT_FUNCNAMES_H
#include <stdbool.h>

/* What a function is, by its name alone. */
enum plumbing {
	PLUMB_NONE,		/* application code */
	PLUMB_RUNTIME,		/* Go runtime, runtime/cgo, syscall wrappers */
	PLUMB_LIBC,		/* libc, the dynamic loader, libgcc, libstdc++ */
	PLUMB_ALLOCATOR,	/* malloc families, slab refills */
	PLUMB_DISPATCH,		/* event loops that call application handlers */
	PLUMB_LIBRARY,		/* Go's standard library: the culprit only when
				 * no application frame calls it */
};

/* Class of a function name (prefix matches, first row wins); PLUMB_NONE
 * for NULL and for names on no list. */
enum plumbing fn_plumbing(const char *fn);
/* Outermost frame of a complete stack (_start, start_thread, clone,
 * runtime.goexit, runtime.mstart, ...): a stack ending elsewhere was cut
 * short. Exact names. */
bool fn_is_stack_root(const char *fn);
/* Code that switches to the system stack to run C (cgo): frames beyond it
 * belong to another stack. Exact names. */
bool fn_is_stack_switch(const char *fn);
/* An allocator's own function (malloc, calloc, realloc, memalign and
 * glibc's internals behind them). Exact names. */
bool fn_is_allocator(const char *fn);
/* A Go runtime function ("runtime." prefix). */
bool fn_is_go_runtime(const char *fn);
/* Runtime, libc, syscall-wrapper or allocator plumbing between the event
 * and the code that asked for it (fn_plumbing: runtime, libc, allocator). */
bool fn_is_plumbing(const char *fn);
/* A module whose unnamed frames are library code, not the application's:
 * libc, the loader, allocators, libstdc++, the vDSO, and any shared
 * library installed in the system's library directories. */
bool module_is_system(const char *module);
#endif
