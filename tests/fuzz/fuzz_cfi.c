// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: .eh_frame CFI as the unwinder reads it (libdw's parser
 * through elfmod_cfi, then the frame's CFA and return-address rules). */
#include <stdint.h>
#include <stdlib.h>
#include <elfutils/libdw.h>
#include "fuzz_elf.h"
#include "sym/elfsym.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfmod *m;
	size_t len;
	uint8_t *img;

	lt_verbosity = -100;
	img = fuzz_elf_wrap(".eh_frame", SHT_PROGBITS, data, size, &len);
	if (!img)
		return 0;
	/* elfmod_open_mem owns img from here, success or not. */
	if (!elfmod_open_mem(img, len, &m)) {
		Dwarf_CFI *cfi = elfmod_cfi(m, true);

		for (uint64_t pc = FUZZ_VADDR; cfi && pc < FUZZ_VADDR + 0x400; pc += 0x20) {
			Dwarf_Frame *fr = NULL;
			Dwarf_Op *ops, dummy[3];
			size_t nops;
			bool sig;

			if (dwarf_cfi_addrframe(cfi, pc, &fr))
				continue;
			dwarf_frame_cfa(fr, &ops, &nops);
			dwarf_frame_register(fr, 16, dummy, &ops, &nops);
			dwarf_frame_register(fr, 6, dummy, &ops, &nops);
			dwarf_frame_info(fr, NULL, NULL, &sig);
			free(fr);
		}
		elfmod_free(m);
	}
	return 0;
}
