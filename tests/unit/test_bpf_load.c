// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Every BPF program variant leaktrace can load passes the verifier on this
 * kernel, loaded the way leaktrace loads it: through the one loader
 * (trace/loader.h) with the shared maps it creates. A variant is a set of
 * rodata and autoload choices that user space makes and that change the
 * code the verifier sees:
 *   every object   the filter: one process (targ_tgid, with fp_jumps: its
 *                  frame pointers may jump between stacks, Go) or the
 *                  "traced" map (targ_tgid 0: several processes, fp_jumps
 *                  per process from the map)
 *                  (fp_jumps is a global switched at exec, not rodata)
 *   mem, task      ucopy_bytes: stack copies off, default 16 KiB, max 28 KiB
 *   mem            fault_sample: sampled fault unwinding off / on; release
 *                  in BPF (bpf_loop: *_exit_rel + the syscall programs
 *                  lt_pages_release/lt_pages_move) or in user space
 *                  (plain *_exit programs); lt_sweep (released
 *                  processes' entries) with the syscall programs; the exec
 *                  program forgets the old image's pages in BPF
 *                  (lt_exec_rel) or leaves them to user space (lt_exec)
 *   go             newg_in_rbx: creation probe on the runqput call (new g
 *                  in RBX) or at newproc1's RETs (RAX); track_parks
 *                  (--go-parks)
 *   malloc         ucopy_bytes; uprobe_multi programs or the per-link
 *                  ones (kernels before 6.6); its own ring buffer
 * mem and task programs are also attached (tracepoints), once per set of
 * programs: whether an attach works depends on a program's section, not
 * on rodata, and each detach waits out a kernel grace period (~35-70 ms
 * here: attaching all 36 mem variants took this test 33 s). Go uprobes
 * attach per binary, which the e2e tests do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/loader.h"
#include "trace/mem_int.h"
#include "mem.skel.h"
#include "task.skel.h"
#include "go.skel.h"
#include "malloc.skel.h"
#include <bpf/bpf.h>

static char verifier_log[1 << 16];
static size_t log_len;

static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_len < sizeof(verifier_log) - 1)
		log_len += vsnprintf(verifier_log + log_len,
				     sizeof(verifier_log) - log_len, fmt, ap);
	if (log_len > sizeof(verifier_log) - 1)
		log_len = sizeof(verifier_log) - 1;
	return 0;
}

/* The verifier's verdict is at the end of the log. */
static void rejected(const char *what)
{
	const char *tail = log_len > 4000 ? verifier_log + log_len - 4000 :
					   verifier_log;

	fprintf(stderr, "%s rejected; log tail:\n%s\n", what, tail);
	fail_msg("%s rejected by the verifier", what);
}

static void check_programs(struct bpf_object *obj, int want)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, obj) {
		if (!bpf_program__autoload(p))
			continue;
		assert_true(bpf_program__fd(p) >= 0);
		n++;
	}
	assert_int_equal(n, want);
}

/* Links the attached variants hold (a program of a syscall section has
 * none). */
static int attached(const struct bpf_object_skeleton *s)
{
	int n = 0;

	for (int i = 0; i < s->prog_cnt; i++)
		n += s->progs[i].link && *s->progs[i].link;
	return n;
}

static const uint32_t ucopy_sizes[] = {
	0, LT_UCOPY_DEF_KB << 10, LT_UCOPY_MAX_KB << 10,
};
#define NUCOPY (sizeof(ucopy_sizes) / sizeof(ucopy_sizes[0]))

static struct lt_maps maps;

/* Filter modes: one non-Go process, one Go process, the "traced" map. */
#define NFILTER 3
static const char *const filter_names[NFILTER] = { "one", "one Go", "map" };

static void set_filter(int f)
{
	maps.targ_tgid = f < 2 ? (uint32_t)getpid() : 0;
	maps.targ_go = f == 1;
}

static int open_maps(void **state)
{
	return lt_maps_open(&maps, 1024, 1, 64) ? -1 : 0;
}

static int close_maps(void **state)
{
	lt_maps_close(&maps);
	return 0;
}

static void test_mem_variants(void **state)
{
	int variants = 0;

	for (int f = 0; f < NFILTER; f++)
	for (size_t uc = 0; uc < NUCOPY; uc++)
	for (int sample = 0; sample < 2; sample++)
	for (int bpf_release = 0; bpf_release < 2; bpf_release++) {
		struct mem_bpf *skel = mem_bpf__open();
		char what[128];

		assert_non_null(skel);
		snprintf(what, sizeof(what),
			 "mem.bpf.o (filter %s, ucopy_bytes %u, fault_sample %d, release in %s)",
			 filter_names[f], ucopy_sizes[uc], sample ? LT_FAULT_SAMPLE_DEF : 0,
			 bpf_release ? "BPF" : "user space");
		set_filter(f);
		LT_BPF_COMMON_RODATA(skel, &maps);
		skel->rodata->ucopy_bytes = ucopy_sizes[uc];
		skel->rodata->fault_sample = sample ? LT_FAULT_SAMPLE_DEF : 0;
		mem_progs_release(skel, bpf_release);
		bpf_program__set_autoload(skel->progs.lt_pages_release, bpf_release);
		bpf_program__set_autoload(skel->progs.lt_pages_move, bpf_release);
		bpf_program__set_autoload(skel->progs.lt_sweep, bpf_release);
		log_len = 0;
		if (lt_bpf_load(skel->skeleton, &maps, "memory",
				f == 0 && uc == 0 && sample == 0 ? LT_LOAD_ATTACH : 0))
			rejected(what);
		/* 10 syscall tracepoints, the fault, the exec, 5 uprobes at
		 * syscall sites (attached by memobj.c, not here); + 3 syscall
		 * programs. */
		check_programs(skel->obj, bpf_release ? 20 : 17);
		assert_int_equal(attached(skel->skeleton),
				 f == 0 && uc == 0 && sample == 0 ? 12 : 0);
		mem_bpf__destroy(skel);
		variants++;
	}
	assert_int_equal(variants, 36);
}

static void test_task_variants(void **state)
{
	for (int f = 0; f < NFILTER; f++)
	for (size_t uc = 0; uc < NUCOPY; uc++) {
		struct task_bpf *skel = task_bpf__open();
		char what[128];

		assert_non_null(skel);
		snprintf(what, sizeof(what), "task.bpf.o (filter %s, ucopy_bytes %u)",
			 filter_names[f], ucopy_sizes[uc]);
		set_filter(f);
		LT_BPF_COMMON_RODATA(skel, &maps);
		skel->rodata->ucopy_bytes = ucopy_sizes[uc];
		log_len = 0;
		if (lt_bpf_load(skel->skeleton, &maps, "thread",
				f == 0 && uc == 0 ? LT_LOAD_ATTACH : 0))
			rejected(what);
		check_programs(skel->obj, 2);
		assert_int_equal(attached(skel->skeleton), f == 0 && uc == 0 ? 2 : 0);
		task_bpf__destroy(skel);
	}
}

static void test_go_variants(void **state)
{
	/* creator: g.parentGoid (Go >= 1.21), or g0.m.curg (1.19, 1.20) */
	for (int f = 1; f < NFILTER; f++)
	for (int rbx = 0; rbx < 2; rbx++)
	for (int parks = 0; parks < 2; parks++)
	for (int curg = 0; curg < 2; curg++) {
		struct go_bpf *skel = go_bpf__open();
		char what[128];

		assert_non_null(skel);
		snprintf(what, sizeof(what), "go.bpf.o (filter %s, newg_in_rbx %d, track_parks %d, m.curg %d)",
			 filter_names[f], rbx, parks, curg);
		set_filter(f);
		LT_BPF_COMMON_RODATA(skel, &maps);
		skel->rodata->newg_in_rbx = rbx;
		skel->rodata->track_parks = parks;
		skel->rodata->off_parent_goid = curg ? 0 : 272;
		skel->rodata->off_m_curg = curg ? 192 : 0;
		log_len = 0;
		if (lt_bpf_load(skel->skeleton, &maps, "Go", 0))
			rejected(what);
		/* lt_go_new, lt_go_stmt, lt_go_gopark, lt_go_gopark_ret, lt_go_exit */
		check_programs(skel->obj, 5);
		go_bpf__destroy(skel);
	}
}

static void test_malloc_variants(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int rb = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "malloc_events", 0, 0, 1 << 20, &o);

	assert_true(rb >= 0);
	for (int go = 0; go < 2; go++)
	for (size_t uc = 0; uc < NUCOPY; uc++)
	for (int multi = 0; multi < 2; multi++) {
		struct malloc_bpf *skel = malloc_bpf__open();
		char what[128];

		assert_non_null(skel);
		snprintf(what, sizeof(what), "malloc.bpf.o (fp_jumps %d, ucopy_bytes %u, %s)",
			 go, ucopy_sizes[uc], multi ? "uprobe_multi" : "one link per probe");
		/* the allocator object is one process's own, as malloc.c sets it */
		skel->rodata->targ_tgid = getpid();
		skel->bss->fp_jumps = go;
		skel->rodata->ucopy_bytes = ucopy_sizes[uc];
		bpf_program__set_autoload(skel->progs.lt_alloc_entry_multi, multi);
		bpf_program__set_autoload(skel->progs.lt_alloc_ret_multi, multi);
		assert_int_equal(bpf_map__reuse_fd(skel->maps.events, rb), 0);
		log_len = 0;
		if (lt_bpf_load(skel->skeleton, &maps, "allocator", LT_LOAD_OWN_EVENTS))
			rejected(what);
		/* lt_alloc_entry, lt_alloc_ret (+ their uprobe_multi twins) */
		check_programs(skel->obj, multi ? 4 : 2);
		malloc_bpf__destroy(skel);
	}
	close(rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malloc_variants),
		cmocka_unit_test(test_mem_variants),
		cmocka_unit_test(test_task_variants),
		cmocka_unit_test(test_go_variants),
	};

	libbpf_set_print(capture);
	return cmocka_run_group_tests(tests, open_maps, close_maps);
}
