// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <json-c/json.h>
#include "report/goroutines.h"
#include "report/report.h"

int goroutine_ancestry(const struct site *s, const struct site **out, int max)
{
	int n = 0;

	for (const struct site *a = s->creator; a && n < max; a = a->creator) {
		bool loop = a == s;

		for (int i = 0; i < n && !loop; i++)
			loop = out[i] == a;
		if (loop)
			break;
		out[n++] = a;
	}
	return n;
}

const struct frame *goroutine_ancestor_frames(const struct site *a, int *n)
{
	if (a->preexisting && a->nwait) {
		*n = a->nwait;
		return a->wait_frames;
	}
	*n = a->nframes;
	return a->frames;
}

static double sampled_share(const struct site *s)
{
	return s->live > 0 ? (double)(s->live - s->unsampled) / s->live : 1;
}

void goroutine_site_json(const struct site *s, json_object *o)
{
	const struct site *anc[ANCESTRY_MAX];
	int n = goroutine_ancestry(s, anc, ANCESTRY_MAX);
	json_object *arr = json_object_new_array();

	json_object_object_add(o, "creation", json_object_new_string(
		s->preexisting ? "go statement (alive before attach)" :
		s->stmt_only ? "go statement (creation stack not sampled)" :
		"sampled"));
	json_object_object_add(o, "sampled_share", s->preexisting ? NULL :
		json_object_new_double((double)(int)(sampled_share(s) * 1000 + 0.5) / 1000));
	json_object_object_add(o, "unsampled", json_object_new_int64(s->unsampled));
	json_object_object_add(o, "stmt_probed", json_object_new_int64(s->stmt_probed));
	json_object_object_add(o, "runtime_leaked", json_object_new_int64(s->runtime_leaked));
	for (int i = 0; i < n; i++) {
		int nf;
		const struct frame *f = goroutine_ancestor_frames(anc[i], &nf);

		json_object_array_add(arr, report_frames_json(f, nf));
	}
	json_object_object_add(o, "ancestry", arr);
}

/* Go code outside the standard library: package main, or an import path
 * whose first element has a dot (github.com/..., example.org/...). */
static bool app_function(const char *fn)
{
	const char *slash, *dot;

	if (!fn)
		return false;
	if (!strncmp(fn, "main.", 5))
		return true;
	slash = strchr(fn, '/');
	dot = strchr(fn, '.');
	return slash && dot && dot < slash;
}

/* An ancestor in one line: its creation stack's first frame outside the
 * runtime and, when that is library code, the application frame that
 * called into it; for one alive before attach (creation stack unknown),
 * where it waits now, at its application frame. */
static void ancestor_line(const struct site *a, char *buf, size_t len)
{
	int nf, k = 0, app = -1;
	const struct frame *f = goroutine_ancestor_frames(a, &nf);
	char fr[512];

	while (k + 1 < nf && f[k].function && !strncmp(f[k].function, "runtime.", 8))
		k++;
	for (int i = k; i < nf && app < 0; i++)
		if (app_function(f[i].function))
			app = i;
	if (!nf) {
		snprintf(buf, len, "(stack unknown)");
		return;
	}
	if (a->preexisting && a->nwait) {
		snprintf(buf, len, "a goroutine alive before attach, now waiting in ");
		report_frame_text(&f[app >= 0 ? app : k], fr, sizeof(fr));
		strncat(buf, fr, len - strlen(buf) - 1);
		return;
	}
	report_frame_text(&f[k], buf, len);
	if (app > k) {
		report_frame_text(&f[app], fr, sizeof(fr));
		strncat(buf, ", called from ", len - strlen(buf) - 1);
		strncat(buf, fr, len - strlen(buf) - 1);
	}
}

void goroutine_site_text(const struct site *s, FILE *out, int indent)
{
	const struct site *anc[ANCESTRY_MAX];
	int n = goroutine_ancestry(s, anc, ANCESTRY_MAX);
	char fr[512];

	if (s->kind != SITE_GOROUTINE)
		return;
	if (s->unsampled > 0 && !s->stmt_only && s->stmt_probed)
		fprintf(out, "%*screation stack from a probe on its go statement (%llu creations seen); live count from reads\n",
			indent, "", (unsigned long long)s->stmt_probed);
	else if (s->unsampled > 0 && !s->stmt_only)
		fprintf(out, "%*screation stack sampled for %lld of %lld live (%.0f %%); the rest share its go statement\n",
			indent, "", (long long)(s->live - s->unsampled),
			(long long)s->live, sampled_share(s) * 100);
	if (s->stmt_only)
		fprintf(out, "%*screation stack not sampled yet: go statement only\n",
			indent, "");
	if (s->runtime_leaked > 0)
		fprintf(out, "%*s%lld marked leaked by the Go runtime itself\n",
			indent, "", (long long)s->runtime_leaked);
	/* The runtime's own goroutines: who started them says nothing. */
	if (s->nframes && s->frames[0].function &&
	    !strncmp(s->frames[0].function, "runtime.", 8))
		n = 0;
	for (int i = 0; i < n; i++) {
		ancestor_line(anc[i], fr, sizeof(fr));
		fprintf(out, "%*s%s %s\n", indent, "", i ? "<- created by" : "created by", fr);
	}
}
