/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The native allocator a process uses and where its entry points are:
 * glibc malloc in libc.so.6, jemalloc (libjemalloc.so.2, or linked into
 * the executable with a prefix such as je_), tcmalloc (libtcmalloc*.so),
 * or any other library that defines malloc. Read from the target's mapped
 * files (/proc/PID/maps, through /proc/PID/root), never from its memory.
 */
#ifndef LT_ALLOCSYMS_H
#define LT_ALLOCSYMS_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "leaktrace.h"

#define ALLOC_MAX_PROBES 48

struct alloc_probe {
	char path[4096];	/* the file to attach to (under /proc/PID/root) */
	char sym[64];		/* the symbol probed */
	uint64_t offset;	/* its file offset */
	enum lt_malloc_fn fn;
};

struct alloc_found {
	char name[64];		/* "glibc", "jemalloc", "tcmalloc", "je_ (static)" ... */
	char module[256];	/* the file that serves malloc (as mapped) */
	char prefixed[64];	/* "je_ in redis-server": a prefixed allocator
				 * in the executable, probed too; "" none */
	struct alloc_probe probes[ALLOC_MAX_PROBES];
	int n;
};

/* Finds the allocator(s) of process pid: the one that serves malloc (the
 * executable's own, else a library other than libc, else libc) plus a
 * prefixed allocator linked into the executable (je_malloc ...). Each
 * address is probed once (aliases such as glibc's memalign and
 * aligned_alloc share one). 0, -ENOENT when no allocator was found, or
 * -errno. */
int alloc_find(pid_t pid, struct alloc_found *out);
/* Whether the ELF file at path holds Go code (.gopclntab or .go.buildinfo):
 * alloc_find never probes an allocator in such a file. */
bool alloc_module_is_go(const char *path);
#endif
