// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "sym/funcnames.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const roots[] = {
	"_start", "__libc_start_main", "__libc_start_call_main",
	"start_thread", "clone", "clone3", "__clone", "__clone3",
	"thread_start", "runtime.goexit", "runtime.goexit.abi0",
	"runtime.mstart", "runtime.mstart.abi0", "runtime.rt0_go",
	"runtime.rt0_go.abi0", "runtime.main", "runtime.mcall",
	"runtime.morestack", "runtime.morestack.abi0",
	"runtime.systemstack", "runtime.systemstack.abi0",
	"runtime.sigtramp", "runtime.sigreturn__sigaction",
};

static const char *const stack_switches[] = {
	"runtime.asmcgocall", "runtime.asmcgocall.abi0",
};

static const char *const allocator[] = {
	"malloc", "__libc_malloc", "_int_malloc", "sysmalloc",
	"calloc", "__libc_calloc", "realloc", "__libc_realloc",
	"_int_realloc", "tcache_init", "malloc_consolidate",
	"_int_memalign", "__libc_memalign", "posix_memalign",
};

static const char *const plumbing_prefixes[] = {
	"runtime.", "internal/", "syscall.", "__", "mmap", "munmap",
	"mremap", "brk", "sbrk", "madvise", "clone", "_int_", "sysmalloc",
	"malloc", "calloc", "realloc", "operator new", "pthread_create",
	"start_thread", "create_thread",
};

static bool in_list(const char *fn, const char *const *list, size_t n)
{
	for (size_t i = 0; fn && i < n; i++)
		if (!strcmp(fn, list[i]))
			return true;
	return false;
}

bool fn_is_stack_root(const char *fn)
{
	return in_list(fn, roots, N(roots));
}

bool fn_is_stack_switch(const char *fn)
{
	return in_list(fn, stack_switches, N(stack_switches));
}

bool fn_is_allocator(const char *fn)
{
	return in_list(fn, allocator, N(allocator));
}

bool fn_is_go_runtime(const char *fn)
{
	return fn && !strncmp(fn, "runtime.", 8);
}

bool fn_is_plumbing(const char *fn)
{
	for (size_t i = 0; fn && i < N(plumbing_prefixes); i++)
		if (!strncmp(fn, plumbing_prefixes[i], strlen(plumbing_prefixes[i])))
			return true;
	return false;
}
