// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sym/perfmap.c: names of JIT code from a perf map ("START SIZE NAME"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "sym/elfsym.h"
#include "sym/perfmap.h"

static struct perfmap *load(const char *text, struct lt_strmap *strs)
{
	/* a pid that has no perf map: lookups use only what was parsed */
	struct perfmap *pm = perfmap_new(1);
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(pm);
	assert_non_null(f);
	assert_int_equal(perfmap_parse(pm, f, strs), 0);
	fclose(f);
	return pm;
}

static void test_lookup(void **state)
{
	struct lt_strmap strs = { 0 };
	struct perfmap *pm = load(
		"7f0b46fc5b80 688 JS:*leakyRetainer /tmp/leak.js:2:23\n"
		"354e0d91218e 3f JS:~leakyRetainer /tmp/leak.js:2:23\n"
		"1000 10 first\n"
		"1010 10 second\n", &strs);

	assert_string_equal(perfmap_find(pm, 0x7f0b46fc5b80, &strs),
			    "JS:*leakyRetainer /tmp/leak.js:2:23");
	assert_string_equal(perfmap_find(pm, 0x7f0b46fc5b80 + 0x687, &strs),
			    "JS:*leakyRetainer /tmp/leak.js:2:23");
	assert_null(perfmap_find(pm, 0x7f0b46fc5b80 + 0x688, &strs));	/* end */
	assert_string_equal(perfmap_find(pm, 0x354e0d9121a0, &strs),
			    "JS:~leakyRetainer /tmp/leak.js:2:23");
	assert_string_equal(perfmap_find(pm, 0x100f, &strs), "first");
	assert_string_equal(perfmap_find(pm, 0x1010, &strs), "second");
	assert_null(perfmap_find(pm, 0xfff, &strs));
	assert_null(perfmap_find(pm, 0x1020, &strs));
	perfmap_free(pm);
	lt_strmap_free(&strs, NULL);
}

/* Code moved or recompiled at the same place: the later line is newer. */
static void test_newest_wins(void **state)
{
	struct lt_strmap strs = { 0 };
	struct perfmap *pm = load(
		"2000 100 old_big\n"
		"2040 10 old_small\n"
		"2000 100 new_big\n", &strs);

	assert_string_equal(perfmap_find(pm, 0x2010, &strs), "new_big");
	assert_string_equal(perfmap_find(pm, 0x2045, &strs), "new_big");
	perfmap_free(pm);
	lt_strmap_free(&strs, NULL);
}

static void test_bad_lines(void **state)
{
	struct lt_strmap strs = { 0 };
	struct perfmap *pm = load(
		"garbage\n"
		"3000 0 empty_size\n"
		"ffffffffffffffff 10 wraps\n"
		"3000 10\n"
		"3000 10 ok name with spaces\n"
		"4000 10 no newline at the end", &strs);

	assert_string_equal(perfmap_find(pm, 0x3000, &strs),
			    "ok name with spaces");
	assert_null(perfmap_find(pm, 0x4000, &strs));
	assert_null(perfmap_find(pm, 0xffffffffffffffffULL, &strs));
	perfmap_free(pm);
	lt_strmap_free(&strs, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_newest_wins),
		cmocka_unit_test(test_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
