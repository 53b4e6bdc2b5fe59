/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* trace/: what runs while tracing. Loading every BPF object (this file) and
 * the maps they share; the trackers that turn their records into sites: mem
 * (with brk, pages, faultsplit, ranges; memsites: where a C process makes
 * its memory syscalls; vmcheck: the mappings seen against the kernel's),
 * task, go, malloc. A new kind of
 * site gets its tracker here. */
/* One lifecycle for every BPF object leaktrace loads, and the one owner of
 * the maps they share.
 *
 *   skel = X_bpf__open();                  open
 *   bpf_map__set_max_entries(its maps)     size its own maps
 *   LT_BPF_COMMON_RODATA(skel, ...);       set rodata (and its own) and
 *   bpf_program__set_autoload(...);        autoload
 *   lt_bpf_load(skel->skeleton, maps, ...) shared maps reused, load, attach
 *
 * The shared maps (the "stacks" map, the "events" ring buffer and the
 * stack-copy maps "copy_need" and "ucopy_buf") are created here before any
 * object is opened; each object reuses their fds, none owns them.
 */
#ifndef LT_LOADER_H
#define LT_LOADER_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_object_skeleton;

struct lt_maps {
	int traced_fd;		/* host tgid -> struct lt_traced */
	uint32_t targ_tgid;	/* the one traced process (its fast path),
				 * 0: the "traced" map says which */
	bool targ_go;		/* targ_tgid is a Go program */
	int stacks_fd;		/* stack id -> struct lt_stack */
	int events_fd;		/* ring buffer of every object */
	int copy_need_fd;	/* stack id -> bytes of stack to copy */
	int ucopy_buf_fd;	/* per-CPU scratch for records with a copy */
	uint64_t wakeup_bytes;	/* ring-buffer fill that wakes user space */
};

/* Creates the shared maps: max_stacks stacks, a ring buffer of
 * ringbuf_mb MiB (rounded up to a power of two), room for max_procs
 * traced processes. 0 or -errno (said). */
int lt_maps_open(struct lt_maps *m, uint32_t max_stacks, uint32_t ringbuf_mb,
		 uint32_t max_procs);
/* Adds a process to the "traced" map (go: its frame pointers may jump
 * between stacks), or removes it. 0 or -errno. */
int lt_maps_trace(const struct lt_maps *m, uint32_t tgid, bool go);
int lt_maps_untrace(const struct lt_maps *m, uint32_t tgid);
void lt_maps_close(struct lt_maps *m);

/* The rodata every object has (common.bpf.h): the one target (or 0: the
 * "traced" map), whether its frame pointers may jump between stacks
 * (Go), when to wake user space. fp_jumps is a global, not rodata:
 * LT_BPF_FP_JUMPS switches it in a loaded object when the target execs. */
#define LT_BPF_COMMON_RODATA(skel, maps)				\
	do {								\
		(skel)->rodata->targ_tgid = (maps)->targ_tgid;		\
		(skel)->bss->fp_jumps = (maps)->targ_go;		\
		(skel)->rodata->wakeup_bytes = (maps)->wakeup_bytes;	\
	} while (0)
#define LT_BPF_FP_JUMPS(skel, go)					\
	do {								\
		if ((skel) && (skel)->bss)				\
			(skel)->bss->fp_jumps = (go);			\
	} while (0)

#define LT_LOAD_ATTACH	1	/* attach its auto-attachable programs */
#define LT_LOAD_QUIET	2	/* a refused load is not said: the caller
				 * tries again with fewer programs */
#define LT_LOAD_OWN_EVENTS 4	/* the object's "events" ring buffer is its
				 * own (fd set by the caller), not shared */

/* Reuses the shared maps the object declares, loads it and, with
 * LT_LOAD_ATTACH, attaches its auto-attachable programs (tracepoints;
 * uprobes are attached by their tracker). what names the object in
 * messages ("memory"). 0 or -errno (said). */
int lt_bpf_load(struct bpf_object_skeleton *s, const struct lt_maps *m,
		const char *what, unsigned int flags);

struct bpf_link;

/* Detaching a tracepoint or uprobe program waits out a grace period of the
 * kernel's (~70 ms each on this VM): one after the other, a run's 18 links
 * took 1.3 s at exit, and a probe window's entry and return links stalled
 * twice. Destroys the links in *slots[0..n) on threads that wait together
 * (NULL slots skipped, every slot left NULL; signals stay the main
 * thread's). Links of distinct slots only: libbpf's bpf_link is not shared. */
void lt_links_destroy(struct bpf_link **const *slots, size_t n);

/* Links destroyed on a thread of their own, while the caller goes on:
 * probes that already stand aside (a flag their programs read) but whose
 * detach would hold up the main loop, and with it the ring buffer and the
 * ticks (ten syscall tracepoints took 0.4 s here). */
#define LT_LATER_MAX 32
struct lt_links_later {
	struct bpf_link *links[LT_LATER_MAX];
	size_t n;
	bool started;		/* th runs; else nothing is pending */
	pthread_t th;
};
/* Takes the links out of *slots[0..n) (each slot left NULL, so it may be
 * filled again at once) and destroys them on a thread (here, now, when no
 * thread can start or j has a detach pending: never two on one j). */
void lt_links_destroy_later(struct lt_links_later *j,
			    struct bpf_link **const *slots, size_t n);
/* Waits for j's links to be gone. */
void lt_links_join(struct lt_links_later *j);
/* Every program link of the skeleton destroyed at once (lt_links_destroy). */
void lt_skel_detach(struct bpf_object_skeleton *s);
/* The same, with the links extra[0..n_extra) in the same wait. */
void lt_skel_detach_with(struct bpf_object_skeleton *s, struct bpf_link **extra,
			 size_t n_extra);
#endif
