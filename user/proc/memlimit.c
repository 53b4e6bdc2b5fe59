// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/memlimit.h"

/* Limits at or above this are "no limit" (v1 writes PAGE_COUNTER_MAX
 * pages, 9223372036854771712 on x86-64). */
#define NO_LIMIT (1ULL << 62)

const char *memlimit_source_name(enum memlimit_source s)
{
	switch (s) {
	case MEMLIMIT_CGROUP_V1: return "cgroup v1";
	case MEMLIMIT_CGROUP_V2: return "cgroup v2";
	case MEMLIMIT_RLIMIT_AS: return "RLIMIT_AS";
	case MEMLIMIT_PHYSICAL: return "physical memory";
	default: return "none";
	}
}

double memlimit_minutes(const struct memlimit *l, double rate_per_min)
{
	if (!(rate_per_min > 0) || l->source == MEMLIMIT_NONE)
		return INFINITY;
	return (double)l->left / rate_per_min;
}

/* One unsigned number (or "max") from a file. 0, -ENOENT, -EINVAL. */
static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return -EINVAL;
	if (!strncmp(buf, "max", 3)) {
		*v = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*v = strtoull(buf, NULL, 10);
	return errno ? -errno : 0;
}

/* The cgroup path of pid: the v1 line naming the memory controller, else
 * the v2 "0::" line. *v1 says which. */
static int cgroup_path(const char *root, int pid, char *out, size_t len,
		       bool *v1)
{
	char path[512], line[1024];
	bool have2 = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/%d/cgroup", root, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*v1 = false;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *p, *tok, *save = NULL;

		if (!ctrl)
			continue;
		p = strchr(++ctrl, ':');
		if (!p)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if (!*ctrl && !strncmp(line, "0:", 2)) {
			if (!*v1) {
				snprintf(out, len, "%s", p);
				have2 = true;
			}
			continue;
		}
		for (tok = strtok_r(ctrl, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			if (!strcmp(tok, "memory")) {
				snprintf(out, len, "%s", p);
				*v1 = true;
			}
	}
	fclose(f);
	return *v1 || have2 ? 0 : -ENOENT;
}

/* Mount point and root of the hierarchy: a v1 "cgroup" mount with the
 * memory option, or the "cgroup2" mount. */
static int cgroup_mount(const char *root, bool v1, char *mnt, size_t mlen,
			char *mroot, size_t rlen)
{
	char path[512], line[2048];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char r[512], m[512], fstype[64], opts[512];
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (v1 ? strcmp(fstype, "cgroup") || !strstr(opts, "memory")
		       : strcmp(fstype, "cgroup2"))
			continue;
		snprintf(mnt, mlen, "%s", m);
		snprintf(mroot, rlen, "%s", r);
		err = 0;
	}
	fclose(f);
	return err;
}

/* The lowest limit from the cgroup up to the hierarchy's root. */
static int cgroup_limit(const char *root, int pid, struct memlimit *out)
{
	char cg[256], mnt[512], mroot[512], dir[1024], file[1100];
	char *rel;
	uint64_t best = UINT64_MAX, usage, lim;
	bool v1 = false;
	int err;

	err = cgroup_path(root, pid, cg, sizeof(cg), &v1);
	if (!err)
		err = cgroup_mount(root, v1, mnt, sizeof(mnt), mroot, sizeof(mroot));
	if (err)
		return err;
	/* in a cgroup namespace the path is relative to the mount's root */
	rel = cg;
	if (strcmp(mroot, "/") && !strncmp(cg, mroot, strlen(mroot)))
		rel = cg + strlen(mroot);
	for (;;) {
		char *slash;

		snprintf(dir, sizeof(dir), "%s%s%s", root, mnt, rel);
		snprintf(file, sizeof(file), "%s/%s", dir,
			 v1 ? "memory.limit_in_bytes" : "memory.max");
		if (!read_u64(file, &lim) && lim < NO_LIMIT && lim < best) {
			snprintf(file, sizeof(file), "%s/%s", dir,
				 v1 ? "memory.usage_in_bytes" : "memory.current");
			if (!read_u64(file, &usage)) {
				best = lim;
				out->source = v1 ? MEMLIMIT_CGROUP_V1 : MEMLIMIT_CGROUP_V2;
				out->limit = lim;
				out->left = usage < lim ? lim - usage : 0;
				snprintf(out->cgroup, sizeof(out->cgroup), "%s",
					 *rel ? rel : "/");
			}
		}
		slash = strrchr(rel, '/');
		if (!slash || !*rel || !strcmp(rel, "/"))
			break;
		*slash = '\0';		/* the parent */
	}
	return best == UINT64_MAX ? -ENOENT : 0;
}

/* "Max address space  <soft> <hard> bytes" from /proc/PID/limits, and
 * VmSize from /proc/PID/status. */
static int rlimit_as(const char *root, int pid, struct memlimit *out)
{
	char path[512], line[256];
	uint64_t soft = UINT64_MAX, vm = 0;
	bool have_vm = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/%d/limits", root, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char v[32];

		if (strncmp(line, "Max address space", 17))
			continue;
		if (sscanf(line + 17, "%31s", v) == 1 && strcmp(v, "unlimited"))
			soft = strtoull(v, NULL, 10);
	}
	fclose(f);
	if (soft == UINT64_MAX || !soft)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/proc/%d/status", root, pid);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long long kb;

			if (sscanf(line, "VmSize: %llu kB", &kb) == 1) {
				vm = kb * 1024;
				have_vm = true;
			}
		}
		fclose(f);
	}
	if (!have_vm)
		return -ENOENT;
	out->source = MEMLIMIT_RLIMIT_AS;
	out->limit = soft;
	out->left = vm < soft ? soft - vm : 0;
	return 0;
}

static int physical(const char *root, struct memlimit *out)
{
	char path[512], line[256];
	unsigned long long total = 0, avail = 0, kb;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			total = kb * 1024;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			avail = kb * 1024;
	}
	fclose(f);
	if (!total)
		return -EINVAL;
	out->source = MEMLIMIT_PHYSICAL;
	out->limit = total;
	out->left = avail;
	return 0;
}

int memlimit_read(const char *root, int pid, struct memlimit *out)
{
	memset(out, 0, sizeof(*out));
	if (!cgroup_limit(root, pid, out) || !rlimit_as(root, pid, out))
		return 0;
	return physical(root, out);
}
