/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/ranges.c: every mmap/munmap/mremap case by hand, then
 * thousands of random operations checked against a page-array model. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "trace/ranges.h"

#define K 4096ULL

struct piece {
	uint32_t tag;
	uint64_t start, end;
};

struct rec {
	int n;
	uint64_t bytes;
	struct piece p[64];
};

static void rec_cb(void *ctx, uint32_t tag, uint64_t start, uint64_t end)
{
	struct rec *rc = ctx;

	assert_true(start < end);
	assert_true(rc->n < 64);
	rc->p[rc->n].tag = tag;
	rc->p[rc->n].start = start;
	rc->p[rc->n].end = end;
	rc->n++;
	rc->bytes += end - start;
}

static void rec_reset(struct rec *rc)
{
	memset(rc, 0, sizeof(*rc));
}

static void expect_piece(const struct rec *rc, int i, uint32_t tag,
			 uint64_t start, uint64_t end)
{
	assert_true(i < rc->n);
	assert_int_equal(rc->p[i].tag, tag);
	assert_int_equal(rc->p[i].start, start);
	assert_int_equal(rc->p[i].end, end);
}

/* The map's content, as collected by ranges_foreach. */
static struct rec dump(const struct ranges *r)
{
	struct rec rc;

	rec_reset(&rc);
	ranges_foreach(r, rec_cb, &rc);
	return rc;
}

static void check(const struct ranges *r)
{
	assert_true(ranges_check(r) >= 0);
	assert_int_equal(ranges_errors(r), 0);
}

static struct ranges *fresh(void)
{
	struct ranges *r = ranges_new();

	assert_non_null(r);
	return r;
}

static void test_empty(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	rec_reset(&rc);
	assert_int_equal(ranges_total(r), 0);
	assert_int_equal(ranges_count(r), 0);
	assert_int_equal(ranges_bytes(r, 0), 0);
	assert_int_equal(ranges_bytes(r, 7), 0);
	assert_false(ranges_find(r, 0x1000, NULL, NULL, NULL));
	ranges_remove(r, 0, UINT64_MAX, rec_cb, &rc);
	ranges_remap(r, 0x1000, 0x1000, 0x9000, 0x2000, 1, rec_cb, &rc);
	assert_int_equal(rc.n, 0);
	/* remapping untracked bytes still creates the growth (only) */
	assert_int_equal(ranges_bytes(r, 1), 0x1000);
	assert_false(ranges_find(r, 0x9000, NULL, NULL, NULL));
	assert_true(ranges_find(r, 0xa000, NULL, NULL, NULL));
	check(r);
	ranges_free(r);
	ranges_free(NULL);
}

static void test_add_basic(void **state)
{
	struct ranges *r = fresh();
	uint64_t s, e;
	uint32_t tag;

	ranges_add(r, 10 * K, 20 * K, 1, NULL, NULL);
	/* adjacent, same tag: not merged */
	ranges_add(r, 20 * K, 30 * K, 1, NULL, NULL);
	ranges_add(r, 40 * K, 41 * K, 2, NULL, NULL);
	ranges_add(r, 50 * K, 50 * K, 3, NULL, NULL);	/* empty: no-op */
	/* inverted: no-op */
	ranges_add(r, 60 * K, 55 * K, 3, NULL, NULL);
	assert_int_equal(ranges_count(r), 3);
	assert_int_equal(ranges_total(r), 21 * K);
	assert_int_equal(ranges_bytes(r, 1), 20 * K);
	assert_int_equal(ranges_bytes(r, 2), K);
	assert_int_equal(ranges_bytes(r, 3), 0);

	assert_true(ranges_find(r, 10 * K, &tag, &s, &e));
	assert_int_equal(tag, 1);
	assert_int_equal(s, 10 * K);
	assert_int_equal(e, 20 * K);
	assert_true(ranges_find(r, 41 * K - 1, &tag, NULL, NULL));
	assert_int_equal(tag, 2);
	assert_false(ranges_find(r, 41 * K, NULL, NULL, NULL));
	assert_false(ranges_find(r, 10 * K - 1, NULL, NULL, NULL));
	assert_false(ranges_find(r, 35 * K, NULL, NULL, NULL));
	check(r);
	ranges_free(r);
}

static void test_extreme_tags_and_addrs(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	rec_reset(&rc);
	ranges_add(r, 0, K, 0, NULL, NULL);
	ranges_add(r, UINT64_MAX - K, UINT64_MAX, UINT32_MAX, NULL, NULL);
	assert_int_equal(ranges_bytes(r, 0), K);
	assert_int_equal(ranges_bytes(r, UINT32_MAX), K);
	assert_true(ranges_find(r, 0, NULL, NULL, NULL));
	assert_true(ranges_find(r, UINT64_MAX - 1, NULL, NULL, NULL));
	ranges_remove(r, 0, UINT64_MAX, rec_cb, &rc);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 0, 0, K);
	expect_piece(&rc, 1, UINT32_MAX, UINT64_MAX - K, UINT64_MAX);
	assert_int_equal(ranges_total(r), 0);
	check(r);
	ranges_free(r);
}

/* MAP_FIXED over the middle of one range: the overlap is reported and the
 * old range survives on both sides. */
static void test_add_fixed_inside(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	rec_reset(&rc);
	ranges_add(r, 0x10000, 0x20000, 1, NULL, NULL);
	ranges_add(r, 0x14000, 0x16000, 2, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 1, 0x14000, 0x16000);
	rc = dump(r);
	assert_int_equal(rc.n, 3);
	expect_piece(&rc, 0, 1, 0x10000, 0x14000);
	expect_piece(&rc, 1, 2, 0x14000, 0x16000);
	expect_piece(&rc, 2, 1, 0x16000, 0x20000);
	assert_int_equal(ranges_bytes(r, 1), 0x10000 - 0x2000);
	assert_int_equal(ranges_bytes(r, 2), 0x2000);
	assert_int_equal(ranges_total(r), 0x10000);

	/* exactly over an existing range */
	rec_reset(&rc);
	ranges_add(r, 0x14000, 0x16000, 3, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 2, 0x14000, 0x16000);
	assert_int_equal(ranges_bytes(r, 2), 0);
	assert_int_equal(ranges_bytes(r, 3), 0x2000);
	assert_int_equal(ranges_count(r), 3);
	check(r);
	ranges_free(r);
}

/* MAP_FIXED spanning several ranges and holes, cutting the first and last. */
static void test_add_fixed_spanning(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	rec_reset(&rc);
	ranges_add(r, 1 * K, 4 * K, 1, NULL, NULL);
	ranges_add(r, 5 * K, 6 * K, 2, NULL, NULL);
	ranges_add(r, 6 * K, 7 * K, 3, NULL, NULL);
	ranges_add(r, 9 * K, 12 * K, 4, NULL, NULL);
	ranges_add(r, 2 * K, 10 * K, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 4);
	expect_piece(&rc, 0, 1, 2 * K, 4 * K);
	expect_piece(&rc, 1, 2, 5 * K, 6 * K);
	expect_piece(&rc, 2, 3, 6 * K, 7 * K);
	expect_piece(&rc, 3, 4, 9 * K, 10 * K);
	assert_int_equal(rc.bytes, 5 * K);
	rc = dump(r);
	assert_int_equal(rc.n, 3);
	expect_piece(&rc, 0, 1, 1 * K, 2 * K);
	expect_piece(&rc, 1, 9, 2 * K, 10 * K);
	expect_piece(&rc, 2, 4, 10 * K, 12 * K);
	assert_int_equal(ranges_bytes(r, 1), K);
	assert_int_equal(ranges_bytes(r, 2), 0);
	assert_int_equal(ranges_bytes(r, 3), 0);
	assert_int_equal(ranges_bytes(r, 4), 2 * K);
	assert_int_equal(ranges_bytes(r, 9), 8 * K);
	assert_int_equal(ranges_total(r), 11 * K);
	check(r);
	ranges_free(r);
}

static void test_remove_cases(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	ranges_add(r, 10 * K, 20 * K, 1, NULL, NULL);

	/* head */
	rec_reset(&rc);
	ranges_remove(r, 8 * K, 12 * K, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 1, 10 * K, 12 * K);
	/* tail */
	rec_reset(&rc);
	ranges_remove(r, 18 * K, 25 * K, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 1, 18 * K, 20 * K);
	/* middle: splits in two */
	rec_reset(&rc);
	ranges_remove(r, 14 * K, 15 * K, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 1, 14 * K, 15 * K);
	rc = dump(r);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 1, 12 * K, 14 * K);
	expect_piece(&rc, 1, 1, 15 * K, 18 * K);
	assert_int_equal(ranges_bytes(r, 1), 5 * K);
	/* hole only: nothing */
	rec_reset(&rc);
	ranges_remove(r, 14 * K, 15 * K, rec_cb, &rc);
	ranges_remove(r, 0, 12 * K, rec_cb, &rc);
	ranges_remove(r, 18 * K, 100 * K, rec_cb, &rc);
	ranges_remove(r, 13 * K, 13 * K, rec_cb, &rc);	/* empty */
	assert_int_equal(rc.n, 0);
	assert_int_equal(ranges_total(r), 5 * K);
	/* exact range, NULL callback */
	ranges_remove(r, 12 * K, 14 * K, NULL, NULL);
	assert_int_equal(ranges_count(r), 1);
	assert_int_equal(ranges_bytes(r, 1), 3 * K);
	check(r);
	ranges_free(r);
}

static void test_remove_spanning_many(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;
	int i;

	/* 20 one-page ranges with one-page holes, tags 0..19 */
	for (i = 0; i < 20; i++)
		ranges_add(r, (100 + 2 * i) * K, (101 + 2 * i) * K, i, NULL,
			   NULL);
	/* touches the first */
	ranges_add(r, 90 * K, 100 * K, 50, NULL, NULL);
	rec_reset(&rc);
	/* from the middle of the tag-50 range to a hole */
	ranges_remove(r, 95 * K, 120 * K, rec_cb, &rc);
	assert_int_equal(rc.n, 11);
	expect_piece(&rc, 0, 50, 95 * K, 100 * K);
	for (i = 0; i < 10; i++)
		expect_piece(&rc, i + 1, i, (100 + 2 * i) * K,
			     (101 + 2 * i) * K);
	assert_int_equal(rc.bytes, 15 * K);
	assert_int_equal(ranges_count(r), 11);
	assert_int_equal(ranges_bytes(r, 50), 5 * K);
	assert_int_equal(ranges_bytes(r, 9), 0);
	assert_int_equal(ranges_bytes(r, 10), K);
	assert_int_equal(ranges_total(r), 15 * K);
	check(r);
	ranges_free(r);
}

static void test_remap_in_place(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	ranges_add(r, 0x100000, 0x110000, 1, NULL, NULL);

	/* shrink: tail reported removed */
	rec_reset(&rc);
	ranges_remap(r, 0x100000, 0x10000, 0x100000, 0x4000, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 1, 0x104000, 0x110000);
	assert_int_equal(ranges_bytes(r, 1), 0x4000);
	assert_int_equal(ranges_bytes(r, 9), 0);

	/* grow: growth tagged grow_tag, nothing reported */
	rec_reset(&rc);
	ranges_remap(r, 0x100000, 0x4000, 0x100000, 0x9000, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 0);
	rc = dump(r);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 1, 0x100000, 0x104000);
	expect_piece(&rc, 1, 9, 0x104000, 0x109000);
	assert_int_equal(ranges_total(r), 0x9000);

	/* same size: nothing happens */
	rec_reset(&rc);
	ranges_remap(r, 0x100000, 0x9000, 0x100000, 0x9000, 7, rec_cb, &rc);
	assert_int_equal(rc.n, 0);
	assert_int_equal(ranges_count(r), 2);
	assert_int_equal(ranges_bytes(r, 7), 0);

	/* shrink across pieces of different tags */
	rec_reset(&rc);
	ranges_remap(r, 0x100000, 0x9000, 0x100000, 0x2000, 7, rec_cb, &rc);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 1, 0x102000, 0x104000);
	expect_piece(&rc, 1, 9, 0x104000, 0x109000);
	assert_int_equal(ranges_total(r), 0x2000);
	assert_int_equal(ranges_bytes(r, 9), 0);

	/* grow over a neighbour (only if the caller says so): reported */
	ranges_add(r, 0x103000, 0x105000, 4, NULL, NULL);
	rec_reset(&rc);
	ranges_remap(r, 0x100000, 0x2000, 0x100000, 0x4000, 7, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 4, 0x103000, 0x104000);
	assert_int_equal(ranges_bytes(r, 4), 0x1000);
	assert_int_equal(ranges_bytes(r, 7), 0x2000);
	check(r);
	ranges_free(r);
}

static void test_remap_move(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	/* a range made of three pieces with a hole: 1 | 2 | hole | 3 */
	ranges_add(r, 0x10000, 0x12000, 1, NULL, NULL);
	ranges_add(r, 0x12000, 0x13000, 2, NULL, NULL);
	ranges_add(r, 0x14000, 0x18000, 3, NULL, NULL);
	/* neighbours that must not move */
	ranges_add(r, 0x0f000, 0x10000, 5, NULL, NULL);
	ranges_add(r, 0x18000, 0x19000, 6, NULL, NULL);

	rec_reset(&rc);
	ranges_remap(r, 0x10000, 0x8000, 0x80000, 0x8000, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 0);	/* moved bytes are not removed */
	rc = dump(r);
	assert_int_equal(rc.n, 5);
	expect_piece(&rc, 0, 5, 0x0f000, 0x10000);
	expect_piece(&rc, 1, 6, 0x18000, 0x19000);
	expect_piece(&rc, 2, 1, 0x80000, 0x82000);
	expect_piece(&rc, 3, 2, 0x82000, 0x83000);
	expect_piece(&rc, 4, 3, 0x84000, 0x88000);
	assert_int_equal(ranges_bytes(r, 1), 0x2000);
	assert_int_equal(ranges_bytes(r, 2), 0x1000);
	assert_int_equal(ranges_bytes(r, 3), 0x4000);
	assert_int_equal(ranges_bytes(r, 9), 0);
	assert_int_equal(ranges_total(r), 0x9000);

	/* move to a lower address over other ranges: those are reported */
	ranges_add(r, 0x40000, 0x41000, 7, NULL, NULL);
	ranges_add(r, 0x47000, 0x50000, 8, NULL, NULL);
	rec_reset(&rc);
	ranges_remap(r, 0x80000, 0x8000, 0x40000, 0x8000, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 7, 0x40000, 0x41000);
	expect_piece(&rc, 1, 8, 0x47000, 0x48000);
	rc = dump(r);
	assert_int_equal(rc.n, 6);
	expect_piece(&rc, 2, 1, 0x40000, 0x42000);
	expect_piece(&rc, 3, 2, 0x42000, 0x43000);
	expect_piece(&rc, 4, 3, 0x44000, 0x48000);
	expect_piece(&rc, 5, 8, 0x48000, 0x50000);
	assert_int_equal(ranges_bytes(r, 7), 0);
	assert_int_equal(ranges_bytes(r, 8), 0x8000);
	assert_false(ranges_find(r, 0x80000, NULL, NULL, NULL));
	check(r);
	ranges_free(r);
}

static void test_remap_move_grow_shrink(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	ranges_add(r, 0x10000, 0x12000, 1, NULL, NULL);
	ranges_add(r, 0x12000, 0x14000, 2, NULL, NULL);

	/* move + grow: kept part keeps tags, growth gets grow_tag */
	/* in the growth */
	ranges_add(r, 0x25000, 0x26000, 4, NULL, NULL);
	rec_reset(&rc);
	ranges_remap(r, 0x10000, 0x4000, 0x20000, 0x8000, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 4, 0x25000, 0x26000);
	rc = dump(r);
	assert_int_equal(rc.n, 3);
	expect_piece(&rc, 0, 1, 0x20000, 0x22000);
	expect_piece(&rc, 1, 2, 0x22000, 0x24000);
	expect_piece(&rc, 2, 9, 0x24000, 0x28000);
	assert_int_equal(ranges_total(r), 0x8000);
	assert_int_equal(ranges_bytes(r, 9), 0x4000);

	/* move + shrink: the tail beyond new_len is reported removed */
	rec_reset(&rc);
	ranges_remap(r, 0x20000, 0x8000, 0x50000, 0x3000, 7, rec_cb, &rc);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 2, 0x23000, 0x24000);
	expect_piece(&rc, 1, 9, 0x24000, 0x28000);
	rc = dump(r);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 1, 0x50000, 0x52000);
	expect_piece(&rc, 1, 2, 0x52000, 0x53000);
	assert_int_equal(ranges_bytes(r, 7), 0);
	assert_int_equal(ranges_bytes(r, 9), 0);
	assert_int_equal(ranges_total(r), 0x3000);

	/* moving a range that starts inside a bigger one cuts it */
	ranges_add(r, 0x60000, 0x70000, 3, NULL, NULL);
	rec_reset(&rc);
	ranges_remap(r, 0x64000, 0x2000, 0x90000, 0x2000, 7, rec_cb, &rc);
	assert_int_equal(rc.n, 0);
	assert_int_equal(ranges_bytes(r, 3), 0x10000);
	assert_true(ranges_find(r, 0x63fff, NULL, NULL, NULL));
	assert_false(ranges_find(r, 0x64000, NULL, NULL, NULL));
	assert_false(ranges_find(r, 0x65fff, NULL, NULL, NULL));
	assert_true(ranges_find(r, 0x66000, NULL, NULL, NULL));
	assert_true(ranges_find(r, 0x91fff, NULL, NULL, NULL));

	/* a moved range that was never tracked only brings its growth */
	rec_reset(&rc);
	ranges_remap(r, 0xa00000, 0x1000, 0xb00000, 0x3000, 8, rec_cb, &rc);
	assert_int_equal(rc.n, 0);
	assert_int_equal(ranges_bytes(r, 8), 0x2000);
	assert_false(ranges_find(r, 0xb00000, NULL, NULL, NULL));
	assert_true(ranges_find(r, 0xb01000, NULL, NULL, NULL));

	/* new_len 0 unmaps; old_len 0 maps growth only */
	rec_reset(&rc);
	ranges_remap(r, 0xb01000, 0x2000, 0xc00000, 0, 8, rec_cb, &rc);
	assert_int_equal(rc.n, 1);
	expect_piece(&rc, 0, 8, 0xb01000, 0xb03000);
	ranges_remap(r, 0x50000, 0, 0xd00000, 0x1000, 6, rec_cb, &rc);
	assert_int_equal(ranges_bytes(r, 1), 0x2000);
	assert_int_equal(ranges_bytes(r, 6), 0x1000);
	/* wrapping lengths are ignored */
	ranges_remap(r, 0x50000, UINT64_MAX, 0x0, 0x1000, 6, rec_cb, &rc);
	assert_int_equal(ranges_bytes(r, 1), 0x2000);
	check(r);
	ranges_free(r);
}

/* Source and destination overlapping (not allowed by the kernel, but the
 * map must stay consistent). */
static void test_remap_overlapping_move(void **state)
{
	struct ranges *r = fresh();
	struct rec rc;

	ranges_add(r, 0x10000, 0x14000, 1, NULL, NULL);
	ranges_add(r, 0x14000, 0x18000, 2, NULL, NULL);
	rec_reset(&rc);
	ranges_remap(r, 0x10000, 0x8000, 0x12000, 0x8000, 9, rec_cb, &rc);
	assert_int_equal(rc.n, 0);
	rc = dump(r);
	assert_int_equal(rc.n, 2);
	expect_piece(&rc, 0, 1, 0x12000, 0x16000);
	expect_piece(&rc, 1, 2, 0x16000, 0x1a000);
	assert_int_equal(ranges_total(r), 0x8000);
	check(r);
	ranges_free(r);
}

static void test_many_tags(void **state)
{
	struct ranges *r = fresh();
	uint32_t i;

	for (i = 0; i < 10000; i++)
		ranges_add(r, (uint64_t)i * 3 * K,
			   ((uint64_t)i * 3 + 1 + i % 2) * K, i * 7919u, NULL,
			   NULL);
	for (i = 0; i < 10000; i++)
		assert_int_equal(ranges_bytes(r, i * 7919u), (1 + i % 2) * K);
	assert_int_equal(ranges_bytes(r, 1), 0);
	assert_int_equal(ranges_total(r), 15000 * K);
	check(r);
	ranges_remove(r, 0, UINT64_MAX, NULL, NULL);
	for (i = 0; i < 10000; i++)
		assert_int_equal(ranges_bytes(r, i * 7919u), 0);
	assert_int_equal(ranges_count(r), 0);
	check(r);
	ranges_free(r);
}

/* 200k ranges mapped in address order (the worst case for an unbalanced
 * tree) must keep the tree shallow; removing them all is one call. */
static void test_large_balanced(void **state)
{
	const uint64_t n = 200000;
	struct ranges *r = fresh();
	struct rec rc;
	uint64_t i;
	int h;

	for (i = 0; i < n; i++)
		ranges_add(r, i * 2 * K, (i * 2 + 1) * K, (uint32_t)(i % 100),
			   NULL, NULL);
	assert_int_equal(ranges_count(r), n);
	h = ranges_check(r);
	assert_true(h >= 0);
	/* a treap's expected height is ~4.3 ln n (~53 here) */
	assert_true(h <= 5 * (int)log2((double)n) + 10);
	assert_int_equal(ranges_bytes(r, 42), n / 100 * K);

	/* punch a hole in every other range from the top down */
	for (i = n; i-- > 0;)
		if (i % 2)
			ranges_remove(r, i * 2 * K + 1024, i * 2 * K + 2048,
				      NULL, NULL);
	assert_int_equal(ranges_count(r), n + n / 2);
	assert_int_equal(ranges_total(r), n * K - n / 2 * 1024);
	h = ranges_check(r);
	assert_true(h >= 0 && h <= 5 * (int)log2((double)n) + 10);

	rec_reset(&rc);
	ranges_remove(r, 2 * K, 4 * K + 1, rec_cb, &rc);
	assert_int_equal(rc.n, 3);
	expect_piece(&rc, 0, 1, 2 * K, 2 * K + 1024);
	expect_piece(&rc, 1, 1, 2 * K + 2048, 3 * K);
	expect_piece(&rc, 2, 2, 4 * K, 4 * K + 1);
	assert_int_equal(ranges_total(r), n * K - n / 2 * 1024 - 3073);
	ranges_remove(r, 0, UINT64_MAX, NULL, NULL);
	assert_int_equal(ranges_total(r), 0);
	assert_int_equal(ranges_count(r), 0);
	check(r);
	ranges_free(r);
}

/* --- randomized test against a page-array model ------------------------ */

#define MODEL_PAGES 512
#define MODEL_TAGS 6
#define NONE (-1)

struct model {
	uint64_t pg, base;
	int32_t m[MODEL_PAGES];		/* tag per page or NONE */
	int32_t before[MODEL_PAGES];	/* m before the current op */
	int32_t removed[MODEL_PAGES];	/* tag removed by the current op */
	int reported[MODEL_PAGES];
	uint64_t reported_bytes;
	uint64_t rng;
};

static uint64_t rnd(struct model *md, uint64_t n)
{
	md->rng ^= md->rng << 13;
	md->rng ^= md->rng >> 7;
	md->rng ^= md->rng << 17;
	return md->rng % n;
}

static void model_cb(void *ctx, uint32_t tag, uint64_t start, uint64_t end)
{
	struct model *md = ctx;
	uint64_t p;

	assert_true(start >= md->base && end > start);
	assert_int_equal((start - md->base) % md->pg, 0);
	assert_int_equal((end - md->base) % md->pg, 0);
	assert_true((end - md->base) / md->pg <= MODEL_PAGES);
	for (p = (start - md->base) / md->pg; p < (end - md->base) / md->pg;
	     p++) {
		assert_int_equal(md->before[p], (int32_t)tag);
		assert_false(md->reported[p]);
		md->reported[p] = 1;
	}
	md->reported_bytes += end - start;
}

static void m_clear(struct model *md, uint64_t s, uint64_t e, bool report)
{
	for (; s < e; s++) {
		if (md->m[s] != NONE && report)
			md->removed[s] = md->m[s];
		md->m[s] = NONE;
	}
}

static void m_set(struct model *md, uint64_t s, uint64_t e, int32_t tag)
{
	m_clear(md, s, e, true);
	for (; s < e; s++)
		md->m[s] = tag;
}

static void m_remap(struct model *md, uint64_t o, uint64_t ol, uint64_t n,
		    uint64_t nl, int32_t tag)
{
	int32_t tmp[MODEL_PAGES];
	uint64_t kept = ol < nl ? ol : nl, i;

	if (n == o) {
		if (ol > nl)
			m_clear(md, o + nl, o + ol, true);
		else if (nl > ol)
			m_set(md, o + ol, o + nl, tag);
		return;
	}
	for (i = 0; i < kept; i++)
		tmp[i] = md->m[o + i];
	m_clear(md, o, o + kept, false);
	m_clear(md, o + kept, o + ol, true);
	m_clear(md, n, n + nl, true);
	for (i = 0; i < kept; i++)
		md->m[n + i] = tmp[i];
	for (i = kept; i < nl; i++)
		md->m[n + i] = tag;
}

struct cover {
	struct model *md;
	int32_t seen[MODEL_PAGES];
};

static void cover_cb(void *ctx, uint32_t tag, uint64_t start, uint64_t end)
{
	struct cover *c = ctx;
	uint64_t p;

	for (p = (start - c->md->base) / c->md->pg;
	     p < (end - c->md->base) / c->md->pg; p++) {
		assert_int_equal(c->seen[p], NONE);
		c->seen[p] = (int32_t)tag;
	}
}

static void model_compare(struct model *md, const struct ranges *r)
{
	uint64_t per_tag[MODEL_TAGS] = { 0 }, total = 0, p;
	struct cover c = { .md = md };
	int t;

	for (p = 0; p < MODEL_PAGES; p++) {
		c.seen[p] = NONE;
		if (md->m[p] != NONE) {
			per_tag[md->m[p]] += md->pg;
			total += md->pg;
		}
		/* reported exactly the pages the model removed */
		assert_int_equal(md->reported[p], md->removed[p] != NONE);
	}
	ranges_foreach(r, cover_cb, &c);
	for (p = 0; p < MODEL_PAGES; p++)
		assert_int_equal(c.seen[p], md->m[p]);
	for (t = 0; t < MODEL_TAGS; t++)
		assert_int_equal(ranges_bytes(r, t), per_tag[t]);
	assert_int_equal(ranges_bytes(r, MODEL_TAGS), 0);
	assert_int_equal(ranges_total(r), total);
	assert_true(ranges_count(r) <= total / md->pg);
	check(r);
}

static void run_model(uint64_t seed, uint64_t pg, uint64_t base, int ops)
{
	struct model *md = calloc(1, sizeof(*md));
	struct ranges *r = fresh();
	uint64_t removed_sum = 0, reported_sum = 0;
	int i;

	assert_non_null(md);
	md->pg = pg;
	md->base = base;
	md->rng = seed;
	for (i = 0; i < MODEL_PAGES; i++)
		md->m[i] = NONE;
	for (i = 0; i < ops; i++) {
		uint64_t op = rnd(md, 100), s, len, n, nl, p;
		int32_t tag = (int32_t)rnd(md, MODEL_TAGS);

		memcpy(md->before, md->m, sizeof(md->m));
		for (p = 0; p < MODEL_PAGES; p++) {
			md->removed[p] = NONE;
			md->reported[p] = 0;
		}
		md->reported_bytes = 0;
		s = rnd(md, MODEL_PAGES);
		if (op < 40) {
			len = 1 + rnd(md, 64);
			if (s + len > MODEL_PAGES)
				len = MODEL_PAGES - s;
			m_set(md, s, s + len, tag);
			ranges_add(r, base + s * pg, base + (s + len) * pg,
				   tag, model_cb, md);
		} else if (op < 65) {
			len = rnd(md, 128);
			if (s + len > MODEL_PAGES)
				len = MODEL_PAGES - s;
			m_clear(md, s, s + len, true);
			ranges_remove(r, base + s * pg, base + (s + len) * pg,
				      model_cb, md);
		} else {
			len = rnd(md, 64);
			nl = rnd(md, 64);
			if (s + len > MODEL_PAGES)
				len = MODEL_PAGES - s;
			n = op < 80 ? s : rnd(md, MODEL_PAGES);
			if (n + nl > MODEL_PAGES)
				nl = MODEL_PAGES - n;
			m_remap(md, s, len, n, nl, tag);
			ranges_remap(r, base + s * pg, len * pg, base + n * pg,
				     nl * pg, tag, model_cb, md);
		}
		for (p = 0; p < MODEL_PAGES; p++)
			if (md->removed[p] != NONE)
				removed_sum += pg;
		reported_sum += md->reported_bytes;
		model_compare(md, r);
	}
	assert_int_equal(removed_sum, reported_sum);
	assert_true(removed_sum > 0);
	ranges_free(r);
	free(md);
}

static void test_random_model_pages(void **state)
{
	run_model(0x1234567, 4096, 0x7f0000000000ULL, 5000);
	run_model(0xdeadbeef, 4096, 0x555555554000ULL, 5000);
}

/* unit-size "pages" starting at address 0: every boundary is a byte */
static void test_random_model_bytes(void **state)
{
	run_model(42, 1, 0, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add_basic),
		cmocka_unit_test(test_extreme_tags_and_addrs),
		cmocka_unit_test(test_add_fixed_inside),
		cmocka_unit_test(test_add_fixed_spanning),
		cmocka_unit_test(test_remove_cases),
		cmocka_unit_test(test_remove_spanning_many),
		cmocka_unit_test(test_remap_in_place),
		cmocka_unit_test(test_remap_move),
		cmocka_unit_test(test_remap_move_grow_shrink),
		cmocka_unit_test(test_remap_overlapping_move),
		cmocka_unit_test(test_many_tags),
		cmocka_unit_test(test_large_balanced),
		cmocka_unit_test(test_random_model_pages),
		cmocka_unit_test(test_random_model_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
