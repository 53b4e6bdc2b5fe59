// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: the .go.buildinfo reader (Go version). */
#include <stdint.h>
#include <stdlib.h>
#include <gelf.h>
#include "fuzz_elf.h"
#include "go/gopclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ver[32];
	size_t len;
	uint8_t *img;
	Elf *elf;

	elf_version(EV_CURRENT);
	img = fuzz_elf_wrap(".go.buildinfo", SHT_PROGBITS, data, size, &len);
	if (!img)
		return 0;
	elf = elf_memory((char *)img, len);
	if (elf) {
		go_buildinfo_version(elf, ver, sizeof(ver));
		go_buildinfo_version(elf, ver, 4);	/* -ENOSPC path */
		elf_end(elf);
	}
	free(img);
	return 0;
}
