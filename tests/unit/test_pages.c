// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* trace/pages.c: releases and moves in the kernel's page map, asked of the
 * memory object's syscall programs (BPF the only writer) and, for kernels
 * without bpf_loop, done by user space; both must leave the same map and
 * count the same releases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/loader.h"
#include "trace/pages.h"
#include "mem.skel.h"

#define PG(n) ((uint64_t)(n) << LT_PAGE_SHIFT)

struct fix {
	struct lt_maps maps;
	struct mem_bpf *skel;
	int pages_fd, stats_fd;
};

static int setup(void **state)
{
	static struct fix f;

	memset(&f, 0, sizeof(f));
	if (lt_maps_open(&f.maps, 1024, 1, 16))
		return -1;
	f.skel = mem_bpf__open();
	if (!f.skel)
		return -1;
	/* Loaded, not attached: only the test writes the first touches. */
	f.maps.targ_tgid = getpid();
	LT_BPF_COMMON_RODATA(f.skel, &f.maps);
	bpf_program__set_autoload(f.skel->progs.lt_munmap_exit, false);
	bpf_program__set_autoload(f.skel->progs.lt_madvise_exit, false);
	if (lt_bpf_load(f.skel->skeleton, &f.maps, "memory", 0))
		return -1;
	f.pages_fd = bpf_map__fd(f.skel->maps.pages);
	f.stats_fd = bpf_map__fd(f.skel->maps.fault_stats);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	mem_bpf__destroy(f->skel);
	lt_maps_close(&f->maps);
	return 0;
}

/* Empties both maps, then marks pages [first, last) touched by stack sid
 * (as the fault program would: chunk slots and a fault stat). */
/* Two processes share the maps: keys carry the tgid. */
#define TGID_A 4242
#define TGID_B 77

static void touch(struct fix *f, uint32_t tgid, uint64_t first, uint64_t last,
		  uint64_t sid)
{
	struct lt_fault_stat st = { .pages = last - first };
	struct lt_fault_key fk = { .sid = sid, .tgid = tgid };

	for (uint64_t p = first; p < last; p++) {
		uint64_t key = LT_CHUNK_KEY(tgid, p >> LT_CHUNK_SHIFT);
		struct lt_chunk c;

		if (bpf_map_lookup_elem(f->pages_fd, &key, &c))
			memset(&c, 0, sizeof(c));
		c.sid[p & (LT_CHUNK_PAGES - 1)] = sid;
		assert_int_equal(bpf_map_update_elem(f->pages_fd, &key, &c, BPF_ANY), 0);
	}
	assert_int_equal(bpf_map_update_elem(f->stats_fd, &fk, &st, BPF_ANY), 0);
}

static void clear(struct fix *f)
{
	struct lt_fault_key fk;
	uint64_t key;

	while (!bpf_map_get_next_key(f->pages_fd, NULL, &key))
		bpf_map_delete_elem(f->pages_fd, &key);
	while (!bpf_map_get_next_key(f->stats_fd, NULL, &fk))
		bpf_map_delete_elem(f->stats_fd, &fk);
}

static uint64_t sid_at(struct fix *f, uint32_t tgid, uint64_t page)
{
	uint64_t key = LT_CHUNK_KEY(tgid, page >> LT_CHUNK_SHIFT);
	struct lt_chunk c;

	if (bpf_map_lookup_elem(f->pages_fd, &key, &c))
		return 0;
	return c.sid[page & (LT_CHUNK_PAGES - 1)];
}

static uint64_t chunks(struct fix *f)
{
	uint64_t key, next, n = 0;
	bool have = !bpf_map_get_next_key(f->pages_fd, NULL, &key);

	while (have) {
		n++;
		have = !bpf_map_get_next_key(f->pages_fd, &key, &next);
		key = next;
	}
	return n;
}

/* Released pages of sid, from the kernel's stats (BPF) or pages' own
 * counts (user space). */
static uint64_t released(struct fix *f, struct pages *p, uint64_t sid,
			 bool lazy)
{
	struct lt_fault_stat st = {};
	struct lt_fault_key fk = { .sid = sid, .tgid = p->tgid };
	uint64_t v = 0;

	bpf_map_lookup_elem(f->stats_fd, &fk, &st);
	u64map_get(lazy ? &p->lazy : &p->released, sid, &v);
	return v + (lazy ? st.lazy : st.released);
}

static void release_and_move(void **state, bool in_bpf)
{
	struct fix *f = *state;
	struct pages p;

	pages_init(&p, f->pages_fd,
		   in_bpf ? bpf_program__fd(f->skel->progs.lt_pages_release) : -1,
		   in_bpf ? bpf_program__fd(f->skel->progs.lt_pages_move) : -1);
	p.tgid = TGID_A;
	clear(f);
	/* Pages 100..300 by stack 7, 1000..1010 by stack 9; process B
	 * touched the same pages from the same stack id (a second instance
	 * of one non-PIE program): none of A's edits may touch them. */
	touch(f, TGID_A, 100, 300, 7);
	touch(f, TGID_A, 1000, 1010, 9);
	touch(f, TGID_B, 100, 300, 7);
	touch(f, TGID_B, 2000, 2010, 9);
	/* Release 150..250 (partial chunks at both ends). */
	pages_release(&p, PG(150), PG(250), false, 210);
	assert_int_equal(sid_at(f, TGID_A, 149), 7);
	assert_int_equal(sid_at(f, TGID_A, 150), 0);
	assert_int_equal(sid_at(f, TGID_A, 249), 0);
	assert_int_equal(sid_at(f, TGID_A, 250), 7);
	assert_int_equal(released(f, &p, 7, false), 100);
	assert_int_equal(released(f, &p, 7, true), 0);
	/* MADV_FREE of 1000..1005: lazily. */
	pages_release(&p, PG(1000), PG(1005), true, 110);
	assert_int_equal(released(f, &p, 9, false), 5);
	assert_int_equal(released(f, &p, 9, true), 5);
	/* A huge range over a small map (walks the map): releases the rest
	 * of stack 9 and nothing else. */
	pages_release(&p, PG(1005), PG(1ULL << 34), false, 105);
	assert_int_equal(sid_at(f, TGID_A, 1009), 0);
	assert_int_equal(released(f, &p, 9, false), 10);
	assert_int_equal(released(f, &p, 7, false), 100);
	/* mremap moved 250..300 to 5000..5050: first touches follow. */
	pages_move(&p, PG(250), PG(50), PG(5000));
	assert_int_equal(sid_at(f, TGID_A, 250), 0);
	assert_int_equal(sid_at(f, TGID_A, 299), 0);
	assert_int_equal(sid_at(f, TGID_A, 5000), 7);
	assert_int_equal(sid_at(f, TGID_A, 5049), 7);
	assert_int_equal(sid_at(f, TGID_A, 5050), 0);
	/* Chunks left: 100..150 in chunks 1 and 2, 5000..5050 in 78;
	 * emptied chunks are gone; B's 4 chunks are all there. */
	assert_int_equal(chunks(f), 3 + 5);
	assert_int_equal(p.failed, 0);
	for (uint64_t pg = 100; pg < 300; pg++)
		assert_int_equal(sid_at(f, TGID_B, pg), 7);
	for (uint64_t pg = 2000; pg < 2010; pg++)
		assert_int_equal(sid_at(f, TGID_B, pg), 9);
	pages_free(&p);
	/* B's own view (its own struct pages): nothing released. */
	pages_init(&p, f->pages_fd, -1, -1);
	p.tgid = TGID_B;
	assert_int_equal(released(f, &p, 7, false), 0);
	pages_free(&p);
}

/* lt_sweep: a released process's chunks and fault counters go, in one
 * BPF pass; another process's stay. */
static void test_sweep(void **state)
{
	struct fix *f = *state;
	int gone = bpf_map__fd(f->skel->maps.gone);
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct lt_fault_key fk = { .sid = 7, .tgid = TGID_A };
	struct lt_fault_stat st;
	uint32_t tgid = TGID_A;
	uint8_t one = 1;

	clear(f);
	touch(f, TGID_A, 100, 300, 7);
	touch(f, TGID_B, 100, 300, 7);
	assert_int_equal(chunks(f), 8);
	assert_int_equal(bpf_map_update_elem(gone, &tgid, &one, BPF_ANY), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.lt_sweep), &o), 0);
	bpf_map_delete_elem(gone, &tgid);
	assert_int_equal(chunks(f), 4);
	assert_int_equal(sid_at(f, TGID_A, 150), 0);
	assert_int_equal(sid_at(f, TGID_B, 150), 7);
	assert_int_not_equal(bpf_map_lookup_elem(f->stats_fd, &fk, &st), 0);
	fk.tgid = TGID_B;
	assert_int_equal(bpf_map_lookup_elem(f->stats_fd, &fk, &st), 0);
	clear(f);
}

static void test_in_bpf(void **state)
{
	release_and_move(state, true);
}

static void test_in_user_space(void **state)
{
	release_and_move(state, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_bpf),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_in_user_space),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
