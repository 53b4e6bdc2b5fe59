// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include "util/log.h"

int lt_verbosity;

void lt_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > lt_verbosity)
		return;
	if (level == LT_NOTE)
		level = 1;	/* no prefix */
	va_start(ap, fmt);
	fputs("leaktrace: ", stderr);
	if (level == 0)
		fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int lt_doubt(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EDOM;
}
