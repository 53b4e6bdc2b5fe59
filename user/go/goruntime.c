/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Opening a Go binary for runtime knowledge, and the ELF helpers the Go
 * runtime code shares (vaddr -> file offset, bytes at a vaddr, .symtab).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "go/gopclntab.h"
#include "go/goallgs.h"
#include "go/goruntime.h"

int go_version_minor(const char *v)
{
	const char *p = v ? strstr(v, "go1.") : NULL;
	long minor;
	char *end;

	if (!p)
		return -EINVAL;
	p += 4;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	minor = strtol(p, &end, 10);
	if (errno || end == p || minor > 1000)
		return -EINVAL;
	return (int)minor;
}

int go_elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n) != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = ph.p_offset + (vaddr - ph.p_vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

/* Code is read from a shared mapping of the file, not from libelf's
 * private one: the kernel writes a uprobe's breakpoint into every private,
 * executable-capable mapping of the file whose process the probe's filter
 * accepts (another tool's system-wide probe, or a probe of ours on every
 * process of an executable), and the disassembly that proves where a probe
 * may go would read int3s for code. A shared mapping never gets one.
 * Runtimes register their Elf here; any other Elf is read as libelf maps. */
static struct go_runtime *code_images;

static void code_image_add(struct go_runtime *rt)
{
	struct stat st;
	void *p;

	if (fstat(rt->fd, &st) || st.st_size <= 0)
		return;
	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, rt->fd, 0);
	if (p == MAP_FAILED)
		return;
	rt->image = p;
	rt->image_len = st.st_size;
	rt->image_next = code_images;
	code_images = rt;
}

static void code_image_del(struct go_runtime *rt)
{
	struct go_runtime **pp = &code_images;

	if (!rt->image)
		return;
	while (*pp && *pp != rt)
		pp = &(*pp)->image_next;
	if (*pp)
		*pp = rt->image_next;
	munmap(rt->image, rt->image_len);
	rt->image = NULL;
}

const uint8_t *go_elf_bytes_at(Elf *elf, uint64_t vaddr, size_t len)
{
	size_t n, fsize;
	const char *raw = elf_rawfile(elf, &fsize);

	for (struct go_runtime *rt = code_images; rt; rt = rt->image_next)
		if (rt->elf == elf && rt->image_len == fsize) {
			raw = rt->image;
			break;
		}
	if (!raw || elf_getphdrnum(elf, &n) != 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		if (len > ph.p_filesz - (vaddr - ph.p_vaddr))
			return NULL;
		if (ph.p_offset + (vaddr - ph.p_vaddr) + len > fsize)
			return NULL;
		return (const uint8_t *)raw + ph.p_offset + (vaddr - ph.p_vaddr);
	}
	return NULL;
}

int go_elf_symbol(Elf *elf, const char *name, uint64_t *value,
		  uint64_t *size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, i, &sym))
				continue;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!s || strcmp(s, name) != 0)
				continue;
			*value = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

static bool elf_has_section(Elf *elf, uint32_t type, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *s;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (type && sh.sh_type == type)
			return true;
		s = name ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (s && strcmp(s, name) == 0)
			return true;
	}
	return false;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int load_offsets(struct go_runtime *rt, char *err, size_t errlen)
{
	int ret = -ENOENT;

	if (rt->has_dwarf)
		ret = go_offsets_from_dwarf(rt->elf, &rt->off);
	if (ret == 0) {
		rt->off.version_minor = rt->version_minor;
		return 0;
	}
	if (rt->version_minor > 0 &&
	    go_offsets_from_table(rt->version_minor, &rt->off) == 0)
		return 0;
	set_err(err, errlen,
		"%s: Go version %s is not in leaktrace's offset tables "
		"(go1.%d .. go1.%d) and the binary has no usable DWARF "
		"(built with -ldflags=-w?): goroutine tracking is unsupported "
		"for it; rebuild it without -w or update leaktrace",
		rt->path, rt->version[0] ? rt->version : "(unknown)",
		GO_TABLES_MIN_MINOR, GO_TABLES_MAX_MINOR);
	return -ENOTSUP;
}

static void load_wait_reasons(struct go_runtime *rt)
{
	const char *const *tab;
	char **names;
	int n = -ENOENT;

	if (rt->has_symtab)
		n = go_wait_reasons_from_binary(rt->elf, &names);
	if (n > 0) {
		rt->owned_strs = names;
		rt->wait_reasons = (const char *const *)names;
		rt->n_wait_reasons = n;
		rt->wait_reasons_from_binary = true;
		return;
	}
	n = go_wait_reason_table(rt->version_minor, &tab);
	if (n > 0) {
		rt->wait_reasons = tab;
		rt->n_wait_reasons = n;
	}
}

int go_runtime_open(const char *path, struct go_runtime **out, char *err,
		    size_t errlen)
{
	struct go_runtime *rt;
	GElf_Ehdr eh;
	int ret;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	snprintf(rt->path, sizeof(rt->path), "%s", path);
	rt->fd = -1;
	rt->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (rt->fd < 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	rt->elf = elf_begin(rt->fd, ELF_C_READ_MMAP, NULL);
	if (!rt->elf || !gelf_getehdr(rt->elf, &eh)) {
		ret = -ENOENT;
		set_err(err, errlen, "%s: not an ELF file", path);
		goto fail;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		ret = -ENOTSUP;
		set_err(err, errlen, "%s: Go runtime support is amd64 only",
			path);
		goto fail;
	}
	rt->pie = eh.e_type == ET_DYN;
	rt->entry = eh.e_entry;
	code_image_add(rt);
	if (go_buildinfo_version(rt->elf, rt->version,
				 sizeof(rt->version)) != 0)
		rt->version[0] = '\0';
	ret = gopcln_open(rt->elf, &rt->pcln);
	if (ret) {
		rt->pcln = NULL;
		if (!rt->version[0]) {
			ret = -ENOENT;
			set_err(err, errlen, "%s: not a Go binary", path);
			goto fail;
		}
	}
	ret = go_version_minor(rt->version);
	rt->version_minor = ret > 0 ? ret : 0;
	rt->has_symtab = elf_has_section(rt->elf, SHT_SYMTAB, NULL);
	rt->has_dwarf = elf_has_section(rt->elf, 0, ".debug_info") ||
			elf_has_section(rt->elf, 0, ".zdebug_info");

	ret = load_offsets(rt, err, errlen);
	if (ret)
		goto fail;
	load_wait_reasons(rt);
	if (go_allgs_locate(rt->elf, rt->pcln, &rt->allgs_addr,
			    &rt->allgs_how) != 0) {
		rt->allgs_addr = 0;
		rt->allgs_how = NULL;
	}
	*out = rt;
	return 0;
fail:
	go_runtime_close(rt);
	return ret;
}

void go_runtime_close(struct go_runtime *rt)
{
	if (!rt)
		return;
	if (rt->pcln)
		gopcln_close(rt->pcln);
	code_image_del(rt);
	if (rt->elf)
		elf_end(rt->elf);
	if (rt->fd >= 0)
		close(rt->fd);
	go_strv_free(rt->owned_strs, rt->n_wait_reasons);
	free(rt);
}

/* Executables open for every target of the run (one list: a node has a
 * few dozen distinct Go binaries at most). */
struct rt_shared {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct go_runtime *rt;
	int refs;
	struct rt_shared *next;
};
static struct rt_shared *shared;

int go_runtime_get(const char *path, struct go_runtime **out, char *err,
		   size_t errlen)
{
	struct rt_shared *e;
	struct stat st;
	int ret;

	if (stat(path, &st))
		return go_runtime_open(path, out, err, errlen);
	for (e = shared; e; e = e->next) {
		if (e->dev == st.st_dev && e->ino == st.st_ino &&
		    e->size == st.st_size &&
		    e->mtime.tv_sec == st.st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			e->refs++;
			*out = e->rt;
			return 0;
		}
	}
	ret = go_runtime_open(path, out, err, errlen);
	if (ret)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e)
		return 0;	/* not shared: put closes it */
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	e->rt = *out;
	e->refs = 1;
	e->next = shared;
	shared = e;
	return 0;
}

void go_runtime_put(struct go_runtime *rt)
{
	struct rt_shared **p, *e;

	if (!rt)
		return;
	for (p = &shared; (e = *p); p = &e->next) {
		if (e->rt != rt)
			continue;
		if (--e->refs > 0)
			return;
		*p = e->next;
		free(e);
		break;
	}
	go_runtime_close(rt);
}

const char *go_runtime_file(const struct go_runtime *rt, char *buf,
			    size_t len)
{
	if (rt->fd < 0)
		return rt->path;
	snprintf(buf, len, "/proc/self/fd/%d", rt->fd);
	return buf;
}
