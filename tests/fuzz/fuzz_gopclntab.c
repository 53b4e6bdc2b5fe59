// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: the .gopclntab reader (header, function table, names, pc
 * tables) and the probe-placement proof over what it finds. */
#include <stdint.h>
#include <stdlib.h>
#include <gelf.h>
#include "fuzz_elf.h"
#include "go/disasm.h"
#include "go/gopclntab.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gopcln_frame fr[8];
	struct gopcln_func f;
	struct gopcln *t;
	size_t len, nf;
	uint8_t *img;
	Elf *elf;

	lt_verbosity = -100;
	elf_version(EV_CURRENT);
	img = fuzz_elf_wrap(".gopclntab", SHT_PROGBITS, data, size, &len);
	if (!img)
		return 0;
	elf = elf_memory((char *)img, len);
	if (elf && !gopcln_open(elf, &t)) {
		nf = gopcln_func_count(t);
		for (size_t i = 0; i < nf && i < 64; i++) {
			if (gopcln_func_at(t, i, &f))
				continue;
			gopcln_lookup(t, f.entry, fr, 8);
			gopcln_lookup(t, f.entry + 1, fr, 8);
			gopcln_func_for_pc(t, f.end ? f.end - 1 : 0, &f);
			if (i < 4)	/* capstone is slow to open: a few */
				go_func_bounds_check(elf, t, f.name, f.entry,
						     f.end, NULL, 0);
		}
		gopcln_find_func(t, "runtime.gopark", true, &f);
		gopcln_lookup(t, FUZZ_VADDR, fr, 8);
		gopcln_close(t);
	}
	if (elf)
		elf_end(elf);
	free(img);
	return 0;
}
