// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of JIT-compiled code from the target's perf map. JITs that support
 * Linux perf write "/tmp/perf-PID.map" (PID as the target sees itself, in
 * its own mount namespace): one line per piece of code, "START SIZE NAME"
 * with START and SIZE in hex (node --perf-basic-prof, the JVM with
 * perf-map-agent, LuaJIT, .NET with DOTNET_PerfMapEnabled). The file only
 * grows; a later line for the same address is newer code there. It is read
 * again when its size or time changes, at most once a second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sym/elfsym.h"
#include "sym/perfmap.h"
#include "util/clock.h"

#define RELOAD_NS 1000000000ULL	/* a changed file is re-read at most 1/s */
#define OVERLAP_SCAN 64		/* entries looked at below the address */

struct pm_entry {
	uint64_t start, end;
	uint32_t seq;		/* line number: the larger is newer */
	const char *name;	/* interned in the caller's strings */
};

struct perfmap {
	char path[96];
	struct pm_entry *e;
	size_t n;
	off_t size;		/* of the file when read */
	struct timespec mtime;
	uint64_t checked_ns;
	bool seen;		/* the file existed once */
};

/* The pid the target sees itself as (the last NSpid field), or pid. */
static int ns_pid(int pid)
{
	char path[64], line[256];
	int ns = pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (p = line + 6;; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			ns = (int)v;
		}
		break;
	}
	fclose(f);
	return ns;
}

struct perfmap *perfmap_new(int pid)
{
	struct perfmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	snprintf(pm->path, sizeof(pm->path), "/proc/%d/root/tmp/perf-%d.map",
		 pid, ns_pid(pid));
	return pm;
}

void perfmap_free(struct perfmap *pm)
{
	if (!pm)
		return;
	free(pm->e);
	free(pm);
}

static int by_start(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int perfmap_parse(struct perfmap *pm, FILE *f, struct lt_strmap *strs)
{
	struct pm_entry *e = NULL;
	size_t n = 0, cap = 0;
	char line[1024];
	uint32_t seq = 0;

	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, size;
		char *name = NULL, *nl;
		int used = 0;

		seq++;
		if (sscanf(line, "%llx %llx %n", &start, &size, &used) != 2 ||
		    !used || !size || start + size < start)
			continue;	/* not a "START SIZE NAME" line */
		name = line + used;
		nl = strchr(name, '\n');
		if (!nl)
			continue;	/* longer than a line: cut, skip it */
		*nl = '\0';
		if (!*name)
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 1024;
			struct pm_entry *ne = realloc(e, c * sizeof(*e));

			if (!ne) {
				free(e);
				return -ENOMEM;
			}
			e = ne;
			cap = c;
		}
		e[n].start = start;
		e[n].end = start + size;
		e[n].seq = seq;
		e[n].name = lt_strmap_intern(strs, name);
		if (!e[n].name) {
			free(e);
			return -ENOMEM;
		}
		n++;
	}
	qsort(e, n, sizeof(*e), by_start);
	free(pm->e);
	pm->e = e;
	pm->n = n;
	return 0;
}

static void reload(struct perfmap *pm, struct lt_strmap *strs)
{
	uint64_t now = lt_mono_ns();
	struct stat st;
	FILE *f;

	if (pm->checked_ns && now - pm->checked_ns < RELOAD_NS)
		return;
	pm->checked_ns = now;
	if (stat(pm->path, &st))
		return;		/* none (yet): keep what was read */
	if (pm->seen && st.st_size == pm->size &&
	    st.st_mtim.tv_sec == pm->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == pm->mtime.tv_nsec)
		return;
	f = fopen(pm->path, "re");
	if (!f)
		return;
	if (!perfmap_parse(pm, f, strs)) {
		pm->seen = true;
		pm->size = st.st_size;
		pm->mtime = st.st_mtim;
	}
	fclose(f);
}

const char *perfmap_find(struct perfmap *pm, uint64_t addr,
			 struct lt_strmap *strs)
{
	const struct pm_entry *best = NULL;
	size_t lo = 0, hi;

	if (!pm)
		return NULL;
	reload(pm, strs);
	/* the first entry starting above addr */
	for (hi = pm->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->e[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Entries below it may cover addr; the newest line wins. */
	for (size_t i = lo, k = 0; i > 0 && k < OVERLAP_SCAN; i--, k++) {
		const struct pm_entry *e = &pm->e[i - 1];

		if (addr < e->end && (!best || e->seq > best->seq))
			best = e;
	}
	return best ? best->name : NULL;
}

bool perfmap_seen(const struct perfmap *pm)
{
	return pm && pm->seen;
}
