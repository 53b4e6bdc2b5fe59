/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/report/text.c helpers: the exe as the process runs
 * it, the memory-limit line, and the culprit with its merged lines. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/entries.h"
#include "report/text.h"

static struct lt_target ctx;

/* A child run through a link whose name differs from its target's, like
 * /usr/bin/redis-server -> redis-check-rdb. */
static void test_exe_as_run(void **state)
{
	char dir[] = "/tmp/lt-text-XXXXXX", link[PATH_MAX], buf[PATH_MAX * 2];
	char sleep_path[PATH_MAX];
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	assert_non_null(realpath("/bin/sleep", sleep_path));
	snprintf(link, sizeof(link), "%s/redis-server", dir);
	assert_int_equal(symlink(sleep_path, link), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		execl(link, link, "5", (char *)NULL);
		_exit(127);
	}
	usleep(200 * 1000);
	memset(&ctx, 0, sizeof(ctx));
	ctx.target.pid = pid;
	snprintf(ctx.target.exe, sizeof(ctx.target.exe), "%s", sleep_path);
	text_exe(&ctx, buf, sizeof(buf));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(link);
	rmdir(dir);
	/* the name it runs as; the exe kept beside it (the link is not next
	 * to the exe, so it cannot be shown as a path there) */
	if (strncmp(buf, "redis-server (exe ", 18))
		fail_msg("got \"%s\"", buf);

	/* run by its own name: the exe */
	memset(&ctx, 0, sizeof(ctx));
	ctx.target.pid = getpid();
	assert_non_null(realpath("/proc/self/exe", ctx.target.exe));
	text_exe(&ctx, buf, sizeof(buf));
	assert_string_equal(buf, ctx.target.exe);

	/* gone: the exe */
	ctx.target.pid = 0x3fffffff;
	text_exe(&ctx, buf, sizeof(buf));
	assert_string_equal(buf, ctx.target.exe);
}

static int copy_file(const char *from, const char *to)
{
	char b[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	if (!in || !out)
		return -1;
	while ((n = fread(b, 1, sizeof(b), in)) > 0)
		fwrite(b, 1, n, out);
	fclose(in);
	return fclose(out) ? -1 : chmod(to, 0755);
}

/* The link lives next to the exe (Debian's /usr/bin/redis-server ->
 * redis-check-rdb): the path run is shown. */
static void test_exe_link_beside(void **state)
{
	char dir[] = "/tmp/lt-text-XXXXXX", exe[PATH_MAX], link[PATH_MAX];
	char want[PATH_MAX], buf[PATH_MAX * 2];
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/redis-check-rdb", dir);
	snprintf(link, sizeof(link), "%s/redis-server", dir);
	assert_int_equal(copy_file("/bin/sleep", exe), 0);
	assert_int_equal(symlink("redis-check-rdb", link), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		/* a process title, as redis sets: one string with a space */
		execl(link, "redis-server /etc/redis/redis.conf", "5", (char *)NULL);
		_exit(127);
	}
	usleep(200 * 1000);
	memset(&ctx, 0, sizeof(ctx));
	ctx.target.pid = pid;
	assert_non_null(realpath(exe, ctx.target.exe));
	text_exe(&ctx, buf, sizeof(buf));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(want, sizeof(want), "%.*s/redis-server",
		 (int)(strrchr(ctx.target.exe, '/') - ctx.target.exe), ctx.target.exe);
	unlink(link);
	unlink(exe);
	rmdir(dir);
	assert_string_equal(buf, want);
}

static void test_limit_line(void **state)
{
	struct limit_view v = {
		.have = true,
		.lim = { .source = MEMLIMIT_CGROUP_V1, .limit = 1ULL << 30,
			 .left = 768ULL << 20, .cgroup = "/svc" },
		.rss_now_per_min = 12.0 * (1 << 20),
	};
	char buf[512];

	v.minutes = memlimit_minutes(&v.lim, v.rss_now_per_min);
	text_limit_line(&v, buf, sizeof(buf));
	assert_string_equal(buf, "limit 1.0 GiB (cgroup v1 /svc), 768.0 MiB left; "
				 "at +12.0 MiB/min (RSS now) reached in ~64 min");
	v.rss_now_per_min = 0;
	v.minutes = INFINITY;
	text_limit_line(&v, buf, sizeof(buf));
	assert_string_equal(buf, "limit 1.0 GiB (cgroup v1 /svc), 768.0 MiB left; "
				 "RSS is not growing now");
	v.lim.source = MEMLIMIT_PHYSICAL;
	v.lim.cgroup[0] = '\0';
	v.rss_now_per_min = 1 << 20;
	v.minutes = memlimit_minutes(&v.lim, v.rss_now_per_min);
	text_limit_line(&v, buf, sizeof(buf));
	assert_string_equal(buf, "limit 1.0 GiB (physical memory), 768.0 MiB left; "
				 "at +1.0 MiB/min (RSS now) reached in ~12.8 h");
	v.have = false;
	text_limit_line(&v, buf, sizeof(buf));
	assert_true(!strncmp(buf, "limit unknown", 13));
}

/* The culprit with the lines its sites were merged from. */
static void test_culprit_lines(void **state)
{
	struct frame a[] = {
		{ .function = "main.(*SessionStore).Save", .file = "/src/main.go", .line = 62 },
		{ .function = "main.handle", .file = "/src/main.go", .line = 118 },
	};
	struct frame b[] = {
		{ .function = "runtime.memmove", .file = "/go/memmove.s", .line = 9 },
		{ .function = "main.(*SessionStore).Save", .file = "/src/main.go", .line = 65 },
		{ .function = "main.handle", .file = "/src/main.go", .line = 118 },
	};
	struct model m;
	char buf[256];

	model_init(&m);
	model_site(&m, SITE_FAULT, a, 2, 0)->bytes = 2 << 20;
	model_site(&m, SITE_FAULT, b, 3, 0)->bytes = 1 << 20;
	model_sample(&m, 0);
	model_rank(&m, NAN);
	assert_int_equal(m.nentries, 1);
	text_culprit(&m.entries[0], buf, sizeof(buf));
	assert_string_equal(buf, "main.(*SessionStore).Save (main.go:62, 65)");
	model_free(&m);
}

/* A frame without a name: module+0xOFFSET (what addr2line takes when the
 * offset is the link-time address), both numbers when they differ
 * (non-PIE), an absolute address only when no file holds it. */
static void test_unnamed_frame(void **state)
{
	struct frame pie = { .addr = 0x55d35f423d1d, .module = "/usr/bin/memcached",
			     .has_offset = true, .offset = 0x11d1c,
			     .has_elf_addr = true, .elf_addr = 0x11d1c };
	struct frame nopie = { .addr = 0x401671, .module = "/opt/x",
			       .has_offset = true, .offset = 0x1670,
			       .has_elf_addr = true, .elf_addr = 0x401670 };
	struct frame anon = { .addr = 0x7f0000001000, .module = "[anon:jit]" };
	struct frame named = { .function = "leak_chunk", .file = "/src/mmap_leak.c",
			       .line = 38, .module = "/opt/x", .has_offset = true };
	char buf[256];

	text_frame(&pie, buf, sizeof(buf));
	assert_string_equal(buf, "/usr/bin/memcached+0x11d1c");
	text_frame(&nopie, buf, sizeof(buf));
	assert_string_equal(buf, "/opt/x+0x1670 (addr2line 0x401670)");
	text_frame(&anon, buf, sizeof(buf));
	assert_string_equal(buf, "0x7f0000001000 in [anon:jit]");
	text_frame(&named, buf, sizeof(buf));
	assert_string_equal(buf, "leak_chunk (mmap_leak.c:38)");
}

/* C++ names lose their parameter list in text; other names stay. */
static void test_short_function(void **state)
{
	static const char *const cases[][2] = {
		{ "v8::internal::Execution::Call(v8::internal::Isolate*, v8::internal::Handle<v8::internal::Object>, int)",
		  "v8::internal::Execution::Call(...)" },
		{ "v8::internal::PagedSpaceBase::RawRefillLabMain(int, v8::internal::AllocationOrigin) [clone .part.0]",
		  "v8::internal::PagedSpaceBase::RawRefillLabMain(...)" },
		{ "std::vector<int, std::allocator<int> >::push_back(int const&) const",
		  "std::vector<int, std::allocator<int> >::push_back(...)" },
		{ "Foo::operator()(int)", "Foo::operator()(...)" },
		{ "f(void (*)(int))", "f(...)" },
		{ "v8::internal::PagedSpaceBase::TryExpandImpl()",
		  "v8::internal::PagedSpaceBase::TryExpandImpl()" },
		{ "main.(*Cache).Put", "main.(*Cache).Put" },
		{ "leak_chunk", "leak_chunk" },
		{ "JS:*leakyRetainer /tmp/leak.js:2:23", "JS:*leakyRetainer /tmp/leak.js:2:23" },
		{ "(x)", "(x)" },
		{ ")", ")" },
		{ "", "" },
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(text_short_function(cases[i][0], buf, sizeof(buf)),
				    cases[i][1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_as_run),
		cmocka_unit_test(test_exe_link_beside),
		cmocka_unit_test(test_limit_line),
		cmocka_unit_test(test_culprit_lines),
		cmocka_unit_test(test_unnamed_frame),
		cmocka_unit_test(test_short_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
