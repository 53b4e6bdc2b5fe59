// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/identity.h"
#include "proc/scan.h"

#define PF_KTHREAD 0x00200000

static size_t lower_bound(const struct proc_set *s, int pid)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->keys[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool proc_set_has(const struct proc_set *s, struct proc_key k)
{
	size_t i = lower_bound(s, k.pid);

	return i < s->n && s->keys[i].pid == k.pid &&
	       s->keys[i].start_ticks == k.start_ticks;
}

int proc_set_add(struct proc_set *s, struct proc_key k)
{
	size_t i = lower_bound(s, k.pid);

	if (i < s->n && s->keys[i].pid == k.pid) {
		s->keys[i] = k;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct proc_key *n = realloc(s->keys, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->keys = n;
		s->cap = cap;
	}
	memmove(s->keys + i + 1, s->keys + i, (s->n - i) * sizeof(*s->keys));
	s->keys[i] = k;
	s->n++;
	return 0;
}

void proc_set_free(struct proc_set *s)
{
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

int proc_set_diff(const struct proc_set *a, const struct proc_set *b,
		  struct proc_set *added, struct proc_set *gone)
{
	if (added)
		added->n = 0;
	if (gone)
		gone->n = 0;
	for (size_t i = 0; added && i < b->n; i++)
		if (!proc_set_has(a, b->keys[i]) && proc_set_add(added, b->keys[i]))
			return -ENOMEM;
	for (size_t i = 0; gone && i < a->n; i++)
		if (!proc_set_has(b, a->keys[i]) && proc_set_add(gone, a->keys[i]))
			return -ENOMEM;
	return 0;
}

bool cgroup_within(const char *path, const char *subtree)
{
	size_t n = strlen(subtree);

	while (n > 1 && subtree[n - 1] == '/')
		n--;
	if (n == 1 && subtree[0] == '/')
		return path[0] == '/';
	return !strncmp(path, subtree, n) && (path[n] == '\0' || path[n] == '/');
}

/* Reads a small file whole. Length or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while (got < (ssize_t)len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* state (field 3) and flags (field 9) of a stat line. */
static int stat_state_flags(const char *stat, char *state, unsigned long *flags)
{
	const char *p = strrchr(stat, ')');

	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %lu", state, flags) != 2)
		return -EINVAL;
	return 0;
}

/* Whether pid passes f, and its key. 1 yes, 0 no (or gone). */
static int consider(const char *root, int pid, const struct scan_filter *f,
		    struct proc_key *k)
{
	char path[PATH_MAX], buf[4096];
	unsigned long flags;
	char state;

	if (pid == f->self)
		return 0;
	snprintf(path, sizeof(path), "%s/proc/%d/stat", root, pid);
	if (slurp(path, buf, sizeof(buf)) <= 0 ||
	    stat_state_flags(buf, &state, &flags) ||
	    identity_parse_start(buf, &k->start_ticks))
		return 0;
	if ((flags & PF_KTHREAD) || state == 'Z' || state == 'X')
		return 0;
	k->pid = pid;
	if (f->cgroup) {
		struct proc_identity id;

		snprintf(path, sizeof(path), "%s/proc/%d/cgroup", root, pid);
		if (slurp(path, buf, sizeof(buf)) <= 0)
			return 0;
		identity_parse_cgroup_file(buf, &id);
		if (!cgroup_within(f->hier == CG_V2 ? id.cgroup : id.cgroup_v1,
				   f->cgroup))
			return 0;
	}
	return 1;
}

int proc_scan(const char *root, const struct scan_filter *f,
	      struct proc_set *out)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	out->n = 0;
	snprintf(path, sizeof(path), "%s/proc", root);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		struct proc_key k;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		if (consider(root, pid, f, &k) == 1)
			err = proc_set_add(out, k);
	}
	closedir(d);
	return err;
}

/* dir is a cgroup directory we may list. */
static int cgroup_dir_ok(const char *dir)
{
	char procs[PATH_MAX];
	struct stat st;

	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -EINVAL;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (access(procs, F_OK))
		return -EINVAL;
	if (access(procs, R_OK))
		return -EACCES;
	return 0;
}

int cgroup_resolve(const char *cgroot, const char *arg, char *rel,
		   size_t len, enum cg_hier *hier)
{
	static const struct { const char *sub; enum cg_hier h; } hiers[] = {
		{ "/unified", CG_V2 }, { "/memory", CG_V1_MEMORY }, { "", CG_V2 },
	};
	size_t rl = strlen(cgroot);
	char dir[PATH_MAX];
	int err = -ENOENT;

	if (!arg || arg[0] != '/')
		return -EINVAL;
	/* A full path under one of the hierarchies. */
	if (!strncmp(arg, cgroot, rl) && (arg[rl] == '/' || !arg[rl])) {
		for (size_t i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++) {
			const char *sub = hiers[i].sub;
			size_t sl = strlen(sub);
			char top[PATH_MAX];

			if (strncmp(arg + rl, sub, sl) ||
			    (arg[rl + sl] != '/' && arg[rl + sl]))
				continue;
			/* the bare root is v2 only where it is cgroup2 */
			snprintf(top, sizeof(top), "%s%s/cgroup.controllers", cgroot, sub);
			if (hiers[i].h == CG_V2 && access(top, F_OK))
				continue;
			err = cgroup_dir_ok(arg);
			if (err)
				return err;
			snprintf(rel, len, "%s", arg[rl + sl] ? arg + rl + sl : "/");
			*hier = hiers[i].h;
			return 0;
		}
		return -EINVAL;
	}
	/* Relative to a hierarchy: v2 first. */
	for (size_t i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++) {
		char top[PATH_MAX];

		snprintf(top, sizeof(top), "%s%s/cgroup.controllers", cgroot, hiers[i].sub);
		if (hiers[i].h == CG_V2 && access(top, F_OK))
			continue;
		snprintf(dir, sizeof(dir), "%s%s%s", cgroot, hiers[i].sub, arg);
		err = cgroup_dir_ok(dir);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		snprintf(rel, len, "%s", arg);
		*hier = hiers[i].h;
		return 0;
	}
	return err;
}
