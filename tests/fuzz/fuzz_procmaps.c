// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: the /proc/PID/maps parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct map_entry *m = NULL;
	char *text = malloc(size + 1);
	size_t n = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!procmaps_parse(text, &m, &n)) {
		/* Every lookup over what was parsed must stay in bounds. */
		for (size_t i = 0; i < n; i++)
			procmaps_find(m, n, m[i].start);
		procmaps_find(m, n, 0);
		procmaps_find(m, n, UINT64_MAX);
		procmaps_free(m, n);
	}
	free(text);
	return 0;
}
