// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The goroutine dump of a Go target, read from its memory (runtime.allgs,
 * go/goallgs.c): never stopped, no debug endpoint needed. Goroutines with
 * the same status, wait reason, park stack and creator are one group,
 * printed like Go's debug=2 dump ("goroutine N [reason, M minutes]:") with
 * how many share it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "capture/capture_int.h"
#include "go/goallgs.h"
#include "go/goruntime.h"
#include "stack/stacks.h"
#include "trace/go.h"
#include "util/hashmap.h"
#include "util/log.h"

#define G_FRAMES 32
#define GROUP_IDS 20		/* goroutine ids listed per group */
#define ANCESTRY 6		/* creators followed up the parent chain */

struct gsnap {
	uint64_t goid, parent, gopc, key;
	uint64_t pcs[G_FRAMES];
	int npcs;
	bool truncated;
	uint32_t status;
	char reason[48];
	double parked_min;	/* <0 unknown */
};

struct group {
	struct gsnap *first;
	struct site *created;	/* a traced creation stack of the group */
	uint64_t created_goid;
	uint64_t count;
	double pmin, pmax;
	uint64_t ids[GROUP_IDS];
	int nids;
};

struct gread {
	struct gsnap *g;
	size_t n, cap;
	uint64_t now_ns;
	struct u64map by_goid;	/* goid -> index + 1, for ancestry */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

static int on_g(const struct go_g *g, void *arg)
{
	struct gread *r = arg;
	struct gsnap *s;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;

		s = realloc(r->g, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		r->g = s;
		r->cap = cap;
	}
	s = &r->g[r->n++];
	memset(s, 0, sizeof(*s));
	s->goid = g->goid;
	s->parent = g->parent_goid;
	s->gopc = g->gopc;
	s->status = g->status;
	s->npcs = g->npcs < G_FRAMES ? g->npcs : G_FRAMES;
	memcpy(s->pcs, g->pcs, s->npcs * sizeof(*s->pcs));
	s->truncated = g->truncated || g->npcs > G_FRAMES;
	if (g->status == GO_G_WAITING)
		snprintf(s->reason, sizeof(s->reason), "%s",
			 g->waitreason_name ? g->waitreason_name : "waiting");
	else
		snprintf(s->reason, sizeof(s->reason), "%s", go_status_name(g->status));
	s->parked_min = g->status == GO_G_WAITING && g->waitsince > 0 &&
			(uint64_t)g->waitsince < r->now_ns ?
			(double)(r->now_ns - g->waitsince) / 60e9 : -1;
	s->key = mix(mix(g->status, g->waitreason), g->gopc);
	for (int i = 0; i < s->npcs; i++)
		s->key = mix(s->key, s->pcs[i]);
	return 0;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->first->goid < y->first->goid ? -1 : 1;
}

/* Frames of pc (innermost first, inlined ones included). */
static int sym(struct lt_target *tg, uint64_t pc, bool ret, struct frame *f, int max)
{
	return stacks_symbolize(tg->sym, pc, ret, f, max);
}

static json_object *frame_json(const struct frame *f)
{
	json_object *o = json_object_new_object();
	char addr[32];

	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)f->addr);
	json_object_object_add(o, "function", f->function ? json_object_new_string(f->function) : NULL);
	json_object_object_add(o, "file", f->file ? json_object_new_string(f->file) : NULL);
	json_object_object_add(o, "line", f->line ? json_object_new_int(f->line) : NULL);
	json_object_object_add(o, "address", json_object_new_string(addr));
	return o;
}

static void frame_text(FILE *out, const struct frame *f, bool args)
{
	if (f->function)
		fprintf(out, "%s%s\n", f->function, args ? "(...)" : "");
	else
		fprintf(out, "0x%llx (%s)\n", (unsigned long long)f->addr,
			f->module ? f->module : "unknown module");
	if (f->file)
		fprintf(out, "\t%s%s:%d\n", args ? "" : "  ", f->file, f->line);
}

static const struct gsnap *find_goid(const struct gread *r, uint64_t goid)
{
	uint64_t i;

	return goid && u64map_get(&r->by_goid, goid, &i) ? &r->g[i - 1] : NULL;
}

static void write_group(FILE *out, struct lt_target *tg, const struct gread *r,
			struct group *gr, json_object *arr)
{
	const struct gsnap *g = gr->first;
	json_object *o = json_object_new_object(), *st = json_object_new_array();
	json_object *ids = json_object_new_array(), *anc = json_object_new_array();
	const struct site *site;
	struct frame f[8];
	char when[64] = "";
	int n;

	if (gr->pmax >= 1)
		snprintf(when, sizeof(when), gr->pmin < gr->pmax - 0.5 ?
			 ", %.0f-%.0f minutes" : ", %.0f minutes",
			 gr->pmin, gr->pmax);
	qsort(gr->ids, gr->nids, sizeof(gr->ids[0]), by_u64);
	fprintf(out, "# %llu goroutine%s like this one (ids:", (unsigned long long)gr->count,
		gr->count == 1 ? "" : "s");
	for (int i = 0; i < gr->nids; i++) {
		fprintf(out, " %llu", (unsigned long long)gr->ids[i]);
		json_object_array_add(ids, json_object_new_int64(gr->ids[i]));
	}
	fprintf(out, "%s)\n", gr->count > (uint64_t)gr->nids ? " ..." : "");
	fprintf(out, "goroutine %llu [%s%s]:\n", (unsigned long long)g->goid,
		g->reason, when);
	if (!g->npcs)
		fprintf(out, "(no park stack: %s goroutines' saved registers are stale)\n",
			g->reason);
	for (int i = 0; i < g->npcs; i++) {
		n = sym(tg, g->pcs[i], i > 0, f, 8);
		for (int k = 0; k < n; k++) {
			frame_text(out, &f[k], true);
			json_object_array_add(st, frame_json(&f[k]));
		}
	}
	if (g->truncated)
		fprintf(out, "...additional frames elided...\n");
	json_object_object_add(o, "count", json_object_new_int64(gr->count));
	json_object_object_add(o, "state", json_object_new_string(g->reason));
	json_object_object_add(o, "waiting", json_object_new_boolean(g->status == GO_G_WAITING));
	json_object_object_add(o, "parked_min_min",
			       gr->pmax >= 0 ? json_object_new_double(gr->pmin) : NULL);
	json_object_object_add(o, "parked_min_max",
			       gr->pmax >= 0 ? json_object_new_double(gr->pmax) : NULL);
	json_object_object_add(o, "ids", ids);
	json_object_object_add(o, "stack", st);
	/* Like Go's traceback: the main goroutine has no creator shown. */
	if (g->gopc && g->goid != 1) {
		n = sym(tg, g->gopc, true, f, 8);
		if (n) {
			fprintf(out, "created by %s", f[0].function ? f[0].function : "?");
			if (g->parent)
				fprintf(out, " in goroutine %llu", (unsigned long long)g->parent);
			fputc('\n', out);
			if (f[0].file)
				fprintf(out, "\t%s:%d\n", f[0].file, f[0].line);
			json_object_object_add(o, "created_by", frame_json(&f[0]));
		}
	}
	json_object_object_add(o, "parent_goid", g->parent ? json_object_new_int64(g->parent) : NULL);
	/* The whole creation stack, when leaktrace saw it created. */
	site = gr->created;
	if (site) {
		json_object *cs = json_object_new_array();

		fprintf(out, "creation stack (recorded by leaktrace when goroutine %llu started):\n",
			(unsigned long long)gr->created_goid);
		json_object_object_add(o, "creation_goid", json_object_new_int64(gr->created_goid));
		for (int i = 0; i < site->nframes; i++) {
			fprintf(out, "  ");
			frame_text(out, &site->frames[i], false);
			json_object_array_add(cs, frame_json(&site->frames[i]));
		}
		json_object_object_add(o, "creation_stack", cs);
	}
	/* Ancestry: the creators of the creator, while they still live. */
	for (const struct gsnap *p = find_goid(r, g->parent); p; p = find_goid(r, p->parent)) {
		char line[512];

		n = p->gopc && p->goid != 1 ? sym(tg, p->gopc, true, f, 8) : 0;
		snprintf(line, sizeof(line), "goroutine %llu [%s]%s%s",
			 (unsigned long long)p->goid, p->reason,
			 p->goid == 1 ? " (main goroutine)" : ", created by ",
			 p->goid == 1 ? "" : n && f[0].function ? f[0].function : "?");
		fprintf(out, "  ancestor %s\n", line);
		json_object_array_add(anc, json_object_new_string(line));
		if ((int)json_object_array_length(anc) >= ANCESTRY)
			break;
	}
	json_object_object_add(o, "ancestry", anc);
	fputc('\n', out);
	json_object_array_add(arr, o);
}

int gdump_write(struct capture *c, struct lt_ctx *ctx, struct lt_target *tg, const char *rel)
{
	const struct go_runtime *rt = go_runtime(tg);
	struct go_allgs_opts opts = { .max_frames = G_FRAMES };
	struct go_allgs_stats st = {};
	struct gread r = {};
	struct group *groups = NULL;
	struct u64map idx;
	struct timespec now;
	size_t ng = 0;
	json_object *root, *arr;
	time_t wall = time(NULL);
	char ts[64];
	FILE *out;
	int err;

	if (!rt) {
		out = cap_open(c, rel);
		if (out) {
			fprintf(out, "No goroutine dump: pid %d (%s) is %s.\n",
				tg->target.pid, tg->target.comm,
				tg->target.is_go ? "a Go program whose runtime was "
				"not probed (--no-go, or see report.txt)" : "not a Go program");
			cap_close(out);
		}
		return -ENOTSUP;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	r.now_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
	err = go_read_allgs(tg->target.pid, rt, &opts, on_g, &r, &st);
	if (err) {
		free(r.g);
		out = cap_open(c, rel);
		if (out) {
			fprintf(out, "No goroutine dump: reading runtime.allgs of pid %d "
				     "failed: %s%s\n", tg->target.pid, strerror(-err),
				tg->target.exited ? " (the process had exited)" : "");
			if (strcmp(rel, "goroutines.txt") == 0 && c->started)
				fprintf(out, "The dump taken at the start is in "
					     "snapshots/start/goroutines.txt.\n");
			cap_close(out);
		}
		return err;
	}
	groups = calloc(r.n ? r.n : 1, sizeof(*groups));
	u64map_init(&idx);
	u64map_init(&r.by_goid);
	for (size_t i = 0; groups && i < r.n; i++) {
		struct gsnap *g = &r.g[i];
		uint64_t gi;
		struct group *gr;

		u64map_put(&r.by_goid, g->goid, i + 1);
		if (!u64map_get(&idx, g->key, &gi)) {
			gi = ng++;
			groups[gi].first = g;
			groups[gi].pmin = 1e18;
			groups[gi].pmax = -1;
			u64map_put(&idx, g->key, gi);
		}
		gr = &groups[gi];
		gr->count++;
		if (g->goid < gr->first->goid)
			gr->first = g;
		if (!gr->created) {
			struct site *site = go_site_of(tg, g->goid);

			if (site && !site->preexisting && site->nframes) {
				gr->created = site;
				gr->created_goid = g->goid;
			}
		}
		if (gr->nids < GROUP_IDS)
			gr->ids[gr->nids++] = g->goid;
		if (g->parked_min >= 0) {
			if (g->parked_min < gr->pmin)
				gr->pmin = g->parked_min;
			if (g->parked_min > gr->pmax)
				gr->pmax = g->parked_min;
		}
	}
	u64map_free(&idx);
	if (!groups) {
		u64map_free(&r.by_goid);
		free(r.g);
		return -ENOMEM;
	}
	qsort(groups, ng, sizeof(*groups), by_count);
	out = cap_open(c, rel);
	if (!out) {
		u64map_free(&r.by_goid);
		free(groups);
		free(r.g);
		return -errno;
	}
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", gmtime(&wall));
	fprintf(out, "%zu goroutines in %zu groups, read from the memory of pid %d "
		     "(%s) at %s, without stopping it.\n", r.n, ng, tg->target.pid,
		tg->target.comm, ts);
	fprintf(out, "Each group: how many goroutines share the state, wait reason, "
		     "park stack and creator; then one of them as in Go's debug=2 "
		     "dump. Minutes parked come from the runtime's waitsince (set "
		     "by the first GC that saw the goroutine blocked; absent before).\n");
	if (st.unreadable)
		fprintf(out, "%zu goroutines could not be read and are not shown.\n",
			st.unreadable);
	fputc('\n', out);
	arr = json_object_new_array();
	for (size_t i = 0; i < ng; i++)
		write_group(out, tg, &r, &groups[i], arr);
	err = cap_close(out);
	root = json_object_new_object();
	json_object_object_add(root, "total", json_object_new_int64(r.n));
	json_object_object_add(root, "unreadable", json_object_new_int64(st.unreadable));
	json_object_object_add(root, "read_at", json_object_new_string(ts));
	json_object_object_add(root, "taken", json_object_new_string(
		strstr(rel, "/start/") ? "start" : "end"));
	json_object_object_add(root, "groups", arr);
	json_object_put(c->gdump);
	c->gdump = root;
	u64map_free(&r.by_goid);
	free(groups);
	free(r.g);
	return err;
}
