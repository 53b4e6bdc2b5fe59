/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Interval map of [start, end) ranges tagged with a site tag.
 *
 * Storage is a treap (binary search tree on start, heap on a random
 * priority) driven by split and merge, so every operation costs O(log n)
 * expected plus O(1) per range it removes or moves. The core primitive is
 * cut(): detach everything inside [s, e), trimming the ranges that straddle
 * s or e, and hand the detached pieces back as a treap of their own. Unmap
 * reports and frees them; a moving mremap shifts them and merges them back.
 *
 * Per-tag byte totals live in an open-addressing hash table so
 * ranges_bytes() and ranges_total() are O(1).
 *
 * Operations never fail half-way: the nodes an operation may need are
 * reserved before the tree is touched. If that allocation fails the
 * operation is skipped and counted in ranges_errors().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace/ranges.h"

struct node {
	struct node *left, *right;
	uint64_t start, end;
	uint32_t tag;
	uint32_t prio;
};

struct tag_slot {
	uint64_t bytes;
	uint32_t tag;
	uint32_t used;
};

/* Worst case per public call: a moving mremap cuts three times (2 nodes
 * each) and inserts the growth (1 node). */
#define SPARE_MAX 8
#define TAGS_MIN_CAP 64

struct ranges {
	struct node *root;
	uint64_t total;
	uint64_t count;
	uint64_t errors;
	uint64_t rng;
	struct tag_slot *tags;
	uint32_t tags_cap;	/* power of two */
	uint32_t tags_used;
	struct node *spare[SPARE_MAX];
	int nspare;
};

static uint32_t next_prio(struct ranges *r)
{
	/* xorshift64*: deterministic, good enough for treap priorities */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return (uint32_t)((r->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

/* --- per-tag totals ---------------------------------------------------- */

static uint32_t tag_hash(uint32_t tag, uint32_t cap)
{
	return (uint32_t)(tag * 2654435761u) & (cap - 1);
}

static struct tag_slot *tag_find(const struct ranges *r, uint32_t tag)
{
	uint32_t i = tag_hash(tag, r->tags_cap);

	for (;;) {
		struct tag_slot *s = &r->tags[i];

		if (!s->used)
			return NULL;
		if (s->tag == tag)
			return s;
		i = (i + 1) & (r->tags_cap - 1);
	}
}

static int tags_grow(struct ranges *r)
{
	uint32_t cap = r->tags_cap * 2, i;
	struct tag_slot *t;

	if (cap < r->tags_cap)
		return -ENOMEM;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < r->tags_cap; i++) {
		struct tag_slot *s = &r->tags[i];
		uint32_t j;

		if (!s->used)
			continue;
		j = tag_hash(s->tag, cap);
		while (t[j].used)
			j = (j + 1) & (cap - 1);
		t[j] = *s;
	}
	free(r->tags);
	r->tags = t;
	r->tags_cap = cap;
	return 0;
}

/* Finds or creates the slot of tag; NULL only when out of memory. Slots are
 * never deleted: the number of tags is bounded by the number of sites. */
static struct tag_slot *tag_get(struct ranges *r, uint32_t tag)
{
	struct tag_slot *s = tag_find(r, tag);
	uint32_t i;

	if (s)
		return s;
	/* keep the load factor under 3/4 so probes stay short */
	if ((uint64_t)(r->tags_used + 1) * 4 > (uint64_t)r->tags_cap * 3 &&
	    tags_grow(r))
		return NULL;
	i = tag_hash(tag, r->tags_cap);
	while (r->tags[i].used)
		i = (i + 1) & (r->tags_cap - 1);
	s = &r->tags[i];
	s->used = 1;
	s->tag = tag;
	s->bytes = 0;
	r->tags_used++;
	return s;
}

/* Every tag in the tree has a slot (created by the insert that put it
 * there), so accounting itself cannot fail. */
static void account(struct ranges *r, uint32_t tag, uint64_t bytes, bool add)
{
	struct tag_slot *s = tag_find(r, tag);

	if (add) {
		s->bytes += bytes;
		r->total += bytes;
	} else {
		s->bytes -= bytes;
		r->total -= bytes;
	}
}

/* --- nodes ------------------------------------------------------------- */

static bool reserve(struct ranges *r, int n)
{
	while (r->nspare < n) {
		struct node *x = malloc(sizeof(*x));

		if (!x)
			return false;
		r->spare[r->nspare++] = x;
	}
	return true;
}

/* Takes a reserved node; counted as held from here on. */
static struct node *node_new(struct ranges *r, uint64_t start, uint64_t end,
			     uint32_t tag)
{
	struct node *x = r->spare[--r->nspare];

	x->left = x->right = NULL;
	x->start = start;
	x->end = end;
	x->tag = tag;
	x->prio = next_prio(r);
	r->count++;
	return x;
}

/* --- treap primitives -------------------------------------------------- */

/* Splits t into nodes with start < key (*l) and start >= key (*g). */
static void split(struct node *t, uint64_t key, struct node **l,
		  struct node **g)
{
	while (t) {
		if (t->start < key) {
			*l = t;
			l = &t->right;
			t = t->right;
		} else {
			*g = t;
			g = &t->left;
			t = t->left;
		}
	}
	*l = NULL;
	*g = NULL;
}

/* Joins a and b where every start in a is below every start in b. */
static struct node *merge(struct node *a, struct node *b)
{
	struct node *root = NULL, **link = &root;

	while (a && b) {
		if (a->prio >= b->prio) {
			*link = a;
			link = &a->right;
			a = a->right;
		} else {
			*link = b;
			link = &b->left;
			b = b->left;
		}
	}
	*link = a ? a : b;
	return root;
}

static struct node *rightmost(struct node *t)
{
	if (t)
		while (t->right)
			t = t->right;
	return t;
}

/* Detaches the coverage of [s, e) (s < e) and returns it as a treap whose
 * pieces all lie inside [s, e). Ranges straddling s or e are trimmed in the
 * tree; their inner parts become new pieces. Needs 2 reserved nodes.
 * The books still include the detached pieces: the caller settles them
 * with unaccount_all(). */
static struct node *cut(struct ranges *r, uint64_t s, uint64_t e)
{
	struct node *lo, *hi, *mid, *rest, *p, *head = NULL;

	split(r->root, s, &lo, &hi);
	p = rightmost(lo);
	if (p && p->end > s) {
		if (p->end > e) {
			/* [s, e) is strictly inside p: split p in three */
			struct node *tail = node_new(r, e, p->end, p->tag);

			mid = node_new(r, s, e, p->tag);
			p->end = s;
			r->root = merge(lo, merge(tail, hi));
			return mid;
		}
		head = node_new(r, s, p->end, p->tag);
		p->end = s;
	}
	split(hi, e, &mid, &rest);
	p = rightmost(mid);
	if (p && p->end > e) {
		rest = merge(node_new(r, e, p->end, p->tag), rest);
		p->end = e;
	}
	if (head)
		mid = merge(head, mid);
	r->root = merge(lo, rest);
	return mid;
}

/* Takes the pieces returned by cut() out of the books. */
static void unaccount_all(struct ranges *r, struct node *t)
{
	while (t) {
		unaccount_all(r, t->left);
		account(r, t->tag, t->end - t->start, false);
		r->count--;
		t = t->right;
	}
}

static void report_free(struct node *t, ranges_cb cb, void *ctx)
{
	while (t) {
		struct node *right = t->right;

		report_free(t->left, cb, ctx);
		if (cb)
			cb(ctx, t->tag, t->start, t->end);
		free(t);
		t = right;
	}
}

/* Moves every piece of t by delta (mod 2^64) and books it back. */
static void shift_all(struct ranges *r, struct node *t, uint64_t delta)
{
	while (t) {
		shift_all(r, t->left, delta);
		t->start += delta;
		t->end += delta;
		account(r, t->tag, t->end - t->start, true);
		r->count++;
		t = t->right;
	}
}

/* Puts treap t (pieces inside an empty [s, ...)) back into the tree. */
static void insert_at(struct ranges *r, uint64_t s, struct node *t)
{
	struct node *lo, *hi;

	split(r->root, s, &lo, &hi);
	r->root = merge(lo, merge(t, hi));
}

static void drop(struct ranges *r, uint64_t s, uint64_t e, ranges_cb cb,
		 void *ctx)
{
	struct node *t = cut(r, s, e);

	unaccount_all(r, t);
	report_free(t, cb, ctx);
}

/* Maps empty [s, e) to tag. Needs 1 reserved node and the tag's slot. */
static void place(struct ranges *r, uint64_t s, uint64_t e, uint32_t tag)
{
	insert_at(r, s, node_new(r, s, e, tag));
	account(r, tag, e - s, true);
}

/* --- public API -------------------------------------------------------- */

struct ranges *ranges_new(void)
{
	struct ranges *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->tags = calloc(TAGS_MIN_CAP, sizeof(*r->tags));
	if (!r->tags) {
		free(r);
		return NULL;
	}
	r->tags_cap = TAGS_MIN_CAP;
	r->rng = 0x9E3779B97F4A7C15ULL;
	return r;
}

static void free_tree(struct node *t)
{
	while (t) {
		struct node *right = t->right;

		free_tree(t->left);
		free(t);
		t = right;
	}
}

void ranges_free(struct ranges *r)
{
	if (!r)
		return;
	free_tree(r->root);
	while (r->nspare)
		free(r->spare[--r->nspare]);
	free(r->tags);
	free(r);
}

void ranges_add(struct ranges *r, uint64_t start, uint64_t end, uint32_t tag,
		ranges_cb cb, void *ctx)
{
	if (start >= end)
		return;
	if (!reserve(r, 3) || !tag_get(r, tag)) {
		r->errors++;
		return;
	}
	drop(r, start, end, cb, ctx);
	place(r, start, end, tag);
}

void ranges_remove(struct ranges *r, uint64_t start, uint64_t end,
		   ranges_cb cb, void *ctx)
{
	if (start >= end)
		return;
	if (!reserve(r, 2)) {
		r->errors++;
		return;
	}
	drop(r, start, end, cb, ctx);
}

void ranges_remap(struct ranges *r, uint64_t old, uint64_t old_len,
		  uint64_t new_addr, uint64_t new_len, uint32_t grow_tag,
		  ranges_cb cb, void *ctx)
{
	uint64_t kept = old_len < new_len ? old_len : new_len;
	struct node *moved = NULL;

	if (old + old_len < old || new_addr + new_len < new_addr)
		return;		/* wraps: no such mapping */
	if (!reserve(r, 7) || (new_len > kept && !tag_get(r, grow_tag))) {
		r->errors++;
		return;
	}
	if (new_addr == old) {
		if (old_len > new_len)
			drop(r, old + new_len, old + old_len, cb, ctx);
		else if (new_len > old_len) {
			drop(r, old + old_len, old + new_len, cb, ctx);
			place(r, old + old_len, old + new_len, grow_tag);
		}
		return;
	}
	/* The kept prefix leaves silently (its bytes still exist), the
	 * shrunk tail is unmapped, the destination is cleared (MREMAP_FIXED
	 * semantics), then the prefix lands there with its tags. */
	if (kept) {
		moved = cut(r, old, old + kept);
		unaccount_all(r, moved);
	}
	if (old_len > kept)
		drop(r, old + kept, old + old_len, cb, ctx);
	if (new_len)
		drop(r, new_addr, new_addr + new_len, cb, ctx);
	if (moved) {
		shift_all(r, moved, new_addr - old);
		insert_at(r, new_addr, moved);
	}
	if (new_len > kept)
		place(r, new_addr + kept, new_addr + new_len, grow_tag);
}

uint64_t ranges_bytes(const struct ranges *r, uint32_t tag)
{
	const struct tag_slot *s = tag_find(r, tag);

	return s ? s->bytes : 0;
}

uint64_t ranges_total(const struct ranges *r)
{
	return r->total;
}

uint64_t ranges_count(const struct ranges *r)
{
	return r->count;
}

uint64_t ranges_errors(const struct ranges *r)
{
	return r->errors;
}

bool ranges_find(const struct ranges *r, uint64_t addr, uint32_t *tag,
		 uint64_t *start, uint64_t *end)
{
	const struct node *t = r->root, *best = NULL;

	while (t) {
		if (t->start <= addr) {
			best = t;
			t = t->right;
		} else {
			t = t->left;
		}
	}
	if (!best || best->end <= addr)
		return false;
	if (tag)
		*tag = best->tag;
	if (start)
		*start = best->start;
	if (end)
		*end = best->end;
	return true;
}

static void foreach(const struct node *t, ranges_cb cb, void *ctx)
{
	while (t) {
		foreach(t->left, cb, ctx);
		cb(ctx, t->tag, t->start, t->end);
		t = t->right;
	}
}

void ranges_foreach(const struct ranges *r, ranges_cb cb, void *ctx)
{
	foreach(r->root, cb, ctx);
}

struct check {
	const struct ranges *r;
	uint64_t count, total;
	const struct node *prev;
	int bad;
};

static int check_node(struct check *c, const struct node *t, int depth)
{
	int hl, hr;

	if (!t)
		return depth;
	if (t->start >= t->end ||
	    (t->left && t->left->prio > t->prio) ||
	    (t->right && t->right->prio > t->prio) || !tag_find(c->r, t->tag))
		c->bad = 1;
	hl = check_node(c, t->left, depth + 1);
	if (c->prev && c->prev->end > t->start)
		c->bad = 1;	/* unsorted or overlapping */
	c->prev = t;
	c->count++;
	c->total += t->end - t->start;
	hr = check_node(c, t->right, depth + 1);
	return hl > hr ? hl : hr;
}

int ranges_check(const struct ranges *r)
{
	struct check c = { .r = r };
	uint64_t tags_sum = 0;
	uint32_t i;
	int height;

	height = check_node(&c, r->root, 0);
	for (i = 0; i < r->tags_cap; i++)
		if (r->tags[i].used)
			tags_sum += r->tags[i].bytes;
	if (c.bad || c.count != r->count || c.total != r->total ||
	    tags_sum != r->total)
		return -EUCLEAN;
	return height;
}
