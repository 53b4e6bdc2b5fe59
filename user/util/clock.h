/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CLOCK_MONOTONIC, the one clock of leaktrace's own timing (BPF's
 * bpf_ktime_get_ns reads the same clock). */
#ifndef LT_CLOCK_H
#define LT_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline uint64_t lt_mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static inline double lt_mono_s(void)
{
	return lt_mono_ns() / 1e9;
}
#endif
