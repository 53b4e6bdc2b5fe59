// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CFI unwinding of a copied stack (user/unwind.c) on a real -O2 binary
 * without frame pointers: a child blocked in read() under main -> outer ->
 * middle -> inner. Its SP and PC come from /proc/PID/syscall, its stack
 * from process_vm_readv (read only), as BPF would copy them.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "sym/symbolize.h"
#include "stack/unwind.h"

static const char fixture[] =
	"#include <stdio.h>\n"
	"#include <unistd.h>\n"
	"volatile int sink;\n"
	"__attribute__((noinline)) int inner(int fd)\n"
	"{ char buf[64]; int r = read(fd, buf, sizeof(buf)); sink += buf[0]; return r + 1; }\n"
	"__attribute__((noinline)) int middle(int fd)\n"
	"{ volatile char pad[700]; pad[3] = 1; int r = inner(fd); sink += pad[3]; return r * 3; }\n"
	"__attribute__((noinline)) int outer(int fd)\n"
	"{ int r = middle(fd); sink += r; return r - 2; }\n"
	"int main(void)\n"
	"{ puts(\"ready\"); fflush(stdout); return outer(0) > 1000; }\n";

static char tmpdir[64];
static pid_t child = -1;
static int child_in = -1;	/* write end of the child's stdin: silent */
static char bin[128];

static int build_fixture(void)
{
	char src[128], cmd[512];
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lt-unwtest.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(src, sizeof(src), "%s/unwfix.c", tmpdir);
	snprintf(bin, sizeof(bin), "%s/unwfix", tmpdir);
	f = fopen(src, "w");
	if (!f)
		return -1;
	fputs(fixture, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cc -O2 -g -fomit-frame-pointer -o %s %s", bin, src);
	return system(cmd) ? -1 : 0;
}

/* Starts the fixture and waits until it blocks in read(). */
static int start_child(void)
{
	int in[2], out[2];
	char buf[16];

	if (pipe(in) || pipe(out))
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (!child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	child_in = in[1];
	if (read(out[0], buf, sizeof(buf)) <= 0)
		return -1;
	close(out[0]);
	return 0;
}

/* SP and PC of the child's blocked syscall (nr 0: read). */
static int blocked_regs(uint64_t *sp, uint64_t *pc)
{
	char path[64], line[512];
	unsigned long long v[9];
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/syscall", child);
	for (int tries = 0; tries < 200; tries++) {
		FILE *f = fopen(path, "r");
		int n = 0;

		if (!f)
			return -1;
		if (fgets(line, sizeof(line), f))
			n = sscanf(line, "%ld %llx %llx %llx %llx %llx %llx %llx %llx",
				   &nr, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
				   &v[6], &v[7]);
		fclose(f);
		if (n == 9 && nr == 0) {
			*sp = v[6];
			*pc = v[7];
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

/* Copies up to len bytes of the child's memory from addr, page by page,
 * stopping where it is not mapped. Returns the bytes read. */
static size_t copy_stack(uint64_t addr, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t want = 4096 - ((addr + done) & 4095);
		struct iovec local, remote;
		ssize_t r;

		if (want > len - done)
			want = len - done;
		local.iov_base = buf + done;
		local.iov_len = want;
		remote.iov_base = (void *)(uintptr_t)(addr + done);
		remote.iov_len = want;
		r = process_vm_readv(child, &local, 1, &remote, 1, 0);
		if (r <= 0)
			break;
		done += r;
	}
	return done;
}

static int setup(void **state)
{
	if (build_fixture() || start_child())
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (child_in >= 0)
		close(child_in);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (tmpdir[0] && system(cmd))
		return -1;
	return 0;
}

static const char *fn_of(struct symbolizer *s, uint64_t pc, bool ret)
{
	struct frame f[8];
	int n = symbolize(s, pc, ret, f, 8);

	return n > 0 ? f[n - 1].function : NULL;	/* physical function */
}

static void test_unwind_blocked_chain(void **state)
{
	static uint8_t buf[32 << 10];
	const char *want[] = { "inner", "middle", "outer", "main" };
	struct unw_regs regs = {};
	struct symbolizer *s;
	uint64_t pcs[64];
	enum unw_end end;
	size_t len;
	int n, fpf, k = 0;

	assert_int_equal(blocked_regs(&regs.sp, &regs.ip), 0);
	len = copy_stack(regs.sp, buf, sizeof(buf));
	assert_true(len > 1024);
	s = symbolizer_new(child);
	assert_non_null(s);
	n = unwind_stack(s, &regs, buf, len, pcs, 64, &end, &fpf, NULL);
	for (int i = 0; i < n; i++) {
		const char *fn = fn_of(s, pcs[i], i > 0);

		print_message("  #%d %#llx %s\n", i, (unsigned long long)pcs[i],
			      fn ? fn : "?");
		if (k < 4 && fn && !strcmp(fn, want[k]))
			k++;
	}
	assert_int_equal(k, 4);		/* every caller, in order */
	assert_int_equal(end, UNW_END_OUTERMOST);
	assert_int_equal(fpf, 0);	/* CFI all the way */
	assert_string_equal(fn_of(s, pcs[n - 1], true), "_start");

	/* The bytes the walk read are enough: a copy of just that many
	 * unwinds the same whole stack, one 8 bytes short does not. */
	{
		uint64_t again[64];
		size_t used = 0, used2 = 0;
		int m;

		unwind_stack(s, &regs, buf, len, again, 64, &end, &fpf, &used);
		assert_true(used > 0 && used <= len);
		m = unwind_stack(s, &regs, buf, used, again, 64, &end, &fpf,
				 &used2);
		assert_int_equal(m, n);
		assert_int_equal(end, UNW_END_OUTERMOST);
		assert_int_equal(used2, used);
		m = unwind_stack(s, &regs, buf, used - 8, again, 64, &end,
				 &fpf, NULL);
		assert_int_equal(end, UNW_END_COPY);
		assert_true(m < n);
	}

	/* A copy that ends inside middle's 700-byte frame stops there. */
	n = unwind_stack(s, &regs, buf, 256, pcs, 64, &end, &fpf, NULL);
	assert_int_equal(end, UNW_END_COPY);
	assert_true(n >= 2 && n <= 3);

	/* No stack at all: just the IP. */
	n = unwind_stack(s, &regs, buf, 0, pcs, 64, &end, &fpf, NULL);
	assert_int_equal(n, 1);
	assert_int_not_equal(end, UNW_END_OUTERMOST);

	/* Room for two frames only. */
	n = unwind_stack(s, &regs, buf, len, pcs, 2, &end, &fpf, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(end, UNW_END_MAX_FRAMES);
	symbolizer_free(s);
}

/* Unwinding cost: the same stack many times (CFI lookups, no caching of
 * results between calls). */
static void test_unwind_cost(void **state)
{
	static uint8_t buf[16 << 10];
	struct unw_regs regs = {};
	struct symbolizer *s;
	uint64_t pcs[64];
	struct timespec a, b;
	enum unw_end end;
	int n = 0, fpf, iters = 20000;
	size_t len;
	double ns;

	assert_int_equal(blocked_regs(&regs.sp, &regs.ip), 0);
	len = copy_stack(regs.sp, buf, sizeof(buf));
	s = symbolizer_new(child);
	assert_non_null(s);
	unwind_stack(s, &regs, buf, len, pcs, 64, &end, &fpf, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < iters; i++)
		n = unwind_stack(s, &regs, buf, len, pcs, 64, &end, &fpf, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters;
	print_message("  unwind: %d frames in %.2f us (%.0f ns/frame)\n", n,
		      ns / 1e3, ns / n);
	assert_true(n >= 6);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_blocked_chain),
		cmocka_unit_test(test_unwind_cost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
