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

static bool is_app(const struct frame *f)
{
	enum plumbing p = frame_plumbing(f);

	return p == PLUMB_NONE || p == PLUMB_LIBRARY;
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
	/* the culprit and its application callers: runtime, libc and cgo
	 * frames between them differ with how the stack was unwound */
	h = mix_frame(h, &s->frames[c], false);
	for (int i = c + 1; i < s->nframes; i++)
		if (is_app(&s->frames[i]))
			h = mix_frame(h, &s->frames[i], false);
	return h;
}

/* A truncated stack that agrees with a complete one as far as it goes:
 * same culprit function, its application callers a prefix of the other's. */
static bool extends(const struct site *full, int fc, const struct site *cut, int cc)
{
	int i = fc + 1, j = cc + 1;

	if (!full->frames[fc].function || !cut->frames[cc].function ||
	    strcmp(full->frames[fc].function, cut->frames[cc].function))
		return false;
	for (;;) {
		while (i < full->nframes && !is_app(&full->frames[i]))
			i++;
		while (j < cut->nframes && !is_app(&cut->frames[j]))
			j++;
		if (j >= cut->nframes)
			return true;
		if (i >= full->nframes ||
		    mix_frame(0, &full->frames[i], false) != mix_frame(0, &cut->frames[j], false))
			return false;
		i++;
		j++;
	}
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

/* Memory entries whose lead stack ended early join the one complete
 * entry they agree with, when there is exactly one. Entries stay in rank
 * order (the merged one keeps its place; the other is removed). */
static int merge_truncated(struct model *m)
{
	size_t out = 0;

	for (size_t i = 0; i < m->nentries; i++) {
		struct entry *e = &m->entries[i], *into = NULL;
		struct site **n;
		int candidates = 0;

		if (e->cls != ENTRY_MEMORY || e->symptom || e->culprit < 0 ||
		    !e->lead->truncated)
			continue;
		for (size_t k = 0; k < m->nentries; k++) {
			struct entry *f = &m->entries[k];

			if (k == i || !f->nsites || f->cls != ENTRY_MEMORY ||
			    f->symptom || f->culprit < 0 || f->lead->truncated)
				continue;
			if (extends(f->lead, f->culprit, e->lead, e->culprit)) {
				into = f;
				candidates++;
			}
		}
		if (candidates != 1)
			continue;
		n = realloc(into->sites, (into->nsites + e->nsites) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		into->sites = n;
		for (size_t j = 0; j < e->nsites; j++)
			add_site(into, e->sites[j]);
		/* keep members most suspect first */
		for (size_t j = 1; j < into->nsites; j++)
			for (size_t q = j; q > 0 && into->sites[q]->score >
						    into->sites[q - 1]->score; q--) {
				struct site *t = into->sites[q];

				into->sites[q] = into->sites[q - 1];
				into->sites[q - 1] = t;
			}
		into->lead = into->sites[0];
		into->culprit = site_culprit_frame(into->lead);
		free(e->sites);
		e->sites = NULL;
		e->nsites = 0;
	}
	for (size_t i = 0; i < m->nentries; i++)
		if (m->entries[i].nsites)
			m->entries[out++] = m->entries[i];
	m->nentries = out;
	/* a merged entry may now outrank the ones before it (stable) */
	for (size_t j = 1; j < m->nentries; j++)
		for (size_t q = j; q > 0 && m->entries[q].score >
					    m->entries[q - 1].score; q--) {
			struct entry t = m->entries[q];

			m->entries[q] = m->entries[q - 1];
			m->entries[q - 1] = t;
		}
	return 0;
}

/* Whether any column of e grew over the window: a symptom that did not
 * grow is driven by nothing. */
static bool entry_grows(const struct entry *e)
{
	for (int c = 0; c < COL_MAX; c++)
		if (e->col[c].nsites && e->col[c].slope_per_min > 0)
			return true;
	return false;
}

/* Symptoms (that grew) are driven by the top heap entry when the heap kind traced
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
		if (m->entries[i].symptom && entry_grows(&m->entries[i]))
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
	if (merge_truncated(m))
		goto out;
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
