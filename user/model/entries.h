/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One entry per culprit: the sites users should read as one answer.
 *
 * Merge rules (tests/unit/test_entries.c):
 *   - memory sites (mmap, brk, fault, heap, malloc) whose culprit frame
 *     (model/culprit.h) has the same function, and whose application
 *     callers have the same functions, are one entry, whatever the lines
 *     or the plumbing frames inside (which store in memcpy faulted) or
 *     between them (cgo glue); its mapped (mmap + brk), resident (fault)
 *     and heap (heap + malloc) views are columns; an entry whose stack
 *     ended early joins the one complete entry it agrees with as far as it
 *     goes (cgo's C stack cut at runtime.asmcgocall), when only one does;
 *   - goroutine sites whose go statements are in one function are one
 *     entry, those alive before attach (go statement only) included: the
 *     go statements of a function that starts a group of goroutines
 *     (reader, writer, keepalive) are one culprit;
 *   - thread sites like memory sites, by culprit and callers;
 *   - sites without a stack are one entry per kind;
 *   - memory sites with no application frame at all (Go runtime, libc,
 *     allocator) are symptoms: one entry, shown as the consequence of the
 *     cause entry -- the top-ranked entry with a heap column when the heap
 *     kind traced anything (heap sites are what drives the runtime's fault
 *     and mmap growth), else the top-ranked application memory entry that
 *     leaks or grows now; cause is -1 when there is none.
 */
#ifndef LT_ENTRIES_H
#define LT_ENTRIES_H
#include "model/model.h"

enum entry_class { ENTRY_MEMORY, ENTRY_GOROUTINE, ENTRY_THREAD };
enum entry_col { COL_MAPPED, COL_RESIDENT, COL_HEAP, COL_MAX };

struct entry_column {
	int nsites;
	int64_t bytes;		/* outstanding now */
	double slope_per_min;	/* whole window, summed over its sites */
	double recent_per_min;	/* now, summed */
};

struct entry {
	enum entry_class cls;
	struct site **sites;	/* members, most suspect first */
	size_t nsites;
	struct site *lead;	/* sites[0] */
	int culprit;		/* frame index in lead, -1: symptom / no stack */
	bool symptom;		/* runtime/allocator growth, no app frame */
	int cause;		/* symptoms: index of the driving entry, or -1 */
	enum verdict verdict;	/* the strongest of its sites */
	double score;		/* the highest of its sites */
	double grew_until_s;	/* verdict STOPPED: the latest change point of
				 * its stopped sites; else NAN */
	struct entry_column col[COL_MAX];	/* memory */
	/* goroutines and threads */
	int64_t live, before_attach, since;
	uint64_t created, waiting;
	int64_t running, runnable;	/* -1 unknown */
	double rate_per_min;	/* goroutines/threads: whole window, summed */
	double recent_per_min;
};

/* Groups m->ranked into m->entries, most suspect first (needs the sites
 * ranked). Returns 0 or -ENOMEM (then m->nentries is 0). */
int entries_build(struct model *m);
void entries_free(struct model *m);
/* Column of a memory kind. */
enum entry_col entry_col_of(enum site_kind kind);
const char *entry_col_name(enum entry_col c);	/* "mapped", ... */
#endif
