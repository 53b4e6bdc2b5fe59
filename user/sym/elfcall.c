// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Call instructions before return addresses (x86, arm64), read from the
 * module's file image. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <gelf.h>
#include "sym/elfsym.h"
#include "sym/elfsym_int.h"

/* ---- return addresses ---- */

/* ff /2 (call near indirect) of exactly n bytes at p, with an optional
 * notrack (3e) and REX prefix. */
static bool x86_ff2(const uint8_t *p, size_t n)
{
	size_t i = 0, len;
	uint8_t modrm, mod, rm;

	if (i < n && p[i] == 0x3e)
		i++;
	if (i < n && (p[i] & 0xf0) == 0x40)
		i++;
	if (i + 2 > n || p[i] != 0xff)
		return false;
	modrm = p[i + 1];
	if (((modrm >> 3) & 7) != 2)
		return false;
	mod = modrm >> 6;
	rm = modrm & 7;
	len = i + 2;
	if (mod != 3 && rm == 4) {	/* SIB byte */
		if (len >= n)
			return false;
		if (mod == 0 && (p[len] & 7) == 5)
			len += 4;	/* no base: disp32 */
		len++;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		len += 4;	/* disp32 or rip-relative */
	return len == n;
}

bool lt_is_call_before(uint16_t machine, const uint8_t *code, size_t len)
{
	size_t k;

	switch (machine) {
	case EM_X86_64:
	case EM_386:
		if (len >= 5 && code[len - 5] == 0xe8)
			return true;
		for (k = 2; k <= 9 && k <= len; k++)
			if (x86_ff2(code + len - k, k))
				return true;
		return false;
	case EM_AARCH64: {
		uint32_t insn;

		if (len < 4)
			return false;
		code += len - 4;
		insn = code[0] | code[1] << 8 | code[2] << 16 |
		       (uint32_t)code[3] << 24;
		return (insn & 0xfc000000) == 0x94000000 ||	/* BL */
		       (insn & 0xfffffc1f) == 0xd63f0000;	/* BLR */
	}
	default:
		return false;
	}
}

/* The file's bytes: the shared map when there is one (see elfmod.code). */
static const uint8_t *code_bytes(const struct elfmod *m, size_t *size)
{
	if (m->code) {
		*size = m->code_len;
		return m->code;
	}
	return (const uint8_t *)elf_rawfile(m->elf, size);
}

bool elfmod_call_before(const struct elfmod *m, uint64_t off)
{
	size_t size, n;
	const uint8_t *raw = code_bytes(m, &size);

	if (!raw || off > size)
		return false;
	n = off < 9 ? off : 9;
	return lt_is_call_before(m->machine, raw + off - n, n);
}

bool elfmod_direct_call(const struct elfmod *m, uint64_t off, int64_t *rel)
{
	size_t size;
	const uint8_t *raw = code_bytes(m, &size);
	int32_t d;

	if (!raw || off > size || off < 5 ||
	    (m->machine != EM_X86_64 && m->machine != EM_386) ||
	    raw[off - 5] != 0xe8)
		return false;
	memcpy(&d, raw + off - 4, sizeof(d));
	*rel = d;
	return true;
}
