// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "trace/uprobe_cost.h"

/* Three probe targets, the instructions Go's probes sit on. */
__asm__(".pushsection .text\n"
	".globl lt_cost_nop5\n.type lt_cost_nop5,@function\n"
	"lt_cost_nop5:\n"
	"\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"\tret\n"
	".size lt_cost_nop5, .-lt_cost_nop5\n"
	".globl lt_cost_call\n.type lt_cost_call,@function\n"
	"lt_cost_call:\n"
	"\tcall lt_cost_ret\n"
	"\tret\n"
	".size lt_cost_call, .-lt_cost_call\n"
	".globl lt_cost_ret\n.type lt_cost_ret,@function\n"
	"lt_cost_ret:\n"
	"\tret\n"
	".size lt_cost_ret, .-lt_cost_ret\n"
	".popsection\n");
void lt_cost_nop5(void);
void lt_cost_call(void);
void lt_cost_ret(void);

#define CALLS 400
#define ROUNDS 3

/* File offset and path of our own code at addr, from /proc/self/maps. */
static int self_offset(uintptr_t addr, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4608];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t lo, hi, pgoff;
		int n = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %n",
			   &lo, &hi, &pgoff, &n) < 3 || !n)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (line[n] != '/')
			break;
		snprintf(path, len, "%s", line + n);
		*off = addr - lo + pgoff;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Seconds for CALLS calls of fn, the fastest of ROUNDS. */
static double time_calls(void (*fn)(void))
{
	double best = 1e9;

	for (int r = 0; r < ROUNDS; r++) {
		double t = now_s();

		for (int i = 0; i < CALLS; i++)
			fn();
		t = now_s() - t;
		if (t < best)
			best = t;
	}
	return best;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double uprobe_cost_measure(struct bpf_program *prog, enum uprobe_insn kind)
{
	void (*fn)(void) = kind == UPROBE_ON_NOP5 ? lt_cost_nop5 : lt_cost_call;
	uintptr_t at = kind == UPROBE_ON_NOP5 ? (uintptr_t)lt_cost_nop5 :
		       kind == UPROBE_ON_CALL || kind == UPROBE_RETPROBE_ON_CALL ?
		       (uintptr_t)lt_cost_call :
						(uintptr_t)lt_cost_ret;
	double with[ROUNDS], base;
	struct bpf_link *l;
	char path[4096];
	uint64_t off = 0;
	int err;

	err = self_offset(at, path, sizeof(path), &off);
	if (err)
		return err;
	base = time_calls(fn);
	l = bpf_program__attach_uprobe(prog, kind == UPROBE_RETPROBE_ON_CALL,
				       getpid(), path, off);
	if (!l)
		return -errno;
	for (int i = 0; i < 20; i++)	/* first hits install the fast path */
		fn();
	for (int r = 0; r < ROUNDS; r++)
		with[r] = time_calls(fn);
	bpf_link__destroy(l);
	qsort(with, ROUNDS, sizeof(with[0]), cmp_double);
	return with[ROUNDS / 2] > base ? (with[ROUNDS / 2] - base) / CALLS : 0;
}
