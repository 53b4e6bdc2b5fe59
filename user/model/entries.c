// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/culprit.h"
#include "model/entries.h"
#include "model/verdict.h"

enum entry_col entry_col_of(enum site_kind kind)
{
	switch (kind) {
	case SITE_FAULT: return COL_RESIDENT;
	case SITE_HEAP:
	case SITE_MALLOC: return COL_HEAP;
	default: return COL_MAPPED;
	}
}

const char *entry_col_name(enum entry_col c)
{
	return c == COL_RESIDENT ? "resident" : c == COL_HEAP ? "heap" : "mapped";
}

static enum entry_class class_of(enum site_kind kind)
{
	return kind == SITE_GOROUTINE ? ENTRY_GOROUTINE :
	       kind == SITE_THREAD ? ENTRY_THREAD : ENTRY_MEMORY;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	if (!s)
		return mix(h, 0xff);
	for (; *s; s++)
		h = mix(h, (unsigned char)*s);
	return mix(h, 0xfe);
}

/* A frame by function, or by module and address when it has no name. */
static uint64_t mix_frame(uint64_t h, const struct frame *f, bool line)
{
	if (!f->function)
		return mix(mix_str(h, f->module), f->addr);
	h = mix_str(h, f->function);
	if (line)
		h = mix((mix_str(h, f->file)), (uint64_t)f->line);
	return h;
}

/* The identity of the entry a site belongs to; *culprit: its frame. */
static uint64_t entry_key(const struct site *s, int *culprit, bool *symptom)
{
	enum entry_class cls = class_of(s->kind);
	uint64_t h = mix(0xcbf29ce484222325ULL, cls + 1);
	int c = s->nframes ? site_culprit_frame(s) : -1;

	*culprit = c;
	*symptom = false;
	if (!s->nframes)	/* no stack: one entry per kind */
		return mix(mix(h, 0x5eed), s->kind);
	if (c < 0) {
		/* runtime, libc or allocator only: memory growth is a symptom,
		 * threads are the runtime's own */
		*symptom = cls == ENTRY_MEMORY;
		return mix(h, 0x5e1f);
	}
	/* goroutines: the function of the go statement, whatever the line
	 * (net/http's dialConn starts readLoop and writeLoop: one culprit)
	 * or the callers (unknown for those alive before attach) */
	if (cls == ENTRY_GOROUTINE)
		return mix_frame(h, &s->frames[c], false);
	for (int i = c; i < s->nframes; i++)
		h = mix_frame(h, &s->frames[i], false);
	return h;
}

void entries_free(struct model *m)
{
	for (size_t i = 0; i < m->nentries; i++)
		free(m->entries[i].sites);
	free(m->entries);
	m->entries = NULL;
	m->nentries = 0;
}

static void add_site(struct entry *e, struct site *s)
{
	e->sites[e->nsites++] = s;
	if (verdict_strength(s->verdict) > verdict_strength(e->verdict))
		e->verdict = s->verdict;
	if (s->score > e->score)
		e->score = s->score;
	if (s->verdict == VERDICT_STOPPED && isfinite(s->growth.change_s) &&
	    !(s->growth.change_s <= e->grew_until_s))
		e->grew_until_s = s->growth.change_s;
	if (e->cls == ENTRY_MEMORY) {
		struct entry_column *c = &e->col[entry_col_of(s->kind)];

		c->nsites++;
		c->bytes += s->bytes > 0 ? s->bytes : 0;
		c->slope_per_min += s->growth.slope_per_min;
		c->recent_per_min += s->growth.recent_per_min;
		return;
	}
	e->live += s->live > 0 ? s->live : 0;
	if (s->preexisting)
		e->before_attach += s->live > 0 ? s->live : 0;
	else
		e->since += s->live > 0 ? s->live : 0;
	e->created += s->created;
	e->waiting += s->waiting;
	if (s->running >= 0)
		e->running = (e->running > 0 ? e->running : 0) + s->running;
	if (s->runnable >= 0)
		e->runnable = (e->runnable > 0 ? e->runnable : 0) + s->runnable;
	e->rate_per_min += s->growth.slope_per_min;
	e->recent_per_min += s->growth.recent_per_min;
}

/* Symptoms are driven by the top heap entry when the heap kind traced
 * anything, else by the top application memory entry growing now. */
static void find_causes(struct model *m)
{
	int heap = -1, grow = -1;

	for (size_t i = 0; i < m->nentries; i++) {
		struct entry *e = &m->entries[i];

		if (e->symptom || e->cls != ENTRY_MEMORY || e->culprit < 0)
			continue;
		if (heap < 0 && e->col[COL_HEAP].nsites)
			heap = (int)i;
		if (grow < 0 && (e->verdict == VERDICT_LEAK ||
				 e->verdict == VERDICT_GROWING))
			grow = (int)i;
	}
	for (size_t i = 0; i < m->nentries; i++)
		if (m->entries[i].symptom)
			m->entries[i].cause = heap >= 0 ? heap : grow;
}

int entries_build(struct model *m)
{
	size_t n = m->n, ne = 0;
	uint32_t *of = calloc(n ? n : 1, sizeof(*of));
	int *culprit = calloc(n ? n : 1, sizeof(*culprit));
	bool *symptom = calloc(n ? n : 1, sizeof(*symptom));
	size_t *count = calloc(n ? n : 1, sizeof(*count));
	struct u64map index;
	int err = -ENOMEM;

	entries_free(m);
	u64map_init(&index);
	if (!of || !culprit || !symptom || !count)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t key = entry_key(m->ranked[i], &culprit[i], &symptom[i]);
		uint64_t v;

		if (!u64map_get(&index, key, &v)) {
			v = ++ne;
			if (u64map_put(&index, key, v))
				goto out;
		}
		of[i] = (uint32_t)(v - 1);
		count[v - 1]++;
	}
	m->entries = calloc(ne ? ne : 1, sizeof(*m->entries));
	if (!m->entries)
		goto out;
	for (size_t k = 0; k < ne; k++) {
		m->entries[k].sites = calloc(count[k], sizeof(struct site *));
		if (!m->entries[k].sites) {
			m->nentries = k;
			entries_free(m);
			goto out;
		}
	}
	m->nentries = ne;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &m->entries[of[i]];

		if (!e->nsites) {	/* the first, most suspect, leads */
			e->cls = class_of(m->ranked[i]->kind);
			e->lead = m->ranked[i];
			e->culprit = culprit[i];
			e->symptom = symptom[i];
			e->cause = -1;
			e->score = -INFINITY;
			e->grew_until_s = NAN;
			e->running = e->runnable = -1;
		}
		add_site(e, m->ranked[i]);
	}
	/* "grew until" only for an entry that has stopped as a whole */
	for (size_t k = 0; k < ne; k++)
		if (m->entries[k].verdict != VERDICT_STOPPED)
			m->entries[k].grew_until_s = NAN;
	find_causes(m);
	err = 0;
out:
	u64map_free(&index);
	free(of);
	free(culprit);
	free(symptom);
	free(count);
	return err;
}
