/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LT_PROCMAPS_H
#define LT_PROCMAPS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line of /proc/PID/maps. */
struct map_entry {
	uint64_t start, end;	/* [start, end) */
	uint64_t offset;	/* file offset of start */
	uint64_t inode;
	unsigned int dev_major, dev_minor;
	bool r, w, x, p;	/* perms */
	char *path;		/* pathname column, "" if none; owned */
};

/* Parses /proc/PID/maps. Returns 0 and a malloc'd array, or -errno. */
int procmaps_read(int pid, struct map_entry **out, size_t *n);
/* Parses maps text (for tests and for files already read). */
int procmaps_parse(const char *text, struct map_entry **out, size_t *n);
void procmaps_free(struct map_entry *m, size_t n);
/* Entry containing addr, or NULL (binary search; entries are sorted). */
const struct map_entry *procmaps_find(const struct map_entry *m, size_t n,
				      uint64_t addr);
#endif
