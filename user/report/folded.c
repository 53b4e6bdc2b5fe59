// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include "report/folded.h"

int64_t folded_site_value(const struct site *s)
{
	int64_t v = site_kind_is_bytes(s->kind) ? s->bytes : s->live;

	return v > 0 ? v : 0;
}

/* One frame's name. ';' separates frames and a line ends at '\n', so both
 * (and other control characters) are replaced. */
static void put_name(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		fputc(c == ';' || c < 0x20 ? '_' : c, out);
	}
}

static void put_frame(FILE *out, const struct frame *f)
{
	char addr[32];
	const char *mod;

	fputc(';', out);
	if (f->function) {
		put_name(out, f->function);
		return;
	}
	if (!f->module || !*f->module) {
		fputs("[unknown]", out);
		return;
	}
	mod = strrchr(f->module, '/');
	put_name(out, mod ? mod + 1 : f->module);
	snprintf(addr, sizeof(addr), "+0x%llx", (unsigned long long)
		 (f->has_offset ? f->offset : f->addr));
	fputs(addr, out);
}

int folded_write(struct lt_target *tg, FILE *out)
{
	const struct model *m = &tg->model;

	for (size_t i = 0; i < m->n; i++) {
		const struct site *s = m->ranked[i];
		int64_t v = folded_site_value(s);

		if (v <= 0)
			continue;
		fputs(site_kind_name(s->kind), out);
		if (!s->nframes)
			fputs(s->preexisting ? ";[alive before attach]" : ";[unknown]", out);
		/* Outermost first: the frames are stored innermost first. */
		for (int k = s->nframes - 1; k >= 0; k--)
			put_frame(out, &s->frames[k]);
		fprintf(out, " %lld\n", (long long)v);
	}
	if (fflush(out) || ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}
