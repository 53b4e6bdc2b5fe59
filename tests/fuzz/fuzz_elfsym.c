// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: a whole ELF file through the symbolizer's module reader
 * (section headers, .symtab/.dynsym, .gopclntab, build id, lookups). The
 * input is the file itself: seeds are small real binaries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sym/elfsym.h"
#include "sym/symbolize.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame fr[8];
	struct elfmod_info info;
	struct elfmod *m;
	void *buf;

	lt_verbosity = -100;
	if (!size)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* elfmod_open_mem owns buf from here, success or not. */
	if (!elfmod_open_mem(buf, size, &m)) {
		elfmod_get_info(m, &info);
		elfmod_go_version(m);
		for (uint64_t pc = 0; pc < 0x3000; pc += 0x101)
			elfmod_lookup(m, pc, fr, 8);
		elfmod_lookup(m, 0x401000, fr, 8);
		elfmod_call_before(m, 16);
		elfmod_free(m);
	}
	return 0;
}
