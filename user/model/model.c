// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/culprit.h"
#include "model/entries.h"
#include "model/model.h"
#include "model/verdict.h"

/* Samples kept per site before pairs are merged (bounded memory for long
 * runs; the slope over the whole window survives downsampling). */
#define MAX_SAMPLES 2048
#define SAME_SAMPLE_S 0.05
static const char *const kind_names[SITE_KIND_MAX] = {
	[SITE_GOROUTINE] = "goroutine", [SITE_THREAD] = "thread",
	[SITE_MMAP] = "mmap",		[SITE_BRK] = "brk",
	[SITE_FAULT] = "fault",		[SITE_HEAP] = "heap",
	[SITE_MALLOC] = "malloc",
};

const char *site_kind_name(enum site_kind kind)
{
	return kind < SITE_KIND_MAX ? kind_names[kind] : "unknown";
}

bool site_kind_is_bytes(enum site_kind kind)
{
	return kind != SITE_GOROUTINE && kind != SITE_THREAD;
}

int site_user_frame(const struct site *s)
{
	int i = site_culprit_frame(s);

	return i >= 0 ? i : 0;
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	u64map_init(&m->index);
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->sites[i]->frames);
		free(m->sites[i]->wait_frames);
		free(m->sites[i]->samples);
		free(m->sites[i]);
	}
	free(m->sites);
	free(m->ranked);
	entries_free(m);
	free(m->rss);
	free(m->threads);
	u64map_free(&m->index);
	memset(m, 0, sizeof(*m));
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	if (!s)
		return (h ^ 0xff) * 0x100000001b3ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xfe) * 0x100000001b3ULL;
}

/* Sites merge by what users see: function, file and line, or module and
 * address where the function is unknown. */
static uint64_t site_key(enum site_kind kind, const struct frame *f, int n,
			 unsigned int flags)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)kind ^
		     ((uint64_t)(flags & SITE_F_PREEXISTING) << 8);

	for (int i = 0; i < n; i++) {
		if (f[i].function) {
			h = hash_str(h, f[i].function);
			h = hash_str(h, f[i].file);
			h = (h ^ (uint64_t)f[i].line) * 0x100000001b3ULL;
		} else {
			h = hash_str(h, f[i].module);
			h = (h ^ f[i].addr) * 0x100000001b3ULL;
		}
	}
	return h;
}

struct site *model_site(struct model *m, enum site_kind kind,
			const struct frame *frames, int nframes,
			unsigned int flags)
{
	return model_site_keyed(m, kind, frames, nframes, flags, 0);
}

struct site *model_site_keyed(struct model *m, enum site_kind kind,
			      const struct frame *frames, int nframes,
			      unsigned int flags, uint64_t extra_key)
{
	uint64_t key = site_key(kind, frames, nframes, flags), id;
	struct site *s;

	key = (key ^ extra_key) * 0x100000001b3ULL;
	if (u64map_get(&m->index, key, &id))
		return m->sites[id - 1];
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct site **n = realloc(m->sites, cap * sizeof(*n));

		if (!n)
			return NULL;
		m->sites = n;
		m->cap = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->frames = malloc((nframes ? nframes : 1) * sizeof(*frames));
	if (!s->frames) {
		free(s);
		return NULL;
	}
	if (nframes)
		memcpy(s->frames, frames, nframes * sizeof(*frames));
	s->nframes = nframes;
	s->kind = kind;
	s->id = m->n;
	s->truncated = flags & SITE_F_TRUNCATED;
	s->preexisting = flags & SITE_F_PREEXISTING;
	s->live = site_kind_is_bytes(kind) ? -1 : 0;
	s->bytes = site_kind_is_bytes(kind) ? 0 : -1;
	s->oldest_s = -1;
	s->parked_s = -1;
	s->running = s->runnable = -1;
	if (u64map_put(&m->index, key, m->n + 1)) {
		free(s->frames);
		free(s);
		return NULL;
	}
	m->sites[m->n++] = s;
	return s;
}

struct site *model_site_preexisting(struct model *m, enum site_kind kind)
{
	return model_site(m, kind, NULL, 0, SITE_F_PREEXISTING);
}

/* True when sample t goes into the newest stored sample (its stride is
 * not full yet), false when it starts a new one. */
static bool stride_take(struct stride *st)
{
	if (st->n > 1 && st->filled < st->n) {
		st->filled++;
		return true;
	}
	st->filled = 1;
	return false;
}

/* Pairs were merged: from now on a stored sample stands for twice as
 * many, and the newest one is complete. */
static void stride_double(struct stride *st)
{
	st->n = st->n > 1 ? st->n * 2 : 2;
	st->filled = st->n;
}

static void downsample(struct site *s)
{
	size_t j = 0;

	for (size_t i = 0; i + 1 < s->nsamples; i += 2, j++) {
		s->samples[j].t = (s->samples[i].t + s->samples[i + 1].t) / 2;
		s->samples[j].v = (s->samples[i].v + s->samples[i + 1].v) / 2;
	}
	if (s->nsamples % 2)
		s->samples[j++] = s->samples[s->nsamples - 1];
	s->nsamples = j;
	stride_double(&s->stride);
}

/* Drops the samples older than the window ending at t (keeps two at
 * least, so a flat site still has a slope of 0). */
static size_t window_cut(struct sample *a, size_t n, double t, double window_s)
{
	size_t k = 0;

	if (window_s <= 0 || n <= 2)
		return n;
	while (k < n - 2 && a[k].t < t - window_s)
		k++;
	if (k)
		memmove(a, a + k, (n - k) * sizeof(*a));
	return n - k;
}

/* In a window, once a series holds max_samples / 2 samples, one sample
 * per window_s / max_samples seconds (the latest of its slot): a short
 * run keeps every sample, a long one an even resolution over the window;
 * at most 1.5 max_samples + 2 samples a series. */
static bool same_slot(const struct model *m, const struct sample *last,
		      size_t n, double t)
{
	double w;

	if (m->window_s <= 0 || !m->max_samples || n < m->max_samples / 2)
		return false;
	w = m->window_s / m->max_samples;
	return floor(last->t / w) == floor(t / w);
}

void model_sample(struct model *m, double t)
{
	size_t max = m->max_samples ? m->max_samples : MAX_SAMPLES;

	for (size_t i = 0; i < m->n; i++) {
		struct site *s = m->sites[i];
		double v = site_kind_is_bytes(s->kind) ? (double)s->bytes
						       : (double)s->live;

		/* A sample right after the last one (the final collect) replaces
		 * it: two points at one instant bend the fit. One nobody looked
		 * for never replaces one somebody did. */
		if (s->nsamples && (t - s->samples[s->nsamples - 1].t < SAME_SAMPLE_S ||
				    same_slot(m, &s->samples[s->nsamples - 1],
					      s->nsamples, t) ||
				    (m->window_s <= 0 && stride_take(&s->stride)))) {
			if (s->unobserved && !s->unseen_tail)
				continue;
			s->samples[s->nsamples - 1].t = t;
			s->samples[s->nsamples - 1].v = v;
			if (!s->unobserved)
				s->unseen_tail = 0;
			continue;
		}

		s->nsamples = window_cut(s->samples, s->nsamples, t, m->window_s);
		if (s->unseen_tail > s->nsamples)
			s->unseen_tail = s->nsamples;
		if (s->nsamples == s->cap || s->nsamples >= max + max / 2 + 2) {
			if (s->nsamples >= max + max / 2 + 2) {
				downsample(s);
				/* a pair with one unseen sample is unseen */
				s->unseen_tail = (s->unseen_tail + 1) / 2;
			} else {
				size_t cap = s->cap ? s->cap * 2 : 16;
				struct sample *n =
					realloc(s->samples, cap * sizeof(*n));

				if (!n)
					continue;
				s->samples = n;
				s->cap = cap;
			}
		}
		s->samples[s->nsamples].t = t;
		s->samples[s->nsamples].v = v;
		s->nsamples++;
		s->unseen_tail = s->unobserved ? s->unseen_tail + 1 : 0;
	}
}

size_t model_seen_samples(const struct site *s)
{
	return s->nsamples - (s->unseen_tail < s->nsamples ? s->unseen_tail
							     : s->nsamples);
}

int model_cmp_score(const void *a, const void *b)
{
	const struct site *x = *(struct site *const *)a;
	const struct site *y = *(struct site *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->id < y->id ? -1 : 1;
}

void model_rank(struct model *m, double rss_rise)
{
	struct site **r = realloc(m->ranked, (m->n ? m->n : 1) * sizeof(*r));

	if (!r)
		return;
	m->ranked = r;
	memcpy(r, m->sites, m->n * sizeof(*r));
	for (size_t i = 0; i < m->n; i++) {
		struct site *s = m->sites[i];

		analyze_growth(s->samples, model_seen_samples(s), &s->growth);
		verdict_decide(s, rss_rise);
		s->score = verdict_score(s);
	}
	qsort(m->ranked, m->n, sizeof(*m->ranked), model_cmp_score);
	entries_build(m);
}

static int push_total(struct sample **a, size_t n, size_t *cap, double t,
		      double v)
{
	if (n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct sample *p = realloc(*a, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*a = p;
		*cap = c;
	}
	(*a)[n].t = t;
	(*a)[n].v = v;
	return 0;
}

void model_revise(struct site *s, double t_from, double d_bytes, double d_live)
{
	double d = site_kind_is_bytes(s->kind) ? d_bytes : d_live;

	if (d == 0)
		return;
	for (size_t i = s->nsamples; i-- > 0 && s->samples[i].t >= t_from;)
		s->samples[i].v = fmax(s->samples[i].v + d, 0);
}

void model_totals(struct model *m, double t, double rss, double threads)
{
	size_t cap = m->totals_cap;

	/* the final collect right after the last sample replaces it */
	if (m->ntotals && (t - m->rss[m->ntotals - 1].t < SAME_SAMPLE_S ||
			   same_slot(m, &m->rss[m->ntotals - 1], m->ntotals, t) ||
			   (m->window_s <= 0 && stride_take(&m->totals_stride)))) {
		m->rss[m->ntotals - 1] = (struct sample){ t, rss };
		m->threads[m->ntotals - 1] = (struct sample){ t, threads };
		return;
	}
	if (m->window_s > 0) {
		size_t n = window_cut(m->rss, m->ntotals, t, m->window_s);

		window_cut(m->threads, m->ntotals, t, m->window_s);
		m->ntotals = n;
	}
	/* long runs: keep every other sample once the series is long */
	if (m->ntotals >= (m->max_samples ? m->max_samples : MAX_SAMPLES)) {
		size_t j = 0;

		for (size_t i = 0; i < m->ntotals; i += 2, j++) {
			m->rss[j] = m->rss[i];
			m->threads[j] = m->threads[i];
		}
		m->ntotals = j;
		if (m->window_s <= 0)
			stride_double(&m->totals_stride);
	}
	if (push_total(&m->rss, m->ntotals, &cap, t, rss))
		return;
	cap = m->totals_cap;
	if (push_total(&m->threads, m->ntotals, &cap, t, threads))
		return;
	m->totals_cap = cap;
	m->ntotals++;
}
