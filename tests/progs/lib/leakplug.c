// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libleakplug.so: a plugin dlopen'ed by dlopen_leak after the trace began.
 * plug_reserve() maps one region up front; plug_touch() then touches a few
 * more of its pages at each call and never gives them back: resident memory
 * grows while the address space keeps its size.
 */
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

static volatile char *region;
static size_t region_len, touched;

__attribute__((noinline, used)) int plug_reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	region = p;
	region_len = len;
	return 0;
}

/* Touches n more pages of the region (the leak: never released). */
__attribute__((noinline, used)) void plug_touch(size_t n)
{
	for (size_t i = 0; i < n && touched + 4096 <= region_len; i++) {
		region[touched] = (char)i;
		touched += 4096;
	}
}

/* n malloc + free pairs of 64 B (allocator calls from the plugin's code). */
__attribute__((noinline, used)) void plug_churn(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		volatile char *p = malloc(64);

		if (p)
			p[0] = (char)i;
		free((void *)p);
	}
}
