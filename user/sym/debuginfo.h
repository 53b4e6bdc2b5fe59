/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Separate debug files (debuginfo.c): where they are looked for is in
 * elfsym.h (elfmod_find_debug); this header has the rest: debuginfod's
 * counters, the hint said when a module has no symbols, and the
 * .gnu_debuglink checksum. */
#ifndef LT_DEBUGINFO_H
#define LT_DEBUGINFO_H
#include <stddef.h>
#include <stdint.h>

struct elfmod;

struct debuginfo_stats {
	uint64_t queries;	/* debuginfod queries made */
	uint64_t found;		/* ... that returned a file */
	uint64_t ns;		/* time spent in them */
};
void debuginfo_get_stats(struct debuginfo_stats *st);

/* For a module with neither .symtab nor DWARF (after elfmod_find_debug):
 * one sentence in buf naming its build id, the debug file path that would
 * supply symbols, the package (when dpkg knows the file and the target
 * sees the host's file; root is the target's /proc/PID/root or NULL) and
 * debuginfod. 1 when written, 0 when the module has symbols or its hint
 * was given already (once per module). */
int elfmod_symbols_hint(struct elfmod *m, const char *root, const char *path,
			char *buf, size_t len);

/* The CRC32 .gnu_debuglink records for a debug file's bytes. */
uint32_t lt_debuglink_crc(const void *buf, size_t size);
#endif
