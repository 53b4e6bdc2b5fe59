/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/export/metrics.c: grouping sites by culprit, the
 * exposition text (families, labels, escaping, limits), checked line by
 * line and by Prometheus's own linter (promtool check metrics). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/metrics.h"

static struct frame fr_runtime = { .function = "runtime.newproc1" };
static struct frame fr_save = { .function = "main.(*SessionStore).Save" };
static struct frame fr_load = { .function = "main.(*BlobCache).Load" };
static struct frame fr_anon = { .module = "/usr/lib/x86_64-linux-gnu/libfoo.so.1" };

static struct site mk(enum site_kind kind, struct frame *f0, struct frame *f1,
		      int64_t bytes, int64_t live, double slope, bool leak)
{
	struct site s = { .kind = kind, .bytes = bytes, .live = live };
	static struct frame frames[32][2];
	static int next;
	struct frame *fr = frames[next++ % 32];

	fr[0] = *f0;
	s.nframes = 1;
	if (f1) {
		fr[1] = *f1;
		s.nframes = 2;
	}
	s.frames = fr;
	s.growth.slope_per_min = slope;
	s.growth.leak = leak;
	return s;
}

static void test_culprit(void **state)
{
	char buf[64];
	struct site s = mk(SITE_MMAP, &fr_runtime, &fr_load, 1, 1, 0, false);
	struct site p = { .kind = SITE_GOROUTINE, .preexisting = true };

	assert_string_equal(metrics_culprit(&s, buf, sizeof(buf)), "main.(*BlobCache).Load");
	s = mk(SITE_MMAP, &fr_anon, NULL, 1, 1, 0, false);
	assert_string_equal(metrics_culprit(&s, buf, sizeof(buf)), "[libfoo.so.1]");
	assert_string_equal(metrics_culprit(&p, buf, sizeof(buf)), "[before attach]");
	s.nframes = 0;
	assert_string_equal(metrics_culprit(&s, buf, sizeof(buf)), "[unknown]");
}

static void test_group(void **state)
{
	struct site s[] = {
		mk(SITE_FAULT, &fr_save, NULL, 1000, -1, 600, true),
		mk(SITE_MMAP, &fr_runtime, &fr_load, 4096, 2, 100, false),
		mk(SITE_FAULT, &fr_runtime, &fr_save, 24, -1, 6, false),	/* same culprit */
		mk(SITE_FAULT, &fr_load, NULL, 0, -1, 0, false),		/* nothing: skipped */
		mk(SITE_GOROUTINE, &fr_runtime, &fr_save, -1, 7, 3, true),
		mk(SITE_THREAD, &fr_load, NULL, -1, 1, 0, false),
		mk(SITE_THREAD, &fr_load, NULL, -1, 2, 0, false),		/* same group, left out */
	};
	struct site *ranked[7];
	struct metrics_site g[3];
	size_t more, n;

	for (int i = 0; i < 7; i++)
		ranked[i] = &s[i];
	n = metrics_group_sites(ranked, 7, g, 3, &more);
	assert_int_equal(n, 3);
	assert_int_equal(more, 1);		/* the thread group, once */
	assert_int_equal(g[0].kind, SITE_FAULT);
	assert_string_equal(g[0].culprit, "main.(*SessionStore).Save");
	assert_int_equal(g[0].bytes, 1024);
	assert_true(fabs(g[0].growth_per_min - 606) < 1e-9);
	assert_true(g[0].leak);
	assert_int_equal(g[0].live, -1);
	assert_string_equal(g[1].culprit, "main.(*BlobCache).Load");
	assert_false(g[1].leak);
	assert_int_equal(g[1].live, 2);
	assert_int_equal(g[2].kind, SITE_GOROUTINE);
	assert_int_equal(g[2].live, 7);
	assert_int_equal(g[2].bytes, -1);
}

static char *escaped(const char *v)
{
	static char buf[1024];
	FILE *f;

	memset(buf, 0, sizeof(buf));
	f = fmemopen(buf, sizeof(buf) - 1, "w");

	metrics_label_escape(f, v);
	fclose(f);
	return buf;
}

static void test_escape(void **state)
{
	char big[600];

	assert_string_equal(escaped("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
	assert_string_equal(escaped("caf\xc3\xa9"), "caf\xc3\xa9");
	/* invalid UTF-8: a lone continuation byte, a cut sequence, overlong */
	assert_string_equal(escaped("x\x80y\xc3"), "x?y?");
	assert_string_equal(escaped("\xe0\x80\x80"), "???");
	assert_string_equal(escaped(NULL), "");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[METRICS_LABEL_MAX - 1] = '\xc3';	/* a 2-byte char across the cut */
	big[METRICS_LABEL_MAX] = '\xa9';
	assert_int_equal(strlen(escaped(big)), METRICS_LABEL_MAX - 1);
}

static struct proc_identity id1 = {
	.pid = 4242, .comm = "we\"ird\\comm", .exe = "/srv/app",
	.cgroup = "/kubepods.slice/x",
	.ct = { .runtime = CT_CONTAINERD,
		.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.pod_uid = "6b8f3c2a-1d4e-4f5a-9b7c-0e1d2c3b4a59", .qos = QOS_BURSTABLE },
};
static struct proc_identity id2 = { .pid = 7, .comm = "c", .exe = "/bin/c" };

static const char *const drop_names[] = { "ringbuf_full", "stack_map_full" };
static const uint64_t drops[] = { 3, 0 };

static char *build(size_t top, size_t max, struct metrics_site *sites, size_t n)
{
	struct metrics_target t[2] = {
		{ .id = &id1, .start_time_s = 1700000000.5, .have_totals = true,
		  .rss = 123456789, .threads = 9, .goroutines = 42, .sites = sites,
		  .nsites = n, .have_heap = true, .heap_inuse = 7340032 },
		{ .id = &id2, .have_totals = false, .goroutines = -1, .sites = sites,
		  .nsites = n, .nmore = 2 },
	};
	struct metrics_self self = { .cpu_s = 1.25, .rss = 50 << 20, .drops = drops,
				     .drop_names = drop_names, .ndrops = 2,
				     .collected_at = 1700000100 };
	struct metrics_limits lim = { .top_n = top, .max_sites = max };
	char *out;
	size_t len;

	assert_int_equal(metrics_build(t, 2, &self, &lim, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_build(void **state)
{
	struct metrics_site sites[3] = {
		{ .kind = SITE_FAULT, .culprit = "main.(*SessionStore).Save", .bytes = 1048576,
		  .live = -1, .growth_per_min = 2.5e6, .leak = true },
		{ .kind = SITE_GOROUTINE, .culprit = "main.(*Notifier).Publish", .bytes = -1,
		  .live = 75, .growth_per_min = 299.5, .leak = true },
		{ .kind = SITE_THREAD, .culprit = "q\"uote", .bytes = -1, .live = 1 },
	};
	const char *labels1 = "pid=\"4242\",comm=\"we\\\"ird\\\\comm\","
		"container=\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
		"pod_uid=\"6b8f3c2a-1d4e-4f5a-9b7c-0e1d2c3b4a59\"";
	char line[1024], *out = build(5, 100, sites, 3);

	snprintf(line, sizeof(line), "leaktrace_process_rss_bytes{%s} 123456789\n", labels1);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "leaktrace_process_goroutines{%s} 42\n", labels1);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "leaktrace_process_heap_inuse_bytes{%s} 7340032\n", labels1);
	assert_non_null(strstr(out, line));
	assert_null(strstr(out, "leaktrace_process_heap_inuse_bytes{pid=\"7\""));
	snprintf(line, sizeof(line), "leaktrace_site_leak{kind=\"fault\","
		 "culprit=\"main.(*SessionStore).Save\",%s} 1\n", labels1);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "leaktrace_site_growth_objects_per_minute{kind=\"goroutine\","
		 "culprit=\"main.(*Notifier).Publish\",%s} 299.5\n", labels1);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "leaktrace_site_bytes{kind=\"fault\","
		 "culprit=\"main.(*SessionStore).Save\",%s} 1048576\n", labels1);
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "leaktrace_process_start_time_seconds{pid=\"4242\""));
	/* no precision lost on a Unix time */
	snprintf(line, sizeof(line), "leaktrace_process_start_time_seconds{%s} 1700000000.5\n",
		 labels1);
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "container_runtime=\"containerd\",qos_class=\"burstable\"} 1\n"));
	assert_non_null(strstr(out, "culprit=\"q\\\"uote\""));
	/* the second process: no totals sampled, not Go: no such series */
	assert_null(strstr(out, "leaktrace_process_rss_bytes{pid=\"7\""));
	assert_null(strstr(out, "leaktrace_process_goroutines{pid=\"7\""));
	assert_non_null(strstr(out, "leaktrace_process_info{pid=\"7\",comm=\"c\",container=\"\","
				    "pod_uid=\"\",exe=\"/bin/c\",cgroup=\"\",container_runtime=\"\","
				    "qos_class=\"\"} 1\n"));
	assert_non_null(strstr(out, "leaktrace_drops_total{cause=\"ringbuf_full\"} 3\n"));
	assert_non_null(strstr(out, "leaktrace_drops_total{cause=\"stack_map_full\"} 0\n"));
	assert_non_null(strstr(out, "leaktrace_processes_tracked 2\n"));
	assert_non_null(strstr(out, "leaktrace_cpu_seconds_total 1.25\n"));
	assert_non_null(strstr(out, "leaktrace_metrics_sites_omitted 2\n"));	/* nmore */
	/* one HELP and TYPE per family, never repeated */
	assert_int_equal(count(out, "# TYPE leaktrace_site_leak gauge\n"), 1);
	assert_int_equal(count(out, "leaktrace_site_leak{"), 6);
	free(out);

	/* top 1 per process, 1 in all: one leak row, the rest counted */
	out = build(1, 1, sites, 3);
	assert_int_equal(count(out, "leaktrace_site_leak{"), 1);
	assert_non_null(strstr(out, "leaktrace_metrics_sites_omitted 7\n"));
	free(out);
	/* top 2 per process, 3 in all */
	out = build(2, 3, sites, 3);
	assert_int_equal(count(out, "leaktrace_site_leak{"), 3);
	assert_int_equal(count(out, "leaktrace_site_leak{kind=\"fault\",culprit=\"main.(*SessionStore).Save\",pid=\"7\""), 1);
	assert_non_null(strstr(out, "leaktrace_metrics_sites_omitted 5\n"));
	free(out);
	/* nothing traced yet */
	out = build(5, 100, sites, 0);
	assert_null(strstr(out, "leaktrace_site_"));
	free(out);
}

/* 200 processes of 10 culprit rows each: the defaults (5 per process,
 * 1000 in all) bound the rows, and the text stays valid. Prints the size
 * and the time to build it (a measurement, not an assertion). */
static void test_many_targets(void **state)
{
	enum { NT = 200, NS = 10 };
	static struct proc_identity ids[NT];
	static struct metrics_site sites[NT][NS];
	static struct metrics_target t[NT];
	struct metrics_self self = { 0 };
	struct metrics_limits lim = { 5, 1000 };
	struct timespec a, b;
	char *out, cmd[] = "promtool check metrics >/dev/null";
	size_t len;
	FILE *p;

	for (int i = 0; i < NT; i++) {
		ids[i].pid = 1000 + i;
		snprintf(ids[i].comm, sizeof(ids[i].comm), "proc%d", i);
		for (int j = 0; j < NS; j++) {
			sites[i][j] = (struct metrics_site){ .kind = j % 2 ? SITE_GOROUTINE : SITE_FAULT,
				.bytes = j % 2 ? -1 : 4096 * j, .live = j % 2 ? j : -1,
				.growth_per_min = j, .leak = j == 0 };
			snprintf(sites[i][j].culprit, sizeof(sites[i][j].culprit), "pkg.func%d", j);
		}
		t[i] = (struct metrics_target){ .id = &ids[i], .have_totals = true, .rss = 1 << 20,
			.threads = 4, .goroutines = 10, .sites = sites[i], .nsites = NS };
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(metrics_build(t, NT, &self, &lim, &out, &len), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(count(out, "leaktrace_site_leak{"), 1000);
	assert_int_equal(count(out, "leaktrace_site_leak{kind=\"fault\",culprit=\"pkg.func0\",pid=\"1000\""), 1);
	assert_int_equal(count(out, "pid=\"1000\""), 4 + 5 * 3);	/* 4 process series, 5 rows x 3 */
	assert_non_null(strstr(out, "leaktrace_metrics_sites_omitted 1000\n"));
	print_message("200 processes x 5 sites: %zu bytes, built in %.2f ms\n", len,
		      (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	p = popen(cmd, "w");
	assert_non_null(p);
	fputs(out, p);
	assert_int_equal(pclose(p), 0);
	free(out);
}

/* Prometheus's own parser and linter accept the text. */
static void test_promtool(void **state)
{
	struct metrics_site sites[2] = {
		{ .kind = SITE_MMAP, .culprit = "a\\b\n\"c\xff", .bytes = 4096, .live = 1,
		  .growth_per_min = -12.75 },
		{ .kind = SITE_GOROUTINE, .culprit = "main.main", .bytes = -1, .live = 3,
		  .growth_per_min = NAN },
	};
	char *out = build(5, 100, sites, 2), cmd[] = "promtool check metrics";
	FILE *p;
	int st;

	if (access("/usr/bin/promtool", X_OK))
		fail_msg("promtool missing: scripts/setup.sh installs prometheus");
	p = popen(cmd, "w");
	assert_non_null(p);
	fputs(out, p);
	st = pclose(p);
	free(out);
	assert_int_equal(st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_culprit),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_many_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
