/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a process's code makes its memory system calls (x86-64): every
 * `mov $NR, %eax; syscall` with NR mmap, munmap, mremap, brk or madvise in
 * the executable files it has mapped (the C library's wrappers, ld.so's own
 * copies, a static binary's). A uprobe on the instruction right after each
 * sees the call's arguments and result in one hit, in that process only;
 * the syscall tracepoints would slow every system call of every process on
 * the host while attached. Each placement is proven: the pattern lies in a
 * function whose bounds the file's CFI gives, and a clean linear
 * disassembly of that function has instructions starting at the mov, the
 * syscall and the probed instruction. Read from the files, never from the
 * process's memory.
 */
#ifndef LT_MEMSITES_H
#define LT_MEMSITES_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "leaktrace.h"

#define MEMSITES_MAX 32

struct mem_site {
	char path[4096];	/* the file to attach to (under /proc/PID/root) */
	uint64_t offset;	/* file offset of the instruction after syscall */
	uint64_t vaddr;		/* link-time address of the syscall */
	enum lt_event_type type;	/* LT_EV_MMAP ... LT_EV_MADVISE */
};

struct mem_sites {
	struct mem_site s[MEMSITES_MAX];
	int n;
	int files;		/* executable files scanned */
};

/* The memory syscall sites of process pid (pid in our namespace). 0 with
 * every site, when each is proven and mmap and munmap have one at least;
 * -EDOM when the sites cannot stand for the syscalls, the reason in why
 * ("..." to follow "the syscall tracepoints: "); -errno. */
int memsites_find(pid_t pid, struct mem_sites *out, char *why, size_t len);
/* Every site of one file (path: readable here), appended to out; for
 * tests. 0, -EDOM with why, or -errno. */
int memsites_scan_file(const char *path, struct mem_sites *out, char *why,
		       size_t len);
#endif
