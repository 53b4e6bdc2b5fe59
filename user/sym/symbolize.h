/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sym/: addresses to frames (frame.h) for one process: ELF symbols, DWARF
 * lines, .gopclntab, demangling, and what well-known function names mean
 * (funcnames.h). */
/* Address -> function, file, line for one target process. Modules from
 * /proc/PID/maps; binaries opened through /proc/PID/map_files or
 * /proc/PID/root so targets in other mount namespaces work; PIE and non-PIE;
 * ELF .symtab/.dynsym, DWARF lines via libdw, Go via .gopclntab. Modules are
 * cached by build id (or dev:inode), so a process that exits can still be
 * symbolized with what was loaded before.
 */
#ifndef LT_SYMBOLIZE_H
#define LT_SYMBOLIZE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sym/frame.h"

struct symbolizer;

/* The module of a frame in anonymous executable memory (JIT code). */
#define SYM_JIT_MODULE "[jit]"

struct symbolizer *symbolizer_new(int pid);
/* quiet: the one-line hint per stripped module (what would name its
 * frames) goes to -v only and is counted (a node has dozens of stripped
 * libraries); the reports' symbols_missing keep it all the same. */
void symbolizer_hints_quiet(bool quiet);
/* Stripped modules whose hint was kept quiet. */
unsigned int symbolizer_hints_held(void);
/* Whether a frame in JIT code (SYM_JIT_MODULE) was ever resolved. */
bool symbolizer_has_jit(const struct symbolizer *s);
void symbolizer_free(struct symbolizer *s);
/* Re-reads /proc/PID/maps (new modules); keeps what it knew if the process
 * is gone. 0 or -errno. */
int symbolizer_refresh(struct symbolizer *s);
/* Frames for one address, innermost first (inlined ones first). is_return:
 * addr is a return address, look up addr - 1. Returns frames written, at
 * least 1 (an unknown frame has module/function NULL as known). Strings
 * live as long as the symbolizer.
 */
int symbolize(struct symbolizer *s, uint64_t addr, bool is_return,
	      struct frame *out, int max);
/* True if addr is in an executable mapping and the instruction that ends
 * just before it is a call (so addr is a plausible return address). */
bool symbolizer_is_return_addr(struct symbolizer *s, uint64_t addr);
/* When the call that returns to ret is a direct call, its target (a
 * runtime address). False for indirect calls and unknown code. */
bool symbolizer_call_target(struct symbolizer *s, uint64_t ret,
			    uint64_t *target);
/* Go version of the main executable ("go1.22.12") or NULL. */
const char *symbolizer_go_version(struct symbolizer *s);
/* Link-time -> runtime address bias of the module containing addr. */
int symbolizer_bias(struct symbolizer *s, uint64_t addr, uint64_t *bias);
/* The ELF module (elfsym.h) mapped at runtime addr and its bias, for
 * reading its CFI. 0, or -ENOENT when no module we could open is there. */
struct elfmod;
int symbolizer_module(struct symbolizer *s, uint64_t addr,
		      struct elfmod **mod, uint64_t *bias);

/* Module cache shared by symbolizers: an ELF file (same build id, or same
 * dev:inode:size:mtime when it has none) is parsed once for every process
 * and load. symbolizer_new() shares one process-wide cache that lives while
 * any symbolizer uses it; symbolizer_new_cache() uses the caller's, which
 * then holds a reference until symbolizer_free(). Not thread-safe. */
struct symcache;
struct symcache *symcache_new(void);
/* Drops the caller's reference; freed with the last symbolizer using it. */
void symcache_put(struct symcache *c);
struct symbolizer *symbolizer_new_cache(int pid, struct symcache *c);

/* Modules whose frames had no name because the module has no symbols,
 * each with the one-line hint said for it (build id, debug file, package,
 * debuginfod), in the order met. Strings live as long as the symbolizer.
 * Returns the count; *out may be NULL when it is 0. */
struct sym_missing {
	const char *module;
	const char *build_id;	/* hex or NULL */
	const char *hint;
};
size_t symbolizer_missing(const struct symbolizer *s,
			  const struct sym_missing **out);

struct symbolizer_stats {
	size_t mappings;	/* file mappings known (kept after exit) */
	size_t modules;		/* ELF modules in the shared cache */
	uint64_t module_loads;	/* cache-wide: modules parsed */
	uint64_t module_reuses;	/* cache-wide: opened, found cached */
	uint64_t lookups;	/* symbolize() calls */
	uint64_t hits;		/* ... answered from the address cache */
	uint64_t refreshes;	/* /proc/PID/maps reads */
	uint64_t ns;		/* spent reading maps, loading modules (and
				 * their debug files) and resolving */
	bool gone;		/* target exited (what we knew is kept) */
};
void symbolizer_get_stats(const struct symbolizer *s,
			  struct symbolizer_stats *st);
#endif
