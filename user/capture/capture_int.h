/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The capture's state, shared by its files (capture.c, snap.c, gdump.c,
 * bundle.c, html.c). */
#ifndef LT_CAPTURE_INT_H
#define LT_CAPTURE_INT_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "trace/world.h"

/* One sample of the whole process, as the run took it. */
struct cap_point {
	double t;			/* seconds since attach */
	double rss, rss_anon;		/* bytes */
	double threads;
	double kind[SITE_KIND_MAX];	/* sum over sites; -1 no site */
};

struct capture {
	char dir[PATH_MAX];	/* final bundle directory */
	char tmp[PATH_MAX + 32];	/* where it is written until complete */
	char *cmdline;		/* leaktrace's own, for the record */
	struct cap_point *pts;
	size_t n, cap;
	bool started;		/* start snapshots taken */
	bool tty;		/* progress on stderr */
	bool progress_shown;
	double next_progress;
	/* The target's cgroup dirs, found at start (they outlive it). */
	char cg2[PATH_MAX];	/* cgroup v2 dir, "" if none */
	char cg1mem[PATH_MAX];	/* v1 memory controller dir, "" if none */
	int64_t oom_start;	/* oom_kill count at start; -1 unknown */
	int64_t oom_end;
	time_t wall_start;
	json_object *gdump;	/* latest goroutine dump (html), or NULL */
	/* relative paths written, in order (for README and the tarball) */
	char **files;
	size_t nfiles;
};

/* bundle.c */
/* Opens tmp/rel for writing (subdirectories created), records rel. */
FILE *cap_open(struct capture *c, const char *rel);
/* Closes f; 0 or -errno (write errors included). */
int cap_close(FILE *f);
/* Writes dir (its files, in order) as DIR.tar.gz, atomically. 0/-errno. */
int cap_tarball(struct capture *c, const char *dir, const char *out);

/* snap.c */
/* Finds the target's cgroup directories (v2 and the v1 memory one). */
void snap_cgroups(struct capture *c, int pid);
/* /proc/PID files and cgroup memory files into "snapshots/<when>/". */
void snap_take(struct capture *c, int pid, const char *when);
/* oom_kill from memory.events (v2) or memory.oom_control (v1); -1. */
int64_t snap_oom_kills(const struct capture *c);
/* The cgroup's memory limit in bytes (memory.max, v1 limit_in_bytes);
 * -1 when there is none or it cannot be read. */
int64_t snap_memory_limit(const struct capture *c);
/* Host, kernel, leaktrace and options, how the target ended (end: the
 * object capture.c builds): host.txt. */
void snap_host(struct capture *c, struct lt_ctx *ctx, struct lt_target *tg, json_object *end);

/* gdump.c */
/* Reads every goroutine from the target's memory and writes rel (Go's
 * debug=2 layout, grouped); keeps the groups as JSON in c->gdump.
 * 0, or -errno (not Go, gone, unreadable). */
int gdump_write(struct capture *c, struct lt_ctx *ctx, struct lt_target *tg, const char *rel);

/* html.c */
/* report.html from report.json (parsed), meta (timeline, how the target
 * ended), the folded stacks and the goroutine dump. 0 or -errno. */
int html_write(struct capture *c, struct lt_target *tg, json_object *report,
	       json_object *meta, const char *folded, const char *rel);
#endif
