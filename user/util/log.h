/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* util/: what every folder may use and that knows nothing of leaktrace:
 * logging (this file), hash maps (hashmap.h). */
#ifndef LT_LOG_H
#define LT_LOG_H

/* 0: warnings and errors; 1 (-v): progress; 2 (-vv): debug + libbpf. */
extern int lt_verbosity;

#define LT_NOTE -2

void lt_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define lt_err(...) lt_log(-1, __VA_ARGS__)
#define lt_warn(...) lt_log(0, __VA_ARGS__)
/* A plain one-line note, shown by default. */
#define lt_note(...) lt_log(LT_NOTE, __VA_ARGS__)
#define lt_info(...) lt_log(1, __VA_ARGS__)
#define lt_debug(...) lt_log(2, __VA_ARGS__)
#include <stddef.h>
/* Writes why a check doubts into why[len] (why may be NULL) and returns
 * -EDOM: the checks' "no, because ..." for their callers to say. */
int lt_doubt(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#endif
