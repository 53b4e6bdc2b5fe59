// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: .eh_frame CFI as the unwinder reads it (libdw's parser
 * through elfmod_cfi, then the frame's CFA and return-address rules).
 * Input: the section's address (8 bytes LE; pc-relative encodings depend
 * on it), the first pc to look up (8 bytes), then the section's bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include "fuzz_elf.h"
#include "sym/elfsym.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfmod *m;
	size_t len;
	uint8_t *img;

	uint64_t addr, pc0;

	lt_verbosity = -100;
	if (size < 16)
		return 0;
	memcpy(&addr, data, 8);
	memcpy(&pc0, data + 8, 8);
	img = fuzz_elf_wrap(".eh_frame", SHT_PROGBITS, data + 16, size - 16, &len);
	if (!img)
		return 0;
	fuzz_elf_set_addr(img, addr);
	/* elfmod_open_mem owns img from here, success or not. */
	if (!elfmod_open_mem(img, len, &m)) {
		Dwarf_CFI *cfi = elfmod_cfi(m, true);

		for (uint64_t pc = pc0; cfi && pc - pc0 < 0x800; pc += 0x40) {
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
