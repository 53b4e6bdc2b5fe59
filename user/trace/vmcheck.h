/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The address space as the memory calls leaktrace saw say it is, checked
 * against the kernel's: a call made where no probe sits (a raw `syscall`
 * outside the code scanned, shmat, io_uring) maps or unmaps memory leaktrace
 * never learns of. Seeded from /proc/PID/maps, moved by every mmap, munmap,
 * mremap and brk seen; each interval its size is compared with VmSize (a
 * number already read), and only when they differ is /proc/PID/maps read
 * to find the ranges. A range that differs at two checks in a row is a
 * miss, not a record still in flight.
 */
#ifndef LT_VMCHECK_H
#define LT_VMCHECK_H
#include <stdbool.h>
#include <stdint.h>

struct vmcheck;

struct vm_miss {
	uint64_t start, end;	/* the first range that differs */
	bool mapped;		/* mapped with no call seen (else: gone
				 * with no call seen) */
	char path[256];		/* its file, "" anonymous */
	uint64_t mapped_bytes;	/* all ranges mapped unseen */
	uint64_t unmapped_bytes;	/* all ranges gone unseen */
};

struct vmcheck *vmcheck_new(void);
void vmcheck_free(struct vmcheck *v);
/* Seeds from process pid's maps (our namespace); its break is learnt from
 * the [heap] line. 0 or -errno (the check stays off). */
int vmcheck_seed(struct vmcheck *v, int pid);
/* The calls seen (page-aligned lengths). */
void vmcheck_map(struct vmcheck *v, uint64_t addr, uint64_t len);
void vmcheck_unmap(struct vmcheck *v, uint64_t addr, uint64_t len);
void vmcheck_remap(struct vmcheck *v, uint64_t old, uint64_t old_len,
		   uint64_t new_addr, uint64_t new_len);
void vmcheck_brk(struct vmcheck *v, uint64_t brk);
/* The process exec'd: seeded again at the next check. */
void vmcheck_exec(struct vmcheck *v);
/* vm_bytes: VmSize of the process now. 1 with *miss when a range differs
 * at two checks in a row (the mirror then takes the kernel's view); 0
 * when they agree (or cannot be compared). */
int vmcheck_check(struct vmcheck *v, int pid, uint64_t vm_bytes,
		  struct vm_miss *miss);
#endif
