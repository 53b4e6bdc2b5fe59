/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* goheap_explain: runtime fault/mmap growth of the Go heap becomes the
 * consequence of the heap site that explains it (trace/goheap.h), on a
 * model built by hand (no BPF, no target). */
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "model/model.h"
#include "trace/goheap.h"

static struct site *mk(struct model *m, enum site_kind kind,
		       const char *const *fns, int n, double slope, bool leak,
		       double score)
{
	struct frame f[8] = { 0 };
	struct site *s;

	for (int i = 0; i < n; i++)
		f[i].function = fns[i];
	s = model_site(m, kind, f, n, 0);
	assert_non_null(s);
	s->growth.slope_per_min = slope;
	s->growth.leak = leak;
	s->growth.confidence = leak ? 0.9 : 0;
	s->score = score;
	return s;
}

static void rank(struct model *m)
{
	struct site **r = realloc(m->ranked, m->n * sizeof(*r));

	assert_non_null(r);
	m->ranked = r;
	memcpy(r, m->sites, m->n * sizeof(*r));
}

static const char *const retain[] = { "main.retain", "main.main", "runtime.main" };
static const char *const churn[] = { "main.churn", "main.main", "runtime.main" };
static const char *const arena[] = { "__mmap64", "mmap", "x_cgo_mmap",
				     "runtime.mmap.func1", "runtime.sysMap",
				     "runtime.(*mheap).grow" };
static const char *const gcwork[] = { "runtime.getempty", "runtime.(*gcWork).init" };
static const char *const cmalloc[] = { "_int_malloc", "malloc", "leak_record",
				       "runtime.cgocall" };

static void test_heap_leak_explains_runtime_growth(void **state)
{
	struct model m;
	struct site *h, *hc, *fc, *mm, *gw, *cm, *fr;

	model_init(&m);
	h = mk(&m, SITE_HEAP, retain, 3, 30 << 20, true, 1e9 + 30);
	hc = mk(&m, SITE_HEAP, churn, 3, 3 << 20, false, 3);
	/* first touches by the churner of pages the heap grew into */
	fc = mk(&m, SITE_FAULT, churn, 3, 50 << 20, true, 1e9 + 50);
	mm = mk(&m, SITE_MMAP, arena, 6, 60 << 20, true, 1e9 + 60);
	gw = mk(&m, SITE_FAULT, gcwork, 2, 2 << 20, false, 2);
	fr = mk(&m, SITE_FAULT, retain, 3, 4 << 20, false, 4);
	/* C memory of a cgo call is not Go heap */
	cm = mk(&m, SITE_FAULT, cmalloc, 4, 50 << 20, true, 1e9 + 49);
	rank(&m);
	assert_int_equal(goheap_explain(&m), 4);
	assert_int_equal(fc->heap_cause, h->id + 1);
	assert_int_equal(mm->heap_cause, h->id + 1);
	assert_int_equal(gw->heap_cause, h->id + 1);
	assert_int_equal(fr->heap_cause, h->id + 1);
	assert_int_equal(cm->heap_cause, 0);
	assert_int_equal(hc->heap_cause, 0);
	assert_false(fc->growth.leak);
	assert_false(mm->growth.leak);
	assert_true(cm->growth.leak);
	assert_true(h->growth.leak);
	/* The C leak first (its own score), then the heap site and its
	 * consequences right after it. */
	assert_ptr_equal(m.ranked[0], cm);
	assert_ptr_equal(m.ranked[1], h);
	for (int i = 2; i < 6; i++)
		assert_int_equal(m.ranked[i]->heap_cause, h->id + 1);
	model_free(&m);
}

/* A heap that does not grow explains nothing; nor does one that grows
 * far slower than the faults. */
static void test_flat_heap_explains_nothing(void **state)
{
	struct model m;
	struct site *fc;

	model_init(&m);
	mk(&m, SITE_HEAP, retain, 3, 0, false, 0);
	fc = mk(&m, SITE_FAULT, churn, 3, 50 << 20, true, 1e9 + 50);
	rank(&m);
	assert_int_equal(goheap_explain(&m), 0);
	assert_true(fc->growth.leak);
	model_free(&m);

	model_init(&m);
	mk(&m, SITE_HEAP, retain, 3, 1 << 20, true, 1e9 + 1);
	fc = mk(&m, SITE_FAULT, churn, 3, 50 << 20, true, 1e9 + 50);
	rank(&m);
	assert_int_equal(goheap_explain(&m), 0);
	assert_true(fc->growth.leak);
	assert_int_equal(fc->heap_cause, 0);
	model_free(&m);
}

/* Marks are recomputed on every call (the live view ranks every tick). */
static void test_marks_are_recomputed(void **state)
{
	struct model m;
	struct site *h, *fc;

	model_init(&m);
	h = mk(&m, SITE_HEAP, retain, 3, 30 << 20, true, 1e9 + 30);
	fc = mk(&m, SITE_FAULT, churn, 3, 50 << 20, true, 1e9 + 50);
	rank(&m);
	assert_int_equal(goheap_explain(&m), 1);
	h->growth.slope_per_min = 0;
	h->growth.leak = false;
	assert_int_equal(goheap_explain(&m), 0);
	assert_int_equal(fc->heap_cause, 0);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_leak_explains_runtime_growth),
		cmocka_unit_test(test_flat_heap_explains_nothing),
		cmocka_unit_test(test_marks_are_recomputed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
