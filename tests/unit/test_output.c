/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/report/output.c: the UTF-8 filter JSON goes through
 * and the atomic report file (commit replaces, abort and failure keep the
 * previous file, nothing left behind). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "report/output.h"
#include "util/log.h"

static char *filter(const char *in)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fputs_utf8(in, f), 0);
	fclose(f);
	return buf;
}

static void check(const char *in, const char *want)
{
	char *got = filter(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_utf8(void **state)
{
	check("plain ascii", "plain ascii");
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check("caf\xe9", "caf\\\\xe9");			/* Latin-1 byte */
	check("\xc0\x80", "\\\\xc0\\\\x80");		/* overlong NUL */
	check("\xe0\x80\xaf", "\\\\xe0\\\\x80\\\\xaf");	/* overlong '/' */
	check("\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80");	/* surrogate */
	check("\xf4\x90\x80\x80", "\\\\xf4\\\\x90\\\\x80\\\\x80");	/* > U+10FFFF */
	check("\xf5", "\\\\xf5");
	check("ab\xe2\x82", "ab\\\\xe2\\\\x82");		/* cut at the end */
	check("\xe2\x82" "A", "\\\\xe2\\\\x82A");		/* cut mid-string */
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x90\x80\x80", 4), 4);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x90\x80", 3), 0);
}

static int entries(const char *dir)
{
	struct dirent *d;
	int n = 0;
	DIR *p = opendir(dir);

	assert_non_null(p);
	while ((d = readdir(p)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(p);
	return n;
}

static void test_atomic(void **state)
{
	char dir[] = "/tmp/lt-output-XXXXXX", path[128], buf[64] = "";
	struct report_out o;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.json", dir);
	f = fopen(path, "w");
	fputs("old", f);
	fclose(f);
	/* Aborted: the old file, nothing else. */
	assert_int_equal(report_out_open(&o, path), 0);
	fputs("new, half", o.f);
	report_out_abort(&o);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "old");
	assert_int_equal(entries(dir), 1);
	/* Committed: replaced whole. */
	assert_int_equal(report_out_open(&o, path), 0);
	fputs("new", o.f);
	assert_int_equal(report_out_commit(&o), 0);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "new");
	assert_int_equal(entries(dir), 1);
	/* Refused before anything is written. */
	snprintf(path, sizeof(path), "%s/missing/r.json", dir);
	assert_int_equal(report_out_open(&o, path), -ENOENT);
	assert_int_equal(report_out_open(&o, dir), -EISDIR);
	snprintf(path, sizeof(path), "%s/r.json", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_atomic),
	};

	lt_verbosity = -100;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
