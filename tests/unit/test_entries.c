/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/model/culprit.c and entries.c: the culprit frame
 * and the merge of sites into one entry per culprit. Stacks are the ones
 * the demo, redis and Go's runtime produce in real traces. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/culprit.h"
#include "model/entries.h"
#include "model/model.h"

#define MIB (1024 * 1024)
#define F(fn, ln) { .function = fn, .file = "main.go", .line = ln }

/* demo: SessionStore.Save, at two lines, one fault inside memcpy */
static const struct frame save62[] = {
	F("main.(*SessionStore).Save", 62), F("main.(*Server).handle", 118),
	F("main.(*Server).serveLoop", 135), F("main.main", 169),
};
static const struct frame save65_memmove[] = {
	F("runtime.memmove", 200), F("main.(*SessionStore).Save", 65),
	F("main.(*Server).handle", 118), F("main.(*Server).serveLoop", 135),
	F("main.main", 169),
};
static const struct frame save_arena[] = {
	F("runtime.sysMmap", 503), F("runtime.sysAlloc", 52),
	F("runtime.mallocgc", 1000), F("main.(*SessionStore).Save", 60),
	F("main.(*Server).handle", 118), F("main.(*Server).serveLoop", 135),
	F("main.main", 169),
};
/* the same function called from elsewhere: another culprit */
static const struct frame save_from_admin[] = {
	F("main.(*SessionStore).Save", 62), F("main.(*Admin).restore", 40),
	F("main.main", 170),
};
static const struct frame load77[] = {
	F("syscall.Mmap", 10), F("main.(*BlobCache).Load", 77),
	F("main.(*Server).handle", 123), F("main.(*Server).serveLoop", 135),
};
/* runtime-only growth: heap arena metadata during sweep */
static const struct frame runtime_only[] = {
	F("runtime.sysMmap", 503), F("runtime.newArenaMayUnlock", 3011),
	F("runtime.(*mcache).releaseAll", 322),
};
static const struct frame publish_new[] = {
	F("main.(*Notifier).Publish", 47), F("main.(*Server).handle", 120),
	F("main.(*Server).serveLoop", 135),
};
static const struct frame publish_go_stmt[] = { F("main.(*Notifier).Publish", 47) };
static const struct frame runtime_go_stmt[] = { F("runtime.gcenable", 214) };
/* redial: one dial starts a reader, a writer and a keepalive goroutine */
static const struct frame dial111[] = { F("main.dial", 111), F("main.callWithRetry", 80) };
static const struct frame dial112[] = { F("main.dial", 112), F("main.callWithRetry", 80) };
static const struct frame dial113_pre[] = { F("main.dial", 113) };

static struct site *add(struct model *m, enum site_kind kind, const struct frame *f,
			int n, unsigned int flags, double v0, double per_s)
{
	struct site *s = model_site(m, kind, f, n, flags);

	assert_non_null(s);
	/* the series is filled by feed(): remember the line in created */
	s->lazyfree = (uint64_t)v0;
	s->oldest_s = per_s;	/* slope, read back by feed() */
	return s;
}

/* 30 samples a second apart: each site rises from lazyfree at oldest_s
 * a second (fields borrowed above; put back after). */
static void feed(struct model *m)
{
	double v0[64], rate[64];

	for (size_t i = 0; i < m->n; i++) {
		v0[i] = (double)m->sites[i]->lazyfree;
		rate[i] = m->sites[i]->oldest_s;
		m->sites[i]->lazyfree = 0;
		m->sites[i]->oldest_s = 30;
	}
	for (int t = 0; t < 30; t++) {
		for (size_t i = 0; i < m->n; i++) {
			struct site *s = m->sites[i];
			double v = v0[i] + rate[i] * t;

			if (site_kind_is_bytes(s->kind))
				s->bytes = (int64_t)v;
			else
				s->live = (int64_t)v;
		}
		model_sample(m, t);
	}
	model_rank(m, 1e12);
}

static const struct entry *entry_of(const struct model *m, const struct site *s)
{
	for (size_t i = 0; i < m->nentries; i++)
		for (size_t j = 0; j < m->entries[i].nsites; j++)
			if (m->entries[i].sites[j] == s)
				return &m->entries[i];
	fail_msg("site %u is in no entry", s->id);
	return NULL;
}

static void test_culprit_frames(void **state)
{
	const struct frame app = F("main.handle", 1);
	const struct frame plumbing[] = {
		F("runtime.sysMmap", 1), F("runtime/cgo.mmap", 1),
		F("x_cgo_mmap", 1), F("syscall.Mmap", 1),
		F("__memcpy_avx512_unaligned_erms", 1), F("memcpy", 1),
		F("malloc", 1), F("je_malloc", 1), F("zmalloc_usable", 1),
		F("ztrymalloc_usable_internal", 1), F("operator new(unsigned long)", 1),
		F("do_slabs_newslab", 1), F("aeProcessEvents", 1),
		F("internal/runtime/atomic.(*UnsafePointer).StoreNoWB", 1),
		F("sync.runtime_SemacquireWaitGroup", 1),
	};
	struct frame libc = { .addr = 0x1234, .module = "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	struct frame own = { .addr = 0x1234, .module = "/usr/bin/redis-check-rdb" };
	struct frame tramp = { .addr = 0x3ff000, .module = "[uprobes-trampoline]" };

	assert_int_equal(frame_plumbing(&app), PLUMB_NONE);
	for (size_t i = 0; i < sizeof(plumbing) / sizeof(plumbing[0]); i++)
		if (frame_plumbing(&plumbing[i]) == PLUMB_NONE)
			fail_msg("%s is not plumbing", plumbing[i].function);
	assert_int_equal(frame_plumbing(&libc), PLUMB_LIBC);
	assert_int_equal(frame_plumbing(&tramp), PLUMB_LIBC);
	assert_int_equal(frame_plumbing(&own), PLUMB_NONE);
	assert_int_equal(frame_plumbing(&plumbing[2]), PLUMB_RUNTIME);
	assert_int_equal(frame_plumbing(&plumbing[8]), PLUMB_ALLOCATOR);
	assert_int_equal(frame_plumbing(&plumbing[12]), PLUMB_DISPATCH);
	/* Go's standard library: a culprit only when no application frame
	 * calls it (redial: bufio.NewReaderSize called by main.dial) */
	{
		const struct frame bufio[] = {
			F("runtime.mallocgc", 1), F("bufio.NewReaderSize", 57),
			F("main.dial", 109), F("main.callWithRetry", 139),
		};
		const struct frame http[] = {
			F("runtime.mallocgc", 1), F("net/http.(*conn).serve", 2),
			F("net/http.(*Server).Serve", 3),
		};
		const struct frame cfun = F("leak_record.part.0", 41);
		struct site s = { .kind = SITE_FAULT, .frames = (struct frame *)bufio,
				  .nframes = 4 };

		assert_int_equal(frame_plumbing(&bufio[1]), PLUMB_LIBRARY);
		assert_int_equal(frame_plumbing(&cfun), PLUMB_NONE);
		assert_int_equal(site_culprit_frame(&s), 2);
		s.frames = (struct frame *)http;
		s.nframes = 3;
		assert_int_equal(site_culprit_frame(&s), 1);
		/* a go statement in the library is still the statement */
		s.kind = SITE_GOROUTINE;
		assert_int_equal(site_culprit_frame(&s), -1);	/* mallocgc first */
		s.frames = (struct frame *)&http[1];
		s.nframes = 2;
		assert_int_equal(site_culprit_frame(&s), 0);
	}
}

/* Lines, hidden leaves and kinds of one culprit are one entry; other
 * callers are another. */
static void test_merge_memory(void **state)
{
	struct model m;
	struct site *a, *b, *c, *d, *e;
	const struct entry *x;

	model_init(&m);
	a = add(&m, SITE_FAULT, save62, 4, 0, 0, 600e3);
	b = add(&m, SITE_FAULT, save65_memmove, 5, 0, 0, 4096);
	c = add(&m, SITE_MMAP, save_arena, 7, 0, 4 * MIB, 600e3);
	d = add(&m, SITE_FAULT, save_from_admin, 3, 0, 0, 100e3);
	e = add(&m, SITE_MMAP, load77, 4, 0, 0, 500e3);
	feed(&m);
	x = entry_of(&m, a);
	assert_ptr_equal(entry_of(&m, b), x);
	assert_ptr_equal(entry_of(&m, c), x);
	assert_ptr_not_equal(entry_of(&m, d), x);
	assert_ptr_not_equal(entry_of(&m, e), x);
	assert_int_equal(x->nsites, 3);
	assert_int_equal(x->col[COL_RESIDENT].nsites, 2);
	assert_int_equal(x->col[COL_MAPPED].nsites, 1);
	assert_true(x->col[COL_RESIDENT].bytes == a->bytes + b->bytes);
	assert_int_equal(x->verdict, VERDICT_LEAK);
	assert_false(x->symptom);
	/* the culprit is Save, whatever the lead's plumbing */
	assert_string_equal(x->lead->frames[x->culprit].function,
			    "main.(*SessionStore).Save");
	assert_int_equal(m.nentries, 3);
	/* most suspect first */
	for (size_t i = 1; i < m.nentries; i++)
		assert_true(m.entries[i - 1].score >= m.entries[i].score);
	model_free(&m);
}

/* Goroutines alive before attach (go statement only) and those the same
 * go statement started since are one entry: "7 before attach + 75 since". */
static void test_merge_goroutines(void **state)
{
	struct model m;
	struct site *pre, *now, *rt;
	const struct entry *x;

	model_init(&m);
	now = add(&m, SITE_GOROUTINE, publish_new, 3, 0, 0, 5);
	pre = add(&m, SITE_GOROUTINE, publish_go_stmt, 1, SITE_F_PREEXISTING, 7, 0);
	rt = add(&m, SITE_GOROUTINE, runtime_go_stmt, 1, SITE_F_PREEXISTING, 1, 0);
	feed(&m);
	x = entry_of(&m, now);
	assert_ptr_equal(entry_of(&m, pre), x);
	assert_int_equal(x->before_attach, 7);
	assert_int_equal(x->since, 145);
	assert_int_equal(x->live, 152);
	assert_int_equal(x->verdict, VERDICT_LEAK);
	/* the runtime's own goroutines: apart, no culprit */
	assert_ptr_not_equal(entry_of(&m, rt), x);
	assert_int_equal(entry_of(&m, rt)->culprit, -1);
	model_free(&m);
}

/* The go statements of one function are one culprit. */
static void test_merge_go_statements_of_a_function(void **state)
{
	struct model m;
	struct site *a, *b, *c;

	model_init(&m);
	a = add(&m, SITE_GOROUTINE, dial111, 2, 0, 0, 1);
	b = add(&m, SITE_GOROUTINE, dial112, 2, 0, 0, 1);
	c = add(&m, SITE_GOROUTINE, dial113_pre, 1, SITE_F_PREEXISTING, 4, 0);
	feed(&m);
	assert_ptr_equal(entry_of(&m, a), entry_of(&m, b));
	assert_ptr_equal(entry_of(&m, a), entry_of(&m, c));
	assert_int_equal(entry_of(&m, a)->before_attach, 4);
	assert_int_equal(entry_of(&m, a)->since, 58);
	model_free(&m);
}

/* cgo: the C stack ends at runtime.asmcgocall (truncated) for one site,
 * continues on the goroutine's stack for another. They agree as far as the
 * truncated one goes: one entry -- unless it could be either of two. */
static void test_merge_truncated_stack(void **state)
{
	const struct frame cut[] = {
		F("sysmalloc", 1), F("malloc", 1), F("leak_buffer", 13),
		F("_cgo_7de6_Cfunc_leak_buffer", 1), F("runtime.asmcgocall", 1),
	};
	const struct frame full[] = {
		F("__memset_avx512_unaligned_erms", 1), F("leak_buffer", 16),
		F("runtime.cgocall", 1), F("main._Cfunc_leak_buffer", 1),
		F("main.leakBuffers", 34), F("main.main", 50),
	};
	const struct frame other[] = {
		F("leak_buffer", 16), F("main._Cfunc_leak_buffer", 1),
		F("main.warmup", 20), F("main.main", 49),
	};
	struct model m;
	struct site *a, *b, *c;

	model_init(&m);
	a = add(&m, SITE_MMAP, cut, 5, SITE_F_TRUNCATED, 0, 5e6);
	b = add(&m, SITE_FAULT, full, 6, 0, 0, 5e6);
	feed(&m);
	assert_ptr_equal(entry_of(&m, a), entry_of(&m, b));
	assert_int_equal(m.nentries, 1);
	assert_int_equal(entry_of(&m, a)->col[COL_MAPPED].nsites, 1);
	assert_int_equal(entry_of(&m, a)->col[COL_RESIDENT].nsites, 1);
	model_free(&m);

	model_init(&m);
	a = add(&m, SITE_MMAP, cut, 5, SITE_F_TRUNCATED, 0, 5e6);
	b = add(&m, SITE_FAULT, full, 6, 0, 0, 5e6);
	c = add(&m, SITE_FAULT, other, 4, 0, 0, 1e6);
	feed(&m);
	assert_ptr_not_equal(entry_of(&m, a), entry_of(&m, b));
	assert_ptr_not_equal(entry_of(&m, a), entry_of(&m, c));
	assert_int_equal(m.nentries, 3);
	model_free(&m);
}

/* GC workers started from an allocation in Save are the runtime's. */
static void test_gc_workers_are_runtime(void **state)
{
	struct model m;
	struct site *gc;

	model_init(&m);
	gc = add(&m, SITE_GOROUTINE, save62, 4, 0, 2, 0);
	gc->wait_reason = "GC worker (idle)";
	feed(&m);
	assert_int_equal(entry_of(&m, gc)->culprit, -1);
	model_free(&m);
}

/* Runtime-only growth is a symptom of the top application entry growing
 * now; of the top heap entry when the heap kind traced anything. */
static void test_symptom_cause(void **state)
{
	struct model m;
	struct site *sym, *load, *heap;

	model_init(&m);
	sym = add(&m, SITE_MMAP, runtime_only, 3, 0, 0, 900e3);
	load = add(&m, SITE_MMAP, load77, 4, 0, 0, 500e3);
	feed(&m);
	assert_true(entry_of(&m, sym)->symptom);
	assert_int_equal(entry_of(&m, sym)->cause,
			 (int)(entry_of(&m, load) - m.entries));
	model_free(&m);

	model_init(&m);
	sym = add(&m, SITE_MMAP, runtime_only, 3, 0, 0, 900e3);
	load = add(&m, SITE_MMAP, load77, 4, 0, 0, 500e3);
	heap = add(&m, SITE_HEAP, save62, 4, 0, 0, 100e3);
	feed(&m);
	assert_int_equal(entry_of(&m, sym)->cause,
			 (int)(entry_of(&m, heap) - m.entries));
	model_free(&m);

	/* a runtime-only entry that shrank is driven by nothing */
	model_init(&m);
	sym = add(&m, SITE_MMAP, runtime_only, 3, 0, 30e6, -500e3);
	load = add(&m, SITE_MMAP, load77, 4, 0, 0, 500e3);
	feed(&m);
	assert_true(entry_of(&m, sym)->symptom);
	assert_int_equal(entry_of(&m, sym)->cause, -1);
	model_free(&m);

	/* nothing application-side grows: no cause, shown on its own */
	model_init(&m);
	sym = add(&m, SITE_MMAP, runtime_only, 3, 0, 0, 900e3);
	feed(&m);
	assert_int_equal(entry_of(&m, sym)->cause, -1);
	model_free(&m);
}

/* A stopped member makes a stopped entry with its change point. */
static void test_stopped_entry(void **state)
{
	struct model m;
	struct site *s;

	model_init(&m);
	s = model_site(&m, SITE_FAULT, save62, 4, 0);
	for (int t = 0; t < 30; t++) {
		s->bytes = (int64_t)(t < 18 ? t : 18) * 8 * MIB;
		model_sample(&m, t);
	}
	model_rank(&m, 140.0 * MIB);
	assert_int_equal(m.nentries, 1);
	assert_int_equal(m.entries[0].verdict, VERDICT_STOPPED);
	assert_true(fabs(m.entries[0].grew_until_s - 17.5) < 1.0);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_culprit_frames),
		cmocka_unit_test(test_merge_memory),
		cmocka_unit_test(test_merge_goroutines),
		cmocka_unit_test(test_merge_go_statements_of_a_function),
		cmocka_unit_test(test_merge_truncated_stack),
		cmocka_unit_test(test_gc_workers_are_runtime),
		cmocka_unit_test(test_symptom_cause),
		cmocka_unit_test(test_stopped_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
