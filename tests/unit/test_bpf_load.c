// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Every BPF program passes the verifier on this kernel and attaches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "mem.skel.h"
#include "task.skel.h"
#include "go.skel.h"

static char verifier_log[1 << 16];
static size_t log_len;

static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_len < sizeof(verifier_log) - 1)
		log_len += vsnprintf(verifier_log + log_len,
				     sizeof(verifier_log) - log_len, fmt, ap);
	return 0;
}

/* The verifier's verdict is at the end of the log. */
static const char *log_tail(void)
{
	return log_len > 4000 ? verifier_log + log_len - 4000 : verifier_log;
}

static void check_programs(struct bpf_object *obj)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, obj) {
		assert_true(bpf_program__fd(p) >= 0);
		n++;
	}
	assert_true(n > 0);
}

static void test_mem_loads_and_attaches(void **state)
{
	struct mem_bpf *skel = mem_bpf__open();

	assert_non_null(skel);
	skel->rodata->targ_tgid = getpid();
	log_len = 0;
	if (mem_bpf__load(skel))
		fail_msg("mem.bpf.o rejected:\n%s", log_tail());
	check_programs(skel->obj);
	assert_int_equal(mem_bpf__attach(skel), 0);
	mem_bpf__destroy(skel);
}

static void test_task_loads_and_attaches(void **state)
{
	struct task_bpf *skel = task_bpf__open();

	assert_non_null(skel);
	skel->rodata->targ_tgid = getpid();
	log_len = 0;
	if (task_bpf__load(skel))
		fail_msg("task.bpf.o rejected:\n%s", log_tail());
	check_programs(skel->obj);
	assert_int_equal(task_bpf__attach(skel), 0);
	task_bpf__destroy(skel);
}

/* Uprobes attach per Go binary (e2e tests do that); the verifier is what
 * can fail here. */
static void test_go_loads(void **state)
{
	struct go_bpf *skel = go_bpf__open();

	assert_non_null(skel);
	skel->rodata->targ_tgid = getpid();
	log_len = 0;
	if (go_bpf__load(skel))
		fail_msg("go.bpf.o rejected:\n%s", log_tail());
	check_programs(skel->obj);
	go_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_loads_and_attaches),
		cmocka_unit_test(test_task_loads_and_attaches),
		cmocka_unit_test(test_go_loads),
	};

	libbpf_set_print(capture);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
