/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Goroutines that already exist in a live Go process: runtime.allgs read
 * with process_vm_readv (never written, never stopped), each g's state and
 * its parked stack unwound by frame pointers.
 */
#ifndef LT_GOALLGS_H
#define LT_GOALLGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct go_runtime;
struct gopcln;

/* One goroutine. Addresses are the target's (runtime) addresses; subtract
 * bias for link-time ones. Valid only during the callback. */
struct go_g {
	uint64_t gaddr;		/* address of the g struct */
	uint64_t goid;
	uint64_t parent_goid;	/* 0 if unknown (Go < 1.21) */
	uint32_t status;	/* enum go_gstatus, _Gscan bit cleared */
	bool scan;		/* _Gscan bit was set */
	uint8_t waitreason;	/* meaningful when status is waiting */
	const char *waitreason_name;	/* NULL if the code is unknown */
	/* Approximately when it blocked, in runtime nanotime (==
	 * CLOCK_MONOTONIC ns): the first GC that sees it blocked stamps it
	 * with the end of the previous GC cycle. 0 until then (and after
	 * only one GC ever). */
	int64_t waitsince;
	uint64_t gopc;		/* pc of the go statement that created it */
	uint64_t startpc;	/* its function */
	uint64_t sched_pc, sched_sp, sched_bp;
	uint64_t stack_lo, stack_hi;
	int tid;		/* OS thread (m.procid) if running/in syscall,
				 * else 0 */
	/* Park stack, innermost first: pcs[0] = sched.pc, then return
	 * addresses from the frame-pointer chain (symbolize with pc - 1; the
	 * last frame is usually runtime.goexit). Empty for running
	 * goroutines (their sched is stale). */
	const uint64_t *pcs;
	int npcs;
	bool truncated;		/* more frames than max_frames, or a
				 * frame could not be read */
	uint64_t bias;		/* runtime address - link-time address */
};

struct go_allgs_opts {
	int max_frames;		/* per goroutine; 0 -> 64, capped at 512 */
	bool include_dead;	/* also report _Gdead gs (free list) */
};

struct go_allgs_stats {
	size_t allglen;		/* len(allgs) */
	size_t reported;	/* callbacks made */
	size_t dead;		/* skipped _Gdead / idle gs */
	size_t unreadable;	/* gs whose struct could not be read */
	size_t syscalls;	/* process_vm_readv calls made */
	uint64_t bias;
};

/* Return non-zero to stop the walk (go_read_allgs returns that value). */
typedef int (*go_g_fn)(const struct go_g *g, void *ctx);

/* Reads every goroutine of process pid, which runs rt's binary. opts and
 * stats may be NULL. Returns 0, the callback's non-zero value, -ENOTSUP
 * when runtime.allgs could not be located, -ESRCH/-EPERM from the reads,
 * -ENOEXEC when the process does not look like it runs rt's binary, or
 * another -errno. */
int go_read_allgs(int pid, const struct go_runtime *rt,
		  const struct go_allgs_opts *opts, go_g_fn fn, void *ctx,
		  struct go_allgs_stats *stats);

/* Link-time address of the runtime.allgs slice header: .symtab when
 * present, else from the RIP-relative loads of runtime.forEachG (allgs and
 * allgs+8), else the appends in runtime.allgadd (allgs, +8, +16). how gets
 * "symtab", "forEachG" or "allgadd". 0 or -ENOENT. */
int go_allgs_locate(Elf *elf, const struct gopcln *t, uint64_t *addr,
		    const char **how);

/* Only the code-based method: RIP-relative references in func
 * ("runtime.forEachG" or "runtime.allgadd"). 0 or -ENOENT. */
int go_allgs_locate_code(Elf *elf, const struct gopcln *t, const char *func,
			 uint64_t *addr);

/* Load bias of pid's executable from /proc/PID/auxv (AT_ENTRY - e_entry).
 * 0 or -errno. */
int go_load_bias(int pid, uint64_t elf_entry, uint64_t *bias);
#endif
