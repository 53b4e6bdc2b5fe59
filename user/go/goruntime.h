/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* go/: the Go runtime read from outside: the binary (.gopclntab,
 * .go.buildinfo), struct offsets and wait reasons per version, live reads of
 * every goroutine (goallgs.h), where to probe (goprobes.h). */
/* What leaktrace knows about a Go binary's runtime (amd64, Go 1.17+):
 * struct offsets (DWARF, else per-version tables), wait reason names
 * (runtime.waitReasonStrings, else per-version tables), and where
 * runtime.allgs lives. Probe planning is in goprobes.h, reading the
 * goroutines of a live process in goallgs.h.
 */
#ifndef LT_GORUNTIME_H
#define LT_GORUNTIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct gopcln;

/* Goroutine status codes (runtime2.go), stable since Go 1.0. */
enum go_gstatus {
	GO_G_IDLE = 0,
	GO_G_RUNNABLE = 1,
	GO_G_RUNNING = 2,
	GO_G_SYSCALL = 3,
	GO_G_WAITING = 4,
	GO_G_DEAD = 6,
	GO_G_COPYSTACK = 8,
	GO_G_PREEMPTED = 9,
	GO_G_LEAKED = 10,	/* Go 1.26+: leaked goroutine found by the GC */
	GO_G_DEADEXTRA = 11,	/* Go 1.26+: dead g kept for a cgo extra M */
	GO_G_SCAN = 0x1000,	/* bit or'ed into the above during GC scans */
};

/* Byte offsets into runtime.g (and runtime.m), amd64. */
struct go_offsets {
	int stack_lo, stack_hi;	/* g.stack.lo / g.stack.hi */
	int atomicstatus, goid, waitsince, waitreason;
	int parent_goid;	/* -1 if none (Go < 1.21) */
	int gopc, startpc;
	int sched_sp, sched_pc, sched_bp;	/* g.sched + gobuf.{sp,pc,bp} */
	int m;			/* g.m */
	int m_procid;		/* m.procid: the OS thread id */
	int m_curg;		/* m.curg: the user g the m runs */
	int g_size;		/* bytes of g to read to cover all of the above */
	int version_minor;	/* 22 for go1.22.x; 0 if unknown */
	bool from_dwarf;
};

/* A Go binary opened for runtime knowledge. Fields are read-only for users. */
struct go_runtime {
	char path[4096];
	char version[160];	/* "go1.22.12", "" if unknown */
	int version_minor;	/* 0 if unknown */
	bool pie;		/* ET_DYN: add the load bias to link-time addresses */
	bool has_symtab, has_dwarf;
	struct go_offsets off;
	/* Wait reason names indexed by code; from the binary or a table. */
	const char *const *wait_reasons;
	int n_wait_reasons;
	bool wait_reasons_from_binary;
	/* Link-time address of the runtime.allgs slice header, 0 if unknown;
	 * allgs_how says how it was found ("symtab", "forEachG", ...). */
	uint64_t allgs_addr;
	const char *allgs_how;
	uint64_t entry;		/* ELF e_entry (to compute the load bias) */
	int fd;
	Elf *elf;
	void *image;		/* the file mapped shared, for code reads */
	size_t image_len;
	struct go_runtime *image_next;
	struct gopcln *pcln;	/* NULL if .gopclntab could not be opened */
	char **owned_strs;	/* wait reason strings read from the binary */
};

/* Opens a Go executable. Fills offsets, wait reasons and allgs location.
 * Returns 0; -ENOENT if not a Go binary; -ENOTSUP if the Go version is
 * unknown to the tables and the binary has no DWARF (err says which
 * version); another -errno otherwise. On error *out is NULL and err (if
 * not NULL) holds a message for the user.
 */
int go_runtime_open(const char *path, struct go_runtime **out, char *err,
		    size_t errlen);
void go_runtime_close(struct go_runtime *rt);
/* go_runtime_open through a cache of the executables already open (by
 * device, inode, size and time): the goroutine and heap readers of one
 * process, and every process of one binary, share one copy (read-only
 * after open). Each get is paired with a go_runtime_put. */
int go_runtime_get(const char *path, struct go_runtime **out, char *err,
		   size_t errlen);
void go_runtime_put(struct go_runtime *rt);
/* A path to rt's file that stays valid while rt is open, whatever
 * happens to the process it was opened through: "/proc/self/fd/N". */
const char *go_runtime_file(const struct go_runtime *rt, char *buf,
			    size_t len);

/* "go1.22.12" / "go1.21rc2" / "devel go1.23-abc" -> 22; -EINVAL if not
 * a go1.N version. */
int go_version_minor(const char *version);

/* Offsets from DWARF (runtime.g, runtime.gobuf, runtime.m). 0, -ENOENT
 * (no DWARF or types missing) or -errno. version_minor is left 0. */
int go_offsets_from_dwarf(Elf *elf, struct go_offsets *o);
/* Offsets from the embedded amd64 tables, Go 1.17 .. 1.27. 0 or -ENOTSUP. */
int go_offsets_from_table(int version_minor, struct go_offsets *o);
/* Oldest and newest Go minor versions the tables know. */
#define GO_TABLES_MIN_MINOR 17
#define GO_TABLES_MAX_MINOR 27

/* Wait reason table for a Go minor version: names indexed by code.
 * Returns the count, or -ENOTSUP. */
int go_wait_reason_table(int version_minor, const char *const **names);
/* Reads runtime.waitReasonStrings from the binary (needs .symtab).
 * Returns the count and a malloc'd array of malloc'd strings (free with
 * go_strv_free), -ENOENT when the symbol is absent, or -errno. */
int go_wait_reasons_from_binary(Elf *elf, char ***names);
void go_strv_free(char **v, int n);
/* Name of a wait reason code; NULL if out of range. */
const char *go_wait_reason_name(const struct go_runtime *rt,
				unsigned int code);
/* Name of a status ("waiting", "runnable", ...), _Gscan bit ignored. */
const char *go_status_name(uint32_t status);

/* ELF helpers shared by goprobes.c / goallgs.c. */
/* Link-time vaddr -> file offset through PT_LOAD. 0 or -ENOENT. */
int go_elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off);
/* Pointer into the file image for [vaddr, vaddr+len) when the bytes are
 * in the file (not .bss). NULL otherwise. */
const uint8_t *go_elf_bytes_at(Elf *elf, uint64_t vaddr, size_t len);
/* .symtab lookup by exact name. 0 (value, size set) or -ENOENT. */
int go_elf_symbol(Elf *elf, const char *name, uint64_t *value,
		  uint64_t *size);
#endif
