// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Snapshots for the bundle: /proc/PID files, the target's cgroup memory
 * files (v2, and v1 where the memory controller is still on v1: hybrid
 * hosts), host and kernel facts. Copied as the kernel shows them; what
 * cannot be read is listed in MISSING.txt, never skipped in silence. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "capture/capture_int.h"
#include "report/report.h"
#include "trace/go.h"
#include "sym/symbolize.h"

static const char *const proc_files[] = {
	"status", "smaps_rollup", "limits", "maps", "cgroup", "oom_score",
	"oom_score_adj", "stat", "io",
};
static const char *const cg2_files[] = {
	"memory.current", "memory.max", "memory.high", "memory.peak",
	"memory.stat", "memory.events", "memory.swap.current",
	"memory.swap.max", "memory.pressure", "pids.current", "pids.max",
};
static const char *const cg1_files[] = {
	"memory.usage_in_bytes", "memory.limit_in_bytes",
	"memory.max_usage_in_bytes", "memory.failcnt", "memory.stat",
	"memory.oom_control", "memory.memsw.usage_in_bytes",
	"memory.memsw.limit_in_bytes",
};

/* The mount point of a cgroup hierarchy (v2: fstype cgroup2; v1: a cgroup
 * mount whose super options name controller) and its root. */
static bool cg_mount(const char *controller, char *mnt, size_t ml,
		     char *root, size_t rl)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char r[PATH_MAX], m[PATH_MAX], fstype[64], opts[1024];
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (!controller)
			found = !strcmp(fstype, "cgroup2");
		else if (!strcmp(fstype, "cgroup"))
			for (char *o = strtok(opts, ","); o && !found; o = strtok(NULL, ","))
				found = !strcmp(o, controller);
		if (found) {
			snprintf(mnt, ml, "%s", m);
			snprintf(root, rl, "%s", r);
		}
	}
	fclose(f);
	return found;
}

static void cg_dir(const char *controller, const char *cgpath, char *out,
		   size_t len)
{
	char mnt[PATH_MAX], root[PATH_MAX];
	size_t rl;
	struct stat st;

	out[0] = 0;
	if (!cg_mount(controller, mnt, sizeof(mnt), root, sizeof(root)))
		return;
	/* A mount of a sub-tree (a container's view) shows paths below its
	 * root. */
	rl = strlen(root);
	if (rl > 1 && !strncmp(cgpath, root, rl) && (!cgpath[rl] || cgpath[rl] == '/'))
		cgpath += rl;
	snprintf(out, len, "%s%s", mnt, cgpath);
	if (stat(out, &st) || !S_ISDIR(st.st_mode))
		out[0] = 0;
}

void snap_cgroups(struct capture *c, int pid)
{
	char path[64], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;
		bool mem = false;

		if (!cg)
			continue;
		*cg++ = 0;
		cg[strcspn(cg, "\n")] = 0;
		*ctl++ = 0;	/* line: the hierarchy id; ctl: its controllers */
		if (!strcmp(line, "0") && !*ctl) {
			cg_dir(NULL, cg, c->cg2, sizeof(c->cg2));
			continue;
		}
		for (char *o = strtok(ctl, ","); o; o = strtok(NULL, ","))
			mem |= !strcmp(o, "memory");
		if (mem)
			cg_dir("memory", cg, c->cg1mem, sizeof(c->cg1mem));
	}
	fclose(f);
}

/* Copies src to rel; on failure one line in missing. */
static void copy_file(struct capture *c, const char *src, const char *rel,
		      FILE *missing)
{
	char buf[65536];
	FILE *in = fopen(src, "r"), *out;
	size_t r;

	if (!in) {
		if (missing)
			fprintf(missing, "%s: %s\n", src, strerror(errno));
		return;
	}
	out = cap_open(c, rel);
	if (!out) {
		fclose(in);
		return;
	}
	while ((r = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, r, out);
	if (ferror(in) && missing)
		fprintf(missing, "%s: read error: %s\n", src, strerror(errno));
	fclose(in);
	cap_close(out);
}

void snap_take(struct capture *c, int pid, const char *when)
{
	char src[PATH_MAX + 64], rel[128], *mbuf = NULL;
	size_t mlen = 0;
	FILE *missing = open_memstream(&mbuf, &mlen);

	for (size_t i = 0; i < sizeof(proc_files) / sizeof(proc_files[0]); i++) {
		snprintf(src, sizeof(src), "/proc/%d/%s", pid, proc_files[i]);
		snprintf(rel, sizeof(rel), "snapshots/%s/proc-%s", when, proc_files[i]);
		copy_file(c, src, rel, missing);
	}
	for (size_t i = 0; c->cg2[0] && i < sizeof(cg2_files) / sizeof(cg2_files[0]); i++) {
		snprintf(src, sizeof(src), "%s/%s", c->cg2, cg2_files[i]);
		snprintf(rel, sizeof(rel), "snapshots/%s/cgroup2-%s", when, cg2_files[i]);
		/* The root cgroup has no memory.current/max: no line. */
		copy_file(c, src, rel, access(src, F_OK) ? NULL : missing);
	}
	for (size_t i = 0; c->cg1mem[0] && i < sizeof(cg1_files) / sizeof(cg1_files[0]); i++) {
		snprintf(src, sizeof(src), "%s/%s", c->cg1mem, cg1_files[i]);
		snprintf(rel, sizeof(rel), "snapshots/%s/cgroup1-%s", when, cg1_files[i]);
		copy_file(c, src, rel, access(src, F_OK) ? NULL : missing);
	}
	if (!missing)
		return;
	if (!c->cg2[0] && !c->cg1mem[0])
		fprintf(missing, "no cgroup memory controller found for pid %d\n", pid);
	fclose(missing);
	if (mlen) {
		FILE *f;

		snprintf(rel, sizeof(rel), "snapshots/%s/MISSING.txt", when);
		f = cap_open(c, rel);
		if (f) {
			fprintf(f, "Could not be read at %s (a process that has "
				   "exited has no /proc files):\n%s", when, mbuf);
			cap_close(f);
		}
	}
	free(mbuf);
}

static int64_t key_value(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char k[64];
	long long v;
	int64_t out = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			out = v;
	fclose(f);
	return out;
}

int64_t snap_oom_kills(const struct capture *c)
{
	char path[PATH_MAX + 32];
	int64_t v = -1;

	if (c->cg2[0]) {
		snprintf(path, sizeof(path), "%s/memory.events", c->cg2);
		v = key_value(path, "oom_kill");
	}
	if (v < 0 && c->cg1mem[0]) {
		snprintf(path, sizeof(path), "%s/memory.oom_control", c->cg1mem);
		v = key_value(path, "oom_kill");
	}
	return v;
}

int64_t snap_memory_limit(const struct capture *c)
{
	char path[PATH_MAX + 32], buf[64] = "";
	const char *name = c->cg2[0] ? "memory.max" : "memory.limit_in_bytes";
	FILE *f;
	long long v;

	if (!c->cg2[0] && !c->cg1mem[0])
		return -1;
	snprintf(path, sizeof(path), "%s/%s", c->cg2[0] ? c->cg2 : c->cg1mem, name);
	f = fopen(path, "r");
	if (!f && c->cg2[0] && c->cg1mem[0]) {	/* hybrid: memory on v1 */
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", c->cg1mem);
		f = fopen(path, "r");
	}
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	/* "max" (v2) or a page-rounded LONG_MAX (v1): no limit. */
	if (sscanf(buf, "%lld", &v) != 1 || v <= 0 || v >= (1LL << 62))
		return -1;
	return v;
}

static void file_line(FILE *out, const char *label, const char *path,
		      const char *prefix)
{
	char line[4096], *v;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(out, "%-18s (%s: %s)\n", label, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (prefix && strncmp(line, prefix, strlen(prefix)))
			continue;
		v = prefix ? line + strlen(prefix) : line;
		fprintf(out, "%-18s %s", label, v + strspn(v, " \t"));
		if (!strchr(line, '\n'))
			fputc('\n', out);
		break;
	}
	fclose(f);
}

void snap_host(struct capture *c, struct lt_ctx *ctx, struct lt_target *tg, json_object *end)
{
	const struct lt_opts *o = &ctx->opts;
	FILE *f = cap_open(c, "host.txt");
	const char *gov = go_version(tg) ? go_version(tg) :
			  symbolizer_go_version(tg->sym);
	char host[256] = "?", ts[64];
	time_t now = time(NULL);
	struct utsname u;
	json_object *v;

	if (!f)
		return;
	gethostname(host, sizeof(host) - 1);
	fprintf(f, "== leaktrace\n");
	fprintf(f, "%-18s %s\n", "version", LT_VERSION);
	fprintf(f, "%-18s %s\n", "command", c->cmdline ? c->cmdline : "?");
	fprintf(f, "%-18s duration %.0f s, interval %.1f s, max-stacks %u, "
		   "max-pages %u, ringbuf %u MiB, stack-copy %u KiB, "
		   "fault-sample %u%s%s%s\n", "options", o->duration_s,
		o->interval_s, o->max_stacks, o->max_pages, o->ringbuf_mb,
		o->stack_copy_kb, o->fault_sample, o->no_threads ? ", no-threads" : "",
		o->no_go ? ", no-go" : "", o->go_parks ? ", go-parks" : "");
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&c->wall_start));
	fprintf(f, "%-18s %s\n", "started", ts);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "%-18s %s (traced %.1f s, probes live after %.0f ms)\n",
		"ended", ts, tg->now_s, ctx->attach_ms);

	fprintf(f, "\n== target\n");
	fprintf(f, "%-18s %d\n%-18s %s\n%-18s %s\n", "pid", tg->target.pid,
		"comm", tg->target.comm, "exe", tg->target.exe);
	fprintf(f, "%-18s %s\n", "go", gov ? gov : "(not a Go program)");
	fprintf(f, "%-18s %s\n", "end",
		json_object_get_string(json_object_object_get(end, "how")));
	v = json_object_object_get(end, "cgroup_oom_kills");
	if (v)
		fprintf(f, "%-18s %lld during the capture (cgroup oom_kill delta)%s\n",
			"oom kills", (long long)json_object_get_int64(v),
			json_object_get_boolean(json_object_object_get(end, "oom_killed")) ?
			": the target was OOM-killed by the kernel" : "");
	else
		fprintf(f, "%-18s unknown (no cgroup memory.events/oom_control)\n",
			"oom kills");
	v = json_object_object_get(end, "memory_limit_bytes");
	if (v)
		fprintf(f, "%-18s %lld bytes (%s)\n", "memory limit",
			(long long)json_object_get_int64(v),
			report_bytes(json_object_get_int64(v), ts, sizeof(ts)));
	else
		fprintf(f, "%-18s none found in the cgroup\n", "memory limit");
	fprintf(f, "%-18s %s\n", "cgroup v2", c->cg2[0] ? c->cg2 : "(none)");
	fprintf(f, "%-18s %s\n", "cgroup v1 memory", c->cg1mem[0] ? c->cg1mem : "(none)");

	fprintf(f, "\n== host\n");
	fprintf(f, "%-18s %s\n", "hostname", host);
	if (!uname(&u))
		fprintf(f, "%-18s %s %s %s %s\n", "uname", u.sysname, u.release,
			u.version, u.machine);
	file_line(f, "os", "/etc/os-release", "PRETTY_NAME=");
	fprintf(f, "%-18s %ld\n", "cpus online", sysconf(_SC_NPROCESSORS_ONLN));
	file_line(f, "MemTotal", "/proc/meminfo", "MemTotal:");
	file_line(f, "MemAvailable", "/proc/meminfo", "MemAvailable:");
	file_line(f, "SwapTotal", "/proc/meminfo", "SwapTotal:");
	file_line(f, "loadavg", "/proc/loadavg", NULL);
	file_line(f, "uptime (s)", "/proc/uptime", NULL);
	file_line(f, "overcommit", "/proc/sys/vm/overcommit_memory", NULL);
	file_line(f, "boot id", "/proc/sys/kernel/random/boot_id", NULL);
	cap_close(f);
}
