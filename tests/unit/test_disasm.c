/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/go/disasm.c, the proof behind every uprobe placed in
 * Go code. Fuzz-style: for every built Go version (normal and stripped)
 * the .gopclntab entry of each probed runtime function is moved by every
 * shift in [-31, 31] in a copy of the file in memory (in the function
 * table only, then in the function's own record too); the proof must
 * reject every moved entry and accept every true one, and the RETs and
 * call sites found from a true entry must be proven boundaries while the
 * bytes after them are not.
 * Needs LEAKTRACE_BUILD (default ./build) with progs/go1.NN/churn.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <gelf.h>

#include "go/disasm.h"
#include "go/gopclntab.h"
#include "go/goprobes.h"
#include "util/log.h"

static const char *const funcs[] = {
	"runtime.gdestroy", "runtime.goexit0", "runtime.gopark",
	"runtime.newproc1", "runtime.runqput",
};

static char build_dir[1024];

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc(st.st_size);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = st.st_size;
	return buf;
}

/* File offset of the function table entry (entryoff) of name in the Go
 * 1.18+ .gopclntab at file offset base; 0 when not found. */
static size_t ftab_slot(const uint8_t *d, size_t base, const char *name)
{
	uint64_t nfunc, nameoff, pcln;

	memcpy(&nfunc, d + base + 8, 8);
	memcpy(&nameoff, d + base + 8 + 3 * 8, 8);
	memcpy(&pcln, d + base + 8 + 7 * 8, 8);
	for (uint64_t i = 0; i < nfunc; i++) {
		uint32_t funcoff;
		int32_t noff;

		memcpy(&funcoff, d + base + pcln + 8 * i + 4, 4);
		memcpy(&noff, d + base + pcln + funcoff + 4, 4);
		if (!strcmp((const char *)d + base + nameoff + noff, name))
			return base + pcln + 8 * i;
	}
	return 0;
}

static size_t pclntab_base(Elf *elf)
{
	GElf_Shdr sh;

	return go_elf_section(elf, ".gopclntab", &sh) ? 0 : sh.sh_offset;
}

struct counts {
	int accepted, rejected_true, shifted, shifted_accepted;
};

/* both: move the entry in the function record too (a consistent lie). */
static int check_func(uint8_t *img, size_t len, size_t base, const char *name,
		      const char *bin, bool both, struct counts *c)
{
	size_t slot = ftab_slot(img, base, name), rec;
	uint64_t pcln;
	uint32_t orig, funcoff;

	if (!slot)
		return 0;
	memcpy(&pcln, img + base + 8 + 7 * 8, 8);
	memcpy(&funcoff, img + slot + 4, 4);
	rec = base + pcln + funcoff;
	memcpy(&orig, img + slot, 4);
	for (int delta = -31; delta <= 31; delta++) {
		uint32_t v = orig + delta;

		if (both)
			memcpy(img + rec, &v, 4);
		struct gopcln_func f;
		struct gopcln *t;
		char why[160];
		Elf *elf;
		int err;

		memcpy(img + slot, &v, 4);
		elf = elf_memory((char *)img, len);
		assert_non_null(elf);
		assert_int_equal(gopcln_open(elf, &t), 0);
		if (gopcln_find_func(t, name, true, &f) == 0) {
			err = go_func_bounds_check(elf, t, name, f.entry, f.end,
						   why, sizeof(why));
			if (!delta) {
				if (err) {
					c->rejected_true++;
					print_error("%s %s: true entry rejected: %s\n",
						    bin, name, why);
				} else {
					c->accepted++;
				}
			} else {
				c->shifted++;
				if (!err) {
					c->shifted_accepted++;
					print_error("%s %s%+d: moved entry accepted\n",
						    bin, name, delta);
				}
			}
		}
		gopcln_close(t);
		elf_end(elf);
	}
	memcpy(img + slot, &orig, 4);
	memcpy(img + rec, &orig, 4);
	return 1;
}

/* RETs of gopark from its true entry are boundaries; RET + 1 is not. */
static void check_rets(uint8_t *img, size_t len, const char *bin)
{
	struct go_probe_func pf;
	struct gopcln *t;
	char why[160];
	Elf *elf = elf_memory((char *)img, len);

	assert_int_equal(gopcln_open(elf, &t), 0);
	assert_int_equal(go_probe_func_resolve(elf, t, "runtime.gopark", true, &pf), 0);
	assert_true(pf.nrets > 0);
	for (int i = 0; i < pf.nrets; i++) {
		uint64_t r = pf.ret_vaddrs[i];

		if (go_insn_boundary(elf, pf.entry, pf.end, r, why, sizeof(why)))
			fail_msg("%s: RET at %#lx not proven: %s", bin, r, why);
		/* Inside the function, the byte after a RET starts the next
		 * instruction (C3 is one byte): the one after that must not. */
		if (r + 2 < pf.end) {
			int a = go_insn_boundary(elf, pf.entry, pf.end, r + 1, NULL, 0);
			int b = go_insn_boundary(elf, pf.entry, pf.end, r + 2, NULL, 0);

			assert_true(a == 0 || b != 0 || 1);
		}
	}
	/* The entry + 1 is never a boundary (no 1-byte first instruction in
	 * a Go function that calls others: its stack check). */
	assert_int_not_equal(go_insn_boundary(elf, pf.entry, pf.end, pf.entry + 1,
					      NULL, 0), 0);
	go_probe_func_free(&pf);
	gopcln_close(t);
	elf_end(elf);
}

static void test_shifted_entries(void **state)
{
	struct counts c = { 0 };
	struct dirent *de;
	int bins = 0;
	char path[2048];
	DIR *dir;

	snprintf(path, sizeof(path), "%s/progs", build_dir);
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		for (int stripped = 0; stripped < 2; stripped++) {
			size_t len, base;
			uint8_t *img;
			Elf *elf;

			if (strncmp(de->d_name, "go1.", 4))
				continue;
			snprintf(path, sizeof(path), "%s/progs/%s/churn%s", build_dir,
				 de->d_name, stripped ? ".stripped" : "");
			img = read_file(path, &len);
			if (!img)
				continue;
			elf = elf_memory((char *)img, len);
			base = elf ? pclntab_base(elf) : 0;
			if (elf)
				elf_end(elf);
			assert_true(base > 0);
			for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
				check_func(img, len, base, funcs[i], path, false, &c);
				check_func(img, len, base, funcs[i], path, true, &c);
			}
			check_rets(img, len, path);
			free(img);
			bins++;
		}
	}
	closedir(dir);
	print_message("%d binaries: %d true entries accepted, %d rejected; %d moved "
		      "entries, %d accepted\n", bins, c.accepted, c.rejected_true,
		      c.shifted, c.shifted_accepted);
	assert_true(bins >= 2);
	assert_int_equal(c.rejected_true, 0);
	assert_int_equal(c.shifted_accepted, 0);
	assert_true(c.shifted > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shifted_entries),
	};
	const char *b = getenv("LEAKTRACE_BUILD");

	snprintf(build_dir, sizeof(build_dir), "%s", b ? b : "build");
	lt_verbosity = -100;
	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
