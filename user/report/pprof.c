// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "report/folded.h"
#include "util/hashmap.h"
#include "report/pprof.h"
#include "profile.pb-c.h"
#include "report/report.h"
#include "trace/goheap.h"

typedef Perftools__Profiles__Sample PSample;
typedef Perftools__Profiles__Label PLabel;
typedef Perftools__Profiles__Mapping PMapping;
typedef Perftools__Profiles__Location PLocation;
typedef Perftools__Profiles__Line PLine;
typedef Perftools__Profiles__Function PFunction;

/* Heap sites carry a Go heap profile's four sample types (T_HEAP is
 * inuse_space; the other three follow it). */
enum { T_GOROUTINES, T_THREADS, T_MAPPED, T_RESIDENT, T_HEAP, T_INUSE_OBJECTS,
       T_ALLOC_SPACE, T_ALLOC_OBJECTS, T_MALLOC, T_MAX };

static const char *const type_names[T_MAX][2] = {
	[T_GOROUTINES] = { "goroutines", "count" },
	[T_THREADS] = { "threads", "count" },
	[T_MAPPED] = { "mapped_bytes", "bytes" },
	[T_RESIDENT] = { "resident_bytes", "bytes" },
	[T_HEAP] = { "inuse_space", "bytes" },
	[T_INUSE_OBJECTS] = { "inuse_objects", "count" },
	[T_ALLOC_SPACE] = { "alloc_space", "bytes" },
	[T_ALLOC_OBJECTS] = { "alloc_objects", "count" },
	[T_MALLOC] = { "malloc_bytes", "bytes" },
};

static const int kind_types[SITE_KIND_MAX] = {
	[SITE_GOROUTINE] = T_GOROUTINES, [SITE_THREAD] = T_THREADS,
	[SITE_MMAP] = T_MAPPED, [SITE_BRK] = T_MAPPED, [SITE_FAULT] = T_RESIDENT,
	[SITE_HEAP] = T_HEAP, [SITE_MALLOC] = T_MALLOC,
};

/* A growing array of pointers. */
struct vec {
	void **a;
	size_t n, cap;
};

/* The profile under construction. Every message and array is on allocs,
 * freed at the end. Errors stick in err (-ENOMEM); ids returned after an
 * error are 0 and the result is discarded. */
struct pp {
	struct vec allocs, strs, funcs, maps, locs, samples;
	struct u64map str_ix, func_ix, map_ix, loc_ix;
	int err;
};

/* Appends x (NULL: an allocation failed). False on ENOMEM. */
static bool vec_push(struct pp *p, struct vec *v, void *x)
{
	void **a = v->a;

	if (x && v->n == v->cap) {
		a = realloc(v->a, (v->cap ? v->cap * 2 : 64) * sizeof(*a));
		if (a) {
			v->a = a;
			v->cap = v->cap ? v->cap * 2 : 64;
		}
	}
	if (!x || !a) {
		p->err = -ENOMEM;
		return false;
	}
	v->a[v->n++] = x;
	return true;
}

/* Zeroed memory owned by p; NULL (and p->err set) on ENOMEM. */
static void *pp_alloc(struct pp *p, size_t size)
{
	void *x = p->err ? NULL : calloc(1, size ? size : 1);

	if (x && vec_push(p, &p->allocs, x))
		return x;
	free(x);
	p->err = -ENOMEM;
	return NULL;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static void put(struct pp *p, struct u64map *m, uint64_t key, uint64_t val)
{
	if (!p->err && u64map_put(m, key, val))
		p->err = -ENOMEM;
}

/* Index of s in the string table (0 is ""). */
static int64_t str_id(struct pp *p, const char *s)
{
	uint64_t h, v;

	if (!s || !*s || p->err)
		return 0;
	/* Hash collisions probe the next keys. */
	for (h = fnv(FNV_INIT, s, strlen(s));; h++) {
		if (!u64map_get(&p->str_ix, h, &v))
			break;
		if (!strcmp(p->strs.a[v], s))
			return v;
	}
	v = p->strs.n;
	if (!vec_push(p, &p->strs, pp_alloc(p, strlen(s) + 1)))
		return 0;
	strcpy(p->strs.a[v], s);
	put(p, &p->str_ix, h, v);
	return v;
}

static uint64_t func_id(struct pp *p, const char *name, const char *file)
{
	int64_t n = str_id(p, name), f = str_id(p, file);
	uint64_t key = (uint64_t)n << 32 | (uint64_t)f, id;
	PFunction *fn;

	if (p->err)
		return 0;
	if (u64map_get(&p->func_ix, key, &id))
		return id;
	fn = pp_alloc(p, sizeof(*fn));
	if (!vec_push(p, &p->funcs, fn))
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = id = p->funcs.n;
	fn->name = fn->system_name = n;
	fn->filename = f;
	put(p, &p->func_ix, key, id);
	return id;
}

/* The mapping of a module; its range grows to cover every address seen
 * (the module's load address is not needed: all frames are symbolized). */
static uint64_t map_id(struct pp *p, const char *module, uint64_t addr)
{
	int64_t name = str_id(p, module);
	uint64_t id;
	PMapping *m;

	if (!name || p->err)
		return 0;
	if (u64map_get(&p->map_ix, name, &id)) {
		m = p->maps.a[id - 1];
	} else {
		m = pp_alloc(p, sizeof(*m));
		if (!vec_push(p, &p->maps, m))
			return 0;
		perftools__profiles__mapping__init(m);
		m->id = id = p->maps.n;
		m->filename = name;
		/* Symbolized already: pprof must not look for the binaries. */
		m->has_functions = m->has_filenames = true;
		m->has_line_numbers = m->has_inline_frames = true;
		put(p, &p->map_ix, name, id);
	}
	if (!addr)
		return id;
	if (!m->memory_limit || addr < m->memory_start)
		m->memory_start = addr;
	if (addr >= m->memory_limit)
		m->memory_limit = addr + 1;
	return id;
}

static bool same_loc(const PLocation *l, uint64_t addr, uint64_t map,
		     PLine *lines, size_t n)
{
	if (l->address != addr || l->mapping_id != map || l->n_line != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (l->line[i]->function_id != lines[i].function_id ||
		    l->line[i]->line != lines[i].line)
			return false;
	return true;
}

/* The location of frames f[0..n-1]: f[n-1] is the real frame, the ones
 * before it were inlined into it (innermost first, as pprof wants). */
static uint64_t loc_id(struct pp *p, const struct frame *f, int n)
{
	const struct frame *real = &f[n - 1];
	uint64_t map = map_id(p, real->module, real->addr), h, v;
	PLine *lines = pp_alloc(p, n * sizeof(*lines));
	PLine **lp = pp_alloc(p, n * sizeof(*lp));
	PLocation *l;
	size_t nl = 0;

	if (p->err)
		return 0;
	for (int i = 0; i < n; i++) {
		if (!f[i].function)
			continue;
		perftools__profiles__line__init(&lines[nl]);
		lines[nl].function_id = func_id(p, f[i].function, f[i].file);
		lines[nl].line = f[i].line;
		lp[nl] = &lines[nl];
		nl++;
	}
	h = fnv(FNV_INIT, &real->addr, sizeof(real->addr));
	h = fnv(h, &map, sizeof(map));
	for (size_t i = 0; i < nl; i++) {
		h = fnv(h, &lines[i].function_id, sizeof(lines[i].function_id));
		h = fnv(h, &lines[i].line, sizeof(lines[i].line));
	}
	for (;; h++) {
		if (!u64map_get(&p->loc_ix, h, &v))
			break;
		if (same_loc(p->locs.a[v - 1], real->addr, map, lines, nl))
			return v;
	}
	l = pp_alloc(p, sizeof(*l));
	if (!vec_push(p, &p->locs, l))
		return 0;
	perftools__profiles__location__init(l);
	l->id = v = p->locs.n;
	l->mapping_id = map;
	l->address = real->addr;
	l->n_line = nl;
	l->line = lp;
	put(p, &p->loc_ix, h, v);
	return v;
}

static void add_label(struct pp *p, PSample *s, const char *key, const char *val)
{
	PLabel *lab = pp_alloc(p, sizeof(*lab));

	if (!lab)
		return;
	perftools__profiles__label__init(lab);
	lab->key = str_id(p, key);
	lab->str = str_id(p, val);
	s->label[s->n_label++] = lab;
}

static void add_sample(struct pp *p, const struct site *st, const int *col,
		       size_t ncol)
{
	PSample *s = pp_alloc(p, sizeof(*s));
	struct frame none = {
		.function = st->preexisting ? "[alive before attach]" : "[unknown stack]",
	};
	int n = 0;

	if (!vec_push(p, &p->samples, s))
		return;
	perftools__profiles__sample__init(s);
	s->location_id = pp_alloc(p, (st->nframes + 1) * sizeof(uint64_t));
	s->value = pp_alloc(p, ncol * sizeof(int64_t));
	s->label = pp_alloc(p, 3 * sizeof(*s->label));
	if (p->err)
		return;
	s->n_value = ncol;
	if (st->kind == SITE_HEAP) {
		s->value[col[T_HEAP]] = st->bytes > 0 ? st->bytes : 0;
		s->value[col[T_INUSE_OBJECTS]] = st->live > 0 ? st->live : 0;
		s->value[col[T_ALLOC_SPACE]] = (int64_t)st->alloc_bytes;
		s->value[col[T_ALLOC_OBJECTS]] = (int64_t)st->alloc_objects;
	} else {
		s->value[col[kind_types[st->kind]]] = folded_site_value(st);
	}
	for (int i = 0; i < st->nframes; i = n) {
		/* A run of inlined frames ends with the frame they live in. */
		for (n = i; n < st->nframes - 1 && st->frames[n].inlined; n++)
			;
		n++;
		s->location_id[s->n_location_id++] = loc_id(p, &st->frames[i], n - i);
	}
	if (!st->nframes)
		s->location_id[s->n_location_id++] = loc_id(p, &none, 1);
	add_label(p, s, "kind", site_kind_name(st->kind));
	add_label(p, s, "leak", st->growth.leak ? "true" : "false");
	if (st->kind == SITE_GOROUTINE && st->wait_reason)
		add_label(p, s, "wait_reason", st->wait_reason);
	else if (st->heap_cause)
		add_label(p, s, "consequence_of", "heap");
}

/* In the profile: something outstanding, or heap allocated (alloc_space
 * of a heap site whose objects were all freed). */
static bool in_profile(const struct site *s)
{
	return folded_site_value(s) > 0 ||
	       (s->kind == SITE_HEAP && s->alloc_bytes > 0);
}

static void pp_free(struct pp *p)
{
	for (size_t i = 0; i < p->allocs.n; i++)
		free(p->allocs.a[i]);
	free(p->allocs.a);
	free(p->strs.a);
	free(p->funcs.a);
	free(p->maps.a);
	free(p->locs.a);
	free(p->samples.a);
	u64map_free(&p->str_ix);
	u64map_free(&p->func_ix);
	u64map_free(&p->map_ix);
	u64map_free(&p->loc_ix);
}

/* gzip (RFC 1952) of buf to out. */
static int write_gzip(const uint8_t *buf, size_t len, FILE *out)
{
	z_stream z = {};
	uint8_t *gz;
	size_t n;
	int err = 0;

	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	n = deflateBound(&z, len);
	gz = malloc(n);
	if (!gz) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (uint8_t *)buf;
	z.avail_in = len;
	z.next_out = gz;
	z.avail_out = n;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		err = -EIO;
	else if (fwrite(gz, 1, z.total_out, out) != z.total_out || fflush(out))
		err = errno ? -errno : -EIO;
	deflateEnd(&z);
	free(gz);
	return err;
}

int pprof_write(struct lt_ctx *ctx, struct lt_target *tg, FILE *out)
{
	const struct model *m = &tg->model;
	struct pp p = {};	/* zeroed u64maps are initialized, empty */
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType types[T_MAX], *tp[T_MAX], period;
	int col[T_MAX], top = -1;
	bool used[T_MAX] = {};
	size_t ncol = 0, len;
	int64_t comment;
	char buf[512];
	uint8_t *pb;
	int err;

	vec_push(&p, &p.strs, pp_alloc(&p, 1));	/* "" */
	/* One column per kind with something outstanding; the most suspect
	 * site's kind is the default. */
	for (size_t i = 0; i < m->n; i++) {
		const struct site *s = m->ranked[i];

		if (!in_profile(s))
			continue;
		used[kind_types[s->kind]] = true;
		if (s->kind == SITE_HEAP)
			used[T_INUSE_OBJECTS] = used[T_ALLOC_SPACE] =
				used[T_ALLOC_OBJECTS] = true;
		if (top < 0)
			top = kind_types[s->kind];
	}
	for (int t = 0; t < T_MAX; t++) {
		col[t] = ncol;
		if (!used[t])
			continue;
		perftools__profiles__value_type__init(&types[ncol]);
		types[ncol].type = str_id(&p, type_names[t][0]);
		types[ncol].unit = str_id(&p, type_names[t][1]);
		tp[ncol] = &types[ncol];
		ncol++;
	}
	/* The target's binary is the first mapping (pprof's main binary). */
	map_id(&p, tg->target.exe, 0);
	for (size_t i = 0; i < m->n && !p.err; i++)
		if (in_profile(m->ranked[i]))
			add_sample(&p, m->ranked[i], col, ncol);

	snprintf(buf, sizeof(buf), "%s: pid %d (%s), %.1f s", LT_VERSION,
		 tg->target.pid, tg->target.comm, tg->now_s);
	comment = str_id(&p, buf);
	prof.n_sample_type = ncol;
	prof.sample_type = tp;
	prof.default_sample_type = top >= 0 ? str_id(&p, type_names[top][0]) : 0;
	prof.n_comment = 1;
	prof.comment = &comment;
	if (used[T_HEAP]) {	/* as a Go heap profile: one sample per rate */
		struct goheap_info hi;

		goheap_get_info(tg, &hi);
		perftools__profiles__value_type__init(&period);
		period.type = str_id(&p, "space");
		period.unit = str_id(&p, "bytes");
		prof.period_type = &period;
		prof.period = hi.rate;
	}
	prof.time_nanos = (int64_t)ctx->started_at * 1000000000LL;
	prof.duration_nanos = (int64_t)(tg->now_s * 1e9);
	prof.n_sample = p.samples.n;
	prof.sample = (PSample **)p.samples.a;
	prof.n_mapping = p.maps.n;
	prof.mapping = (PMapping **)p.maps.a;
	prof.n_location = p.locs.n;
	prof.location = (PLocation **)p.locs.a;
	prof.n_function = p.funcs.n;
	prof.function = (PFunction **)p.funcs.a;
	prof.n_string_table = p.strs.n;
	prof.string_table = (char **)p.strs.a;

	len = p.err ? 0 : perftools__profiles__profile__get_packed_size(&prof);
	pb = pp_alloc(&p, len);
	err = p.err;
	if (!err) {
		perftools__profiles__profile__pack(&prof, pb);
		err = write_gzip(pb, len, out);
	}
	pp_free(&p);
	return err;
}
