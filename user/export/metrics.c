// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/metrics.h"

const char *metrics_culprit(const struct site *s, char *buf, size_t len)
{
	const struct frame *f;
	const char *base;

	if (s->preexisting || s->nframes <= 0) {
		snprintf(buf, len, "%s", s->preexisting ? "[before attach]" : "[unknown]");
		return buf;
	}
	f = &s->frames[site_user_frame(s)];
	if (f->function) {
		snprintf(buf, len, "%s", f->function);
	} else if (f->module) {
		base = strrchr(f->module, '/');
		snprintf(buf, len, "[%s]", base ? base + 1 : f->module);
	} else {
		snprintf(buf, len, "[unknown]");
	}
	return buf;
}

static bool site_counts(const struct site *s)
{
	return s->bytes > 0 || s->live > 0 || s->growth.leak ||
	       (isfinite(s->growth.slope_per_min) && s->growth.slope_per_min != 0);
}

size_t metrics_group_sites(struct site *const *ranked, size_t n,
			   struct metrics_site *out, size_t max, size_t *more)
{
	char name[METRICS_LABEL_MAX + 1];
	size_t ng = 0, extra = 0;

	for (size_t i = 0; i < n; i++) {
		const struct site *s = ranked[i];
		struct metrics_site *g = NULL;
		double slope;

		if (!site_counts(s))
			continue;
		metrics_culprit(s, name, sizeof(name));
		for (size_t j = 0; j < ng && !g; j++)
			if (out[j].kind == s->kind && !strcmp(out[j].culprit, name))
				g = &out[j];
		if (!g) {
			if (ng == max) {
				/* count each left-out group once */
				bool seen = false;

				for (size_t k = 0; k < i && !seen; k++) {
					char other[METRICS_LABEL_MAX + 1];

					seen = ranked[k]->kind == s->kind && site_counts(ranked[k]) &&
					       !strcmp(metrics_culprit(ranked[k], other, sizeof(other)), name);
				}
				extra += !seen;
				continue;
			}
			g = &out[ng++];
			memset(g, 0, sizeof(*g));
			g->kind = s->kind;
			memcpy(g->culprit, name, sizeof(name));
			g->bytes = g->live = -1;
		}
		if (s->bytes >= 0)
			g->bytes = (g->bytes < 0 ? 0 : g->bytes) + s->bytes;
		if (s->live >= 0)
			g->live = (g->live < 0 ? 0 : g->live) + s->live;
		slope = s->growth.slope_per_min;
		if (isfinite(slope))
			g->growth_per_min += slope;
		g->leak |= s->growth.leak;
	}
	if (more)
		*more = extra;
	return ng;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong 3- and 4-byte forms, surrogates, past U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return k;
}

void metrics_label_escape(FILE *f, const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");
	size_t n = strlen((const char *)p), used = 0;

	while (*p) {
		size_t k = utf8_len(p, n);

		if (used + (k ? k : 1) > METRICS_LABEL_MAX)
			break;
		if (!k) {
			fputc('?', f);
			k = 1;
		} else if (*p == '\\') {
			fputs("\\\\", f);
		} else if (*p == '"') {
			fputs("\\\"", f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else {
			fwrite(p, 1, k, f);
		}
		used += k;
		p += k;
		n -= k;
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	metrics_label_escape(f, v);
	fputc('"', f);
}

/* The labels every series of a process carries. */
static void proc_labels(FILE *f, const struct proc_identity *id)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", id->pid);
	label(f, "pid", pid, true);
	label(f, "comm", id->comm, false);
	label(f, "container", id->ct.container_id, false);
	label(f, "pod_uid", id->ct.pod_uid, false);
}

static void value(FILE *f, double v)
{
	if (isnan(v))
		fputs(" NaN\n", f);
	else if (isinf(v))
		fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		fprintf(f, " %lld\n", (long long)v);
	else
		fprintf(f, " %.15g\n", v);
}

static void proc_series(FILE *f, const char *name, const struct metrics_target *t,
			double v)
{
	fprintf(f, "%s{", name);
	proc_labels(f, t->id);
	fputc('}', f);
	value(f, v);
}

/* How many site rows of target i are shown under the limits. */
static size_t shown_sites(const struct metrics_target *t, size_t i,
			  const struct metrics_limits *lim, size_t *budget)
{
	size_t k = t[i].nsites < lim->top_n ? t[i].nsites : lim->top_n;

	if (k > *budget)
		k = *budget;
	*budget -= k;
	return k;
}

enum site_metric { SM_BYTES, SM_LIVE, SM_GROWTH_BYTES, SM_GROWTH_OBJECTS, SM_LEAK, SM_MAX };

static const struct {
	const char *name, *type, *help;
} site_metrics[SM_MAX] = {
	[SM_BYTES] = { "leaktrace_site_bytes", "gauge",
		"Outstanding bytes of a memory site (kind mmap, brk, fault, heap, malloc), summed per culprit function" },
	[SM_LIVE] = { "leaktrace_site_live_objects", "gauge",
		"Live objects of a site (goroutines, threads, mappings), summed per culprit function" },
	[SM_GROWTH_BYTES] = { "leaktrace_site_growth_bytes_per_minute", "gauge",
		"Growth of a memory site's outstanding bytes (least-squares slope since attach)" },
	[SM_GROWTH_OBJECTS] = { "leaktrace_site_growth_objects_per_minute", "gauge",
		"Growth of a site's live objects (least-squares slope since attach)" },
	[SM_LEAK] = { "leaktrace_site_leak", "gauge",
		"1 when leaktrace's verdict for a site of this culprit is a leak, else 0" },
};

static void site_family(FILE *f, enum site_metric m, const struct metrics_target *t,
			size_t nt, const size_t *shown)
{
	bool head = false;

	for (size_t i = 0; i < nt; i++) {
		for (size_t j = 0; j < shown[i]; j++) {
			const struct metrics_site *s = &t[i].sites[j];
			bool bytes = site_kind_is_bytes(s->kind);
			double v;

			switch (m) {
			case SM_BYTES:
				if (!bytes || s->bytes < 0)
					continue;
				v = s->bytes;
				break;
			case SM_LIVE:
				if (s->live < 0)
					continue;
				v = s->live;
				break;
			case SM_GROWTH_BYTES:
			case SM_GROWTH_OBJECTS:
				if (bytes != (m == SM_GROWTH_BYTES))
					continue;
				v = s->growth_per_min;
				break;
			default:
				v = s->leak;
				break;
			}
			if (!head) {
				family(f, site_metrics[m].name, site_metrics[m].type,
				       site_metrics[m].help);
				head = true;
			}
			fprintf(f, "%s{", site_metrics[m].name);
			label(f, "kind", site_kind_name(s->kind), true);
			label(f, "culprit", s->culprit, false);
			fputc(',', f);
			proc_labels(f, t[i].id);
			fputc('}', f);
			value(f, v);
		}
	}
}

static void process_families(FILE *f, const struct metrics_target *t, size_t nt)
{
	bool go = false;

	family(f, "leaktrace_process_info", "gauge",
	       "A traced process: 1, with its identity as labels (join on pid)");
	for (size_t i = 0; i < nt; i++) {
		const struct proc_identity *id = t[i].id;

		fputs("leaktrace_process_info{", f);
		proc_labels(f, id);
		label(f, "exe", id->exe, false);
		label(f, "cgroup", id->cgroup[0] ? id->cgroup : id->cgroup_v1, false);
		label(f, "container_runtime", ct_runtime_name(id->ct.runtime), false);
		label(f, "qos_class", k8s_qos_name(id->ct.qos), false);
		fputs("} 1\n", f);
	}
	family(f, "leaktrace_process_start_time_seconds", "gauge",
	       "When a traced process started, Unix time (pid + start time identify it)");
	for (size_t i = 0; i < nt; i++)
		if (t[i].start_time_s > 0)
			proc_series(f, "leaktrace_process_start_time_seconds", &t[i],
				    t[i].start_time_s);
	family(f, "leaktrace_process_rss_bytes", "gauge",
	       "Resident memory of a traced process (VmRSS), at the last sample");
	for (size_t i = 0; i < nt; i++)
		if (t[i].have_totals)
			proc_series(f, "leaktrace_process_rss_bytes", &t[i], t[i].rss);
	family(f, "leaktrace_process_threads", "gauge",
	       "OS threads of a traced process, at the last sample");
	for (size_t i = 0; i < nt; i++)
		if (t[i].have_totals)
			proc_series(f, "leaktrace_process_threads", &t[i], t[i].threads);
	for (size_t i = 0; i < nt; i++) {
		if (t[i].goroutines < 0)
			continue;
		if (!go)
			family(f, "leaktrace_process_goroutines", "gauge",
			       "Live goroutines of a traced Go process, at the last sample");
		go = true;
		proc_series(f, "leaktrace_process_goroutines", &t[i], t[i].goroutines);
	}
	go = false;
	for (size_t i = 0; i < nt; i++) {
		if (!t[i].have_heap)
			continue;
		if (!go)
			family(f, "leaktrace_process_heap_inuse_bytes", "gauge",
			       "Heap in use of a traced Go process: live objects by its heap "
			       "profile (scaled by MemProfileRate), at the last GC cycle read");
		go = true;
		proc_series(f, "leaktrace_process_heap_inuse_bytes", &t[i],
			    (double)t[i].heap_inuse);
	}
}

static void self_families(FILE *f, const struct metrics_self *self, size_t nt,
			  size_t omitted)
{
	family(f, "leaktrace_cpu_seconds_total", "counter",
	       "CPU time leaktrace itself used (user + system)");
	fputs("leaktrace_cpu_seconds_total", f);
	value(f, self->cpu_s);
	family(f, "leaktrace_rss_bytes", "gauge", "leaktrace's own resident memory");
	fputs("leaktrace_rss_bytes", f);
	value(f, self->rss);
	family(f, "leaktrace_drops_total", "counter",
	       "Events or stacks leaktrace could not record, by cause (see README: the option that fixes each)");
	for (size_t i = 0; i < self->ndrops; i++) {
		fputs("leaktrace_drops_total{", f);
		label(f, "cause", self->drop_names[i], true);
		fputc('}', f);
		value(f, self->drops[i]);
	}
	family(f, "leaktrace_processes_tracked", "gauge", "Processes leaktrace traces now");
	fputs("leaktrace_processes_tracked", f);
	value(f, nt);
	family(f, "leaktrace_metrics_sites_omitted", "gauge",
	       "Site rows (kind and culprit of a process) left out by --metrics-top and --metrics-max-sites");
	fputs("leaktrace_metrics_sites_omitted", f);
	value(f, omitted);
	family(f, "leaktrace_last_collect_timestamp_seconds", "gauge",
	       "Unix time of the sample these metrics show");
	fputs("leaktrace_last_collect_timestamp_seconds", f);
	value(f, self->collected_at);
}

int metrics_build(const struct metrics_target *t, size_t nt,
		  const struct metrics_self *self,
		  const struct metrics_limits *lim, char **out, size_t *len)
{
	size_t budget = lim->max_sites, omitted = 0, *shown;
	FILE *f;

	shown = calloc(nt ? nt : 1, sizeof(*shown));
	if (!shown)
		return -ENOMEM;
	for (size_t i = 0; i < nt; i++) {
		shown[i] = shown_sites(t, i, lim, &budget);
		omitted += t[i].nsites - shown[i] + t[i].nmore;
	}
	*out = NULL;
	f = open_memstream(out, len);
	if (!f) {
		free(shown);
		return -ENOMEM;
	}
	process_families(f, t, nt);
	for (int m = 0; m < SM_MAX; m++)
		site_family(f, m, t, nt, shown);
	self_families(f, self, nt, omitted);
	free(shown);
	if (ferror(f)) {
		fclose(f);
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
