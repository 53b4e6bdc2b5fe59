// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* report.html: one self-contained page. d3 and our script are embedded
 * (assets.S); the data is the run's own report.json plus the capture's
 * timeline, folded stacks and goroutine dump, as JSON in the page. The
 * script draws whatever kinds and fields the report holds, so new kinds
 * show without changes here. A Content-Security-Policy forbids every
 * network request: the page works offline and leaks nothing. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "capture/capture_int.h"
#include "report/report.h"

extern const char lt_asset_d3[], lt_asset_d3_end[];
extern const char lt_asset_js[], lt_asset_js_end[];
extern const char lt_asset_css[], lt_asset_css_end[];

/* Text inside <script>/<style>: "</script" or "</style" would end the
 * element early (neither d3 nor report.js has one: a guard). */
static void put_raw(FILE *out, const char *s, const char *end)
{
	for (; s < end; s++) {
		if (s[0] == '<' && end - s > 7 && s[1] == '/' &&
		    (!strncasecmp(s + 2, "script", 6) || !strncasecmp(s + 2, "style", 5)))
			fputs("<\\", out);
		else
			fputc(*s, out);
	}
}

/* JSON with '<' escaped: safe inside <script>, still the same JSON. */
static void put_json(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("\\u003c", out);
		else
			fputc(*s, out);
	}
}

static void put_html(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

int html_write(struct capture *c, struct lt_target *tg, json_object *report,
	       json_object *meta, const char *folded, const char *rel)
{
	json_object *data = json_object_new_object(), *files = json_object_new_array();
	FILE *out = cap_open(c, rel);
	char title[256];

	if (!out) {
		json_object_put(data);
		json_object_put(files);
		return -errno;
	}
	for (size_t i = 0; i < c->nfiles; i++)
		json_object_array_add(files, json_object_new_string(c->files[i]));
	json_object_object_add(data, "report", json_object_get(report));
	json_object_object_add(data, "capture", json_object_get(meta));
	json_object_object_add(data, "folded", json_object_new_string(folded));
	json_object_object_add(data, "goroutines", json_object_get(c->gdump));
	json_object_object_add(data, "files", files);
	snprintf(title, sizeof(title), "leaktrace: %s (pid %d)", tg->target.comm,
		 tg->target.pid);

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"" LT_VERSION "\">\n<title>", out);
	put_html(out, title);
	fputs("</title>\n<style>\n", out);
	put_raw(out, lt_asset_css, lt_asset_css_end);
	fputs("</style></head>\n<body>\n<noscript><p class=\"noscript\">This page draws "
	      "its charts with JavaScript. Without it, read report.txt and "
	      "goroutines.txt next to this file.</p></noscript>\n"
	      "<div id=\"app\"></div>\n<script id=\"lt-data\" type=\"application/json\">", out);
	put_json(out, json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	fputs("</script>\n<script>\n", out);
	put_raw(out, lt_asset_d3, lt_asset_d3_end);
	fputs("\n</script>\n<script>\n", out);
	put_raw(out, lt_asset_js, lt_asset_js_end);
	fputs("\n</script>\n</body></html>\n", out);
	json_object_put(data);
	return cap_close(out);
}
