/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One Go probe object per executable: the BPF object (go.bpf.c), its
 * probe plan, its creation probe and the budget that duty-cycles it are
 * shared by every traced process running that executable (by device and
 * inode: uprobes are per inode). Created by the first process that joins,
 * destroyed with the last that leaves. Private to trace/go.c and
 * trace/goreads.c.
 *
 * Where the probes sit (decided per run):
 *   one process (-p PID, -- CMD)   the object's rodata names the process
 *                                  (one compare in BPF), links for its pid
 *   --all                          each probe attached once, for any pid:
 *                                  the program filters by the "traced" map
 *   --cgroup, -p A,B               links per traced process on the one
 *                                  object: the kernel installs the
 *                                  breakpoint only in those processes
 * Under --cgroup and -p a pid -1 probe would trap in every process of the
 * binary, traced or not (a pod's replicas outside the cgroup, the other
 * instances of a service): ~15-20 us a hit on this VM paid by processes
 * nobody asked to trace, to be thrown away by the map filter. A per-pid
 * link costs a traced process one more consumer check per hit (the kernel
 * walks the probe's consumers, tens of ns each) and leaktrace one perf
 * event per probe and process; under --all every process is traced
 * anyway, so one link serves all (the exceptions trap and are filtered
 * out: processes past --max-processes, ones that refused tracing, and new
 * ones until the next scan picks them up).
 */
#ifndef LT_GOEXE_H
#define LT_GOEXE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "go/goprobes.h"
#include "trace/probe_budget.h"

struct go_bpf;
struct bpf_link;
struct go_runtime;
struct lt_maps;
struct lt_opts;
struct json_object;

struct go_links {
	struct bpf_link **v;
	int n;
};

/* A traced process of the executable. */
struct go_exe_member {
	uint32_t id;			/* its join's number (pids repeat) */
	pid_t pid;			/* as seen from here (attach) */
	uint32_t tgid;			/* host tgid */
	struct go_links new_links;	/* per-pid mode: creation probe */
	struct go_links park_links;	/* per-pid mode: --go-parks */
};

struct go_exe {
	dev_t dev;
	ino_t ino;
	char name[256];			/* its path when first joined */
	struct go_runtime *rt;		/* its own reference */
	struct go_probe_plan plan;
	struct go_bpf *skel;
	bool any_pid;			/* links for pid -1 (--all) */
	bool parks;			/* --go-parks */
	uint64_t t0_ns;			/* CLOCK_MONOTONIC at creation */
	struct go_exe_member *m;	/* m[0] leads: ticks, drops */
	int nm;
	uint32_t joined;		/* processes that ever joined */
	/* creation probe, attached and detached by the budget */
	struct go_links new_any;	/* any_pid mode */
	struct go_links park_any;
	bool new_attached;
	struct probe_budget pb;		/* this executable's probes, summed
					 * over its processes */
	double attach_s;		/* the last attach took this long */
	uint64_t late_at;		/* go_new_late when the window began */
	uint64_t first_hits;		/* hits of the first window, once off */
	double cap_since;		/* pb.since of the window the BPF
					 * rate mark was set for */
	double cost_s;			/* one creation probe hit, all told */
	double mech_s;			/* ... of which the uprobe mechanism */
	bool cost_measured;
	const char *probe_insn;		/* "nop5", "call" or "ret" */
	uint64_t attach_errors;
	int links_peak;			/* most uprobe links held at once */
	bool refused;		/* the creation probe's attach was refused (EACCES) */
	struct go_exe *next;
};

/* The object of rt's executable, created (loaded, cost measured, probes
 * on) by the first process; the process (pid as seen from here, host
 * tgid) joins it and gets its links in per-pid mode. 0, *out and *id
 * (the membership, for leave); 1 when the runtime's functions are not
 * found (said: goroutine tracing off); -errno. */
int goexe_join(struct go_runtime *rt, const struct lt_opts *o,
	       const struct lt_maps *maps, pid_t pid, uint32_t tgid,
	       struct go_exe **out, uint32_t *id);
/* The member leaves (its links go); the last one destroys the object. */
void goexe_leave(struct go_exe *x, uint32_t id);
/* The member leads the object (its tick and drops count for all). */
bool goexe_leads(const struct go_exe *x, uint32_t id);
/* Seconds since the object was created (the budget's clock). */
double goexe_now(const struct go_exe *x);
/* Keeps the creation probe within the executable's budget. */
void goexe_tick(struct go_exe *x);
/* Links of the object now (every program, every process). */
int goexe_nlinks(const struct go_exe *x);
/* A link of prog for one process (go statement probes), -errno. */
int goexe_attach(struct go_exe *x, struct bpf_program *prog, pid_t pid,
		 uint64_t offset, struct bpf_link **out);
/* Every Go object of the run: "go_executables" (node JSON), and their
 * number. */
struct json_object *goexe_all_json(void);
int goexe_count(void);
#endif
