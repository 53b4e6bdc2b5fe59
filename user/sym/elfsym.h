/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One ELF module (executable, shared library, vDSO) as the symbolizer sees
 * it: build id, PT_LOAD segments (for the load bias), symbols (.symtab else
 * .dynsym), DWARF lines and inlined frames (libdw), Go .gopclntab, and a
 * separate debug file found by build id or .gnu_debuglink. All addresses
 * here are link-time addresses. Parts other than the headers are loaded on
 * first use; every string handed out lives as long as the module.
 */
#ifndef LT_ELFSYM_H
#define LT_ELFSYM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sym/symbolize.h"

struct elfmod;

struct elfmod_info {
	uint16_t machine;	/* EM_* */
	bool non_pie;		/* ET_EXEC */
	bool has_symtab;	/* .symtab here or in the debug file */
	bool has_dynsym;
	bool has_dwarf;		/* DWARF here or in the debug file */
	bool is_go;		/* has a .gopclntab we could open */
	size_t nsyms;		/* FUNC symbols in use */
	const char *debug_path;	/* separate debug file used, or NULL */
};

/* Opens the ELF behind fd (always closed, the file stays mapped). 0,
 * -ENOEXEC when not ELF, or -errno. */
int elfmod_open_fd(int fd, struct elfmod **out);
/* Same for an image in memory (the vDSO); takes buf (free()d later). */
int elfmod_open_mem(void *buf, size_t len, struct elfmod **out);
void elfmod_free(struct elfmod *m);
/* GNU build id bytes (length 0 if none). */
size_t elfmod_build_id(const struct elfmod *m, const uint8_t **id);
/* Bias (runtime - link-time) for a mapping of this file at start with
 * file offset off, from the PT_LOAD that covers off. 0 or -ENOENT. */
int elfmod_bias(const struct elfmod *m, uint64_t start, uint64_t off,
		bool exec, uint64_t *bias);
/* Looks for a separate debug file when this one lacks .symtab or DWARF
 * (debuginfo.c): /usr/lib/debug/.build-id/xx/yyyy.debug, then
 * .gnu_debuglink next to path, in path's .debug/ and under /usr/lib/debug.
 * Each candidate is tried under root (the target's /proc/PID/root, may be
 * NULL) and on the host. 0 if one was attached, -ENOENT otherwise. */
int elfmod_find_debug(struct elfmod *m, const char *root, const char *path);
/* Then, once per module and only when DEBUGINFOD_URLS is set, asks
 * debuginfod by build id (network: called on the first lookup that needs
 * it, not while probes are being attached). 0 if a file was attached. */
int elfmod_fetch_debug(struct elfmod *m, const char *path);
/* Frames for link-time pc (already pc - 1 for return addresses),
 * innermost first; module and addr are left for the caller. Returns the
 * number written, 0 when nothing is known. */
int elfmod_lookup(struct elfmod *m, uint64_t pc, struct frame *out,
		  int max);
/* True if the instruction ending at file offset off is a call. */
bool elfmod_call_before(const struct elfmod *m, uint64_t off);
/* When the instruction ending at file offset off is a direct x86 call
 * (E8 rel32), its displacement: the target is the return address + rel. */
bool elfmod_direct_call(const struct elfmod *m, uint64_t off, int64_t *rel);
/* Call frame information for unwinding: eh selects .eh_frame, else
 * .debug_frame (here or in the debug file). Loaded on first use, owned by
 * the module; NULL when the module has none. */
struct Dwarf_CFI_s;
struct Dwarf_CFI_s *elfmod_cfi(struct elfmod *m, bool eh);
/* Go version from .go.buildinfo, or NULL. */
const char *elfmod_go_version(struct elfmod *m);
/* What a cut or inconsistent file loses, as one sentence in buf: 1 when
 * damaged, 0 when not. elfmod_warn_damage prints it as one warning. */
int elfmod_damage(struct elfmod *m, char *buf, size_t len);
void elfmod_warn_damage(struct elfmod *m, const char *path);
void elfmod_get_info(struct elfmod *m, struct elfmod_info *info);

/* code[0..len) are the bytes that end at an address: true if they end with
 * a call instruction (x86: e8 rel32, ff /2 with any ModRM form and an
 * optional REX/notrack prefix; arm64: BL, BLR). */
bool lt_is_call_before(uint16_t machine, const uint8_t *code, size_t len);

/* Small string-keyed hash map; keys are copied and never move. */
struct lt_strslot {
	char *key;
	void *val;
	uint64_t hash;
};

struct lt_strmap {
	struct lt_strslot *slots;
	size_t cap, len;
};

void *lt_strmap_get(const struct lt_strmap *m, const char *key);
/* Value slot for key, inserted (NULL value) if absent; *stored gets the
 * map's copy of key. NULL on ENOMEM. */
void **lt_strmap_slot(struct lt_strmap *m, const char *key,
		      const char **stored);
/* A stable copy of s, or NULL on ENOMEM. */
const char *lt_strmap_intern(struct lt_strmap *m, const char *s);
void lt_strmap_free(struct lt_strmap *m, void (*free_val)(void *));
#endif
