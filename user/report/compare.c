// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report/compare.h"
#include "report/folded.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "report/report.h"

#define STACK_NAMES 5		/* frames named per entry */
#define JSON_LISTED 100		/* entries per list in the JSON report */
#define TEXT_LISTED 10		/* ... and in the text report */

/* Sites of one key, summed. */
struct entry {
	int kind;		/* enum site_kind */
	char *key;		/* kind and frame labels, innermost first */
	char *names[STACK_NAMES];
	int nnames;
	int64_t before, after;
};

struct table {
	struct entry *e;
	size_t n, cap;
	struct u64map ix;	/* key hash (probed on collision) -> index + 1 */
	bool nomem;
};

struct lt_base {
	const char *path;	/* the --base argument */
	char *started_at;	/* of the base run, or NULL */
	struct table t;		/* before; after: this run */
};

enum { C_NEW, C_GROWN, C_SHRUNK, C_GONE, C_MAX };
static const char *const class_names[C_MAX] = { "new", "grown", "shrunk", "gone" };

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].key);
		for (int k = 0; k < t->e[i].nnames; k++)
			free(t->e[i].names[k]);
	}
	free(t->e);
	u64map_free(&t->ix);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = LT_HASH_INIT;

	for (; *s; s++)
		h = lt_hash_u64(h, (unsigned char)*s);
	return h;
}

/* A site's key under construction: "kind\nframe\nframe..." (innermost
 * first) and its first frame names. */
struct key {
	char *s;
	size_t len;
	FILE *f;
	char *names[STACK_NAMES];
	int nnames;
};

static void key_start(struct key *k, int kind)
{
	memset(k, 0, sizeof(*k));
	k->f = open_memstream(&k->s, &k->len);
	if (k->f)
		fputs(site_kind_name(kind), k->f);
}

/* A frame as it is matched and shown: its function, else module+offset
 * (the same across runs), else module+address. */
static void key_frame(struct key *k, const char *function, const char *module,
		      const char *addr)
{
	const char *base = module ? strrchr(module, '/') : NULL;
	char buf[1024];

	if (function)
		snprintf(buf, sizeof(buf), "%s", function);
	else if (module && *module)
		snprintf(buf, sizeof(buf), "%s+%s", base ? base + 1 : module, addr ? addr : "?");
	else
		snprintf(buf, sizeof(buf), "[unknown]");
	if (k->f)
		fprintf(k->f, "\n%s", buf);
	if (k->nnames < STACK_NAMES && (k->names[k->nnames] = strdup(buf)))
		k->nnames++;
}

/* The entry of key k (consumed), created empty when absent; NULL on
 * ENOMEM. */
static struct entry *table_get(struct table *t, int kind, struct key *k)
{
	struct entry *e = NULL;
	uint64_t h, v;

	if (k->f && fclose(k->f)) {
		free(k->s);
		k->s = NULL;
	}
	if (!k->s)
		goto out;
	for (h = hash_str(k->s);; h++) {
		if (!u64map_get(&t->ix, h, &v))
			break;
		if (!strcmp(t->e[v - 1].key, k->s)) {
			e = &t->e[v - 1];
			goto out;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct entry *ne = realloc(t->e, cap * sizeof(*ne));

		if (!ne)
			goto out;
		t->e = ne;
		t->cap = cap;
	}
	if (u64map_put(&t->ix, h, t->n + 1))
		goto out;
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->key = k->s;
	memcpy(e->names, k->names, sizeof(e->names));
	e->nnames = k->nnames;
	return e;
out:
	free(k->s);
	for (int i = 0; i < k->nnames; i++)
		free(k->names[i]);
	if (!e)
		t->nomem = true;
	return e;
}

static int kind_of(const char *name)
{
	for (int k = 0; k < SITE_KIND_MAX; k++)
		if (name && !strcmp(name, site_kind_name(k)))
			return k;
	return -1;
}

static const char *jget_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* One base site into t; an error string when it is malformed. */
static const char *add_base_site(struct table *t, json_object *site)
{
	json_object *stack, *fr, *v;
	const char *origin;
	struct entry *e;
	struct key k;
	int kind, n;

	if (!json_object_is_type(site, json_type_object))
		return "a site is not an object";
	kind = kind_of(jget_str(site, "kind"));
	if (!json_object_object_get_ex(site, "stack", &stack) ||
	    !json_object_is_type(stack, json_type_array))
		return "a site has no stack array";
	if (kind < 0)
		return NULL;	/* a kind from a newer leaktrace: skipped */
	n = json_object_array_length(stack);
	for (int i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(stack, i), json_type_object))
			return "a stack frame is not an object";
	key_start(&k, kind);
	origin = jget_str(site, "origin");
	if (!n && origin && !strcmp(origin, "before_attach"))
		key_frame(&k, "[alive before attach]", NULL, NULL);
	for (int i = 0; i < n; i++) {
		fr = json_object_array_get_idx(stack, i);
		key_frame(&k, jget_str(fr, "function"), jget_str(fr, "module"),
			  jget_str(fr, "offset") ? jget_str(fr, "offset")
						 : jget_str(fr, "address"));
	}
	e = table_get(t, kind, &k);
	if (!e)
		return "out of memory";
	/* null (n/a) counts as 0; sites merged under one key add up,
	 * saturating (a file may hold anything: found by fuzz_base) */
	if (json_object_object_get_ex(site, site_kind_is_bytes(kind) ? "bytes" : "live", &v)) {
		int64_t x = json_object_get_int64(v);

		if (x < 0)	/* n/a written as a number */
			x = 0;
		e->before = x > INT64_MAX - e->before ? INT64_MAX : e->before + x;
	}
	return NULL;
}

/* Reads at most LT_BASE_MAX + 1 bytes of path into a NUL-terminated
 * buffer: NULL with errno set (EFBIG when larger). */
static char *read_bounded(const char *path, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (n + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += r;
		if (n > LT_BASE_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	r = errno;
	free(buf);
	close(fd);
	errno = r;
	return NULL;
}

struct lt_base *compare_load(const char *path)
{
	size_t len = 0;
	char *text;
	struct lt_base *b;

	text = read_bounded(path, &len);
	if (!text) {
		if (errno == EFBIG)
			lt_err("--base %s: larger than %d MiB: not a leaktrace report\n",
			       path, LT_BASE_MAX >> 20);
		else
			lt_err("--base %s: cannot read it: %s\n", path, strerror(errno));
		return NULL;
	}
	b = compare_load_buf(text, len, path);
	free(text);
	return b;
}

struct lt_base *compare_load_buf(const char *text, size_t len, const char *path)
{
	struct lt_base *b = calloc(1, sizeof(*b));
	json_object *root = NULL, *sites;
	const char *why = NULL, *schema;
	json_tokener *tok;

	if (!b) {
		lt_err("--base %s: out of memory\n", path);
		return NULL;
	}
	u64map_init(&b->t.ix);
	tok = json_tokener_new();
	if (tok) {
		root = json_tokener_parse_ex(tok, text, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(root);
			root = NULL;
		}
		json_tokener_free(tok);
	}
	schema = root ? jget_str(root, "schema") : NULL;
	if (!root)
		why = "not valid JSON";
	else if (!schema || strcmp(schema, "leaktrace/v1"))
		why = "no \"schema\": \"leaktrace/v1\"";
	else if (!json_object_object_get_ex(root, "sites", &sites) ||
		 !json_object_is_type(sites, json_type_array))
		why = "no \"sites\" array";
	for (size_t i = 0; !why && i < json_object_array_length(sites); i++)
		why = add_base_site(&b->t, json_object_array_get_idx(sites, i));
	if (why) {
		lt_err("--base %s: not a leaktrace JSON report (%s); write one with --format json -o FILE\n",
		       path, why);
		goto fail;
	}
	b->path = path;	/* the caller's: argv */
	schema = jget_str(root, "started_at");
	b->started_at = schema ? strdup(schema) : NULL;
	json_object_put(root);
	return b;
fail:
	json_object_put(root);
	compare_free(b);
	return NULL;
}

void compare_free(struct lt_base *b)
{
	if (!b)
		return;
	table_free(&b->t);
	free(b->started_at);
	free(b);
}

/* This run's site into t (after). */
static void add_site(struct table *t, const struct site *s)
{
	int64_t v = folded_site_value(s);
	struct entry *e;
	struct key k;
	char addr[32];

	if (!v)
		return;
	key_start(&k, s->kind);
	if (!s->nframes && s->preexisting)
		key_frame(&k, "[alive before attach]", NULL, NULL);
	for (int i = 0; i < s->nframes; i++) {
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)
			 (s->frames[i].has_offset ? s->frames[i].offset
						  : s->frames[i].addr));
		key_frame(&k, s->frames[i].function, s->frames[i].module, addr);
	}
	e = table_get(t, s->kind, &k);
	if (e)
		e->after += v;
}

/* This run's sites into the base's table (again on every call). */
static int diff_build(struct lt_base *b, const struct model *m)
{
	for (size_t i = 0; i < b->t.n; i++)
		b->t.e[i].after = 0;
	for (size_t i = 0; i < m->n; i++)
		add_site(&b->t, m->sites[i]);
	return b->t.nomem ? -ENOMEM : 0;
}

static int classify(const struct entry *e)
{
	if (e->before == e->after)
		return -1;
	if (!e->before)
		return C_NEW;
	if (!e->after)
		return C_GONE;
	return e->after > e->before ? C_GROWN : C_SHRUNK;
}

static int by_delta(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry **)a, *y = *(const struct entry **)b;
	int64_t dx = llabs(x->after - x->before), dy = llabs(y->after - y->before);

	return dx < dy ? 1 : dx > dy ? -1 : strcmp(x->key, y->key);
}

/* Entries of class c, biggest change first; *n of them. NULL when none. */
static const struct entry **listed(const struct table *t, int c, size_t *n)
{
	const struct entry **l = malloc((t->n ? t->n : 1) * sizeof(*l));

	*n = 0;
	if (!l)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (classify(&t->e[i]) == c)
			l[(*n)++] = &t->e[i];
	qsort(l, *n, sizeof(*l), by_delta);
	return l;
}

json_object *compare_json(struct lt_base *b, const struct model *m)
{
	json_object *root = json_object_new_object();
	const struct table *t = &b->t;
	size_t n;

	json_object_object_add(root, "base", json_object_new_string(b->path));
	if (diff_build(b, m))
		lt_warn("--base: out of memory, the comparison is incomplete\n");
	for (int c = 0; c < C_MAX; c++) {
		const struct entry **l = listed(t, c, &n);
		json_object *arr = json_object_new_array();

		for (size_t i = 0; l && i < n && i < JSON_LISTED; i++) {
			json_object *o = json_object_new_object(), *st = json_object_new_array();

			for (int k = 0; k < l[i]->nnames; k++)
				json_object_array_add(st, json_object_new_string(l[i]->names[k]));
			json_object_object_add(o, "kind", json_object_new_string(site_kind_name(l[i]->kind)));
			json_object_object_add(o, "stack", st);
			json_object_object_add(o, "before", json_object_new_int64(l[i]->before));
			json_object_object_add(o, "after", json_object_new_int64(l[i]->after));
			json_object_object_add(o, "delta", json_object_new_int64(l[i]->after - l[i]->before));
			json_object_array_add(arr, o);
		}
		json_object_object_add(root, class_names[c], arr);
		free(l);
	}
	return root;
}

static const char *amount(int kind, int64_t v, bool sign, char *buf, size_t len)
{
	char b[32];

	if (site_kind_is_bytes(kind))
		snprintf(buf, len, "%s%s", sign && v >= 0 ? "+" : "",
			 report_bytes((double)v, b, sizeof(b)));
	else
		snprintf(buf, len, sign ? "%+lld" : "%lld", (long long)v);
	return buf;
}

void compare_text(struct lt_base *b, const struct model *m, FILE *out)
{
	char d[32], x[32], y[32];
	const struct table *t = &b->t;
	size_t n, shown = 0;

	fprintf(out, "\nCOMPARED WITH %s%s%s%s\n", b->path, b->started_at ? " (started " : "",
		b->started_at ? b->started_at : "", b->started_at ? ")" : "");
	if (diff_build(b, m))
		fprintf(out, "  (out of memory: incomplete)\n");
	for (int c = 0; c < C_MAX; c++) {
		const struct entry **l = listed(t, c, &n);

		for (size_t i = 0; l && i < n && i < TEXT_LISTED; i++, shown++) {
			const struct entry *e = l[i];

			fprintf(out, "  %-7s %-9s %12s  %12s -> %-12s ", class_names[c],
				site_kind_name(e->kind),
				amount(e->kind, e->after - e->before, true, d, sizeof(d)),
				amount(e->kind, e->before, false, x, sizeof(x)),
				amount(e->kind, e->after, false, y, sizeof(y)));
			for (int k = 0; k < e->nnames; k++)
				fprintf(out, "%s%s", k ? " < " : "", e->names[k]);
			if (!e->nnames)
				fputs("(stack unknown)", out);
			fputc('\n', out);
		}
		if (l && n > TEXT_LISTED)
			fprintf(out, "  %-7s ... %zu more\n", class_names[c], n - TEXT_LISTED);
		free(l);
	}
	if (!shown)
		fprintf(out, "  no change\n");
}
