// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "model/culprit.h"

struct prefix_class {
	const char *prefix;
	enum plumbing what;
};

/* Matched as prefixes of the function name. */
static const struct prefix_class names[] = {
	/* Go runtime and what it calls the kernel through */
	{ "runtime.", PLUMB_RUNTIME },	{ "runtime/", PLUMB_RUNTIME },
	{ "internal/", PLUMB_RUNTIME },	{ "syscall.", PLUMB_RUNTIME },
	{ "golang.org/x/sys/unix.", PLUMB_RUNTIME },
	{ "x_cgo_", PLUMB_RUNTIME },	{ "_cgo_", PLUMB_RUNTIME },
	{ "crosscall", PLUMB_RUNTIME },	{ "sync.runtime_", PLUMB_RUNTIME },
	/* libc internals, string copies (the store that faulted), syscalls */
	{ "__", PLUMB_LIBC },		{ "_IO_", PLUMB_LIBC },
	{ "_dl_", PLUMB_LIBC },		{ "mmap", PLUMB_LIBC },
	{ "munmap", PLUMB_LIBC },	{ "mremap", PLUMB_LIBC },
	{ "brk", PLUMB_LIBC },		{ "sbrk", PLUMB_LIBC },
	{ "madvise", PLUMB_LIBC },	{ "clone", PLUMB_LIBC },
	{ "start_thread", PLUMB_LIBC },	{ "create_thread", PLUMB_LIBC },
	{ "pthread_create", PLUMB_LIBC }, { "memcpy", PLUMB_LIBC },
	{ "memmove", PLUMB_LIBC },	{ "memset", PLUMB_LIBC },
	{ "mempcpy", PLUMB_LIBC },	{ "strdup", PLUMB_LIBC },
	{ "strndup", PLUMB_LIBC },
	/* allocators: glibc, jemalloc (je_ in redis), tcmalloc, C++, redis's
	 * zmalloc wrappers, memcached's slab refills */
	{ "malloc", PLUMB_ALLOCATOR },	{ "calloc", PLUMB_ALLOCATOR },
	{ "realloc", PLUMB_ALLOCATOR },	{ "reallocarray", PLUMB_ALLOCATOR },
	{ "posix_memalign", PLUMB_ALLOCATOR }, { "aligned_alloc", PLUMB_ALLOCATOR },
	{ "memalign", PLUMB_ALLOCATOR }, { "valloc", PLUMB_ALLOCATOR },
	{ "_int_", PLUMB_ALLOCATOR },	{ "sysmalloc", PLUMB_ALLOCATOR },
	{ "tcache_", PLUMB_ALLOCATOR },	{ "je_", PLUMB_ALLOCATOR },
	{ "tc_", PLUMB_ALLOCATOR },	{ "tcmalloc::", PLUMB_ALLOCATOR },
	{ "operator new", PLUMB_ALLOCATOR }, { "zmalloc", PLUMB_ALLOCATOR },
	{ "zcalloc", PLUMB_ALLOCATOR },	{ "zrealloc", PLUMB_ALLOCATOR },
	{ "ztry", PLUMB_ALLOCATOR },	{ "extend_to_usable", PLUMB_ALLOCATOR },
	{ "do_slabs_", PLUMB_ALLOCATOR }, { "slabs_alloc", PLUMB_ALLOCATOR },
	{ "memory_allocate", PLUMB_ALLOCATOR }, { "grow_slab_list", PLUMB_ALLOCATOR },
	/* event loops: they call every handler, they are nobody's culprit */
	{ "aeMain", PLUMB_DISPATCH },	{ "aeProcessEvents", PLUMB_DISPATCH },
	{ "event_base_loop", PLUMB_DISPATCH }, { "event_process_active", PLUMB_DISPATCH },
	{ "event_persist_closure", PLUMB_DISPATCH }, { "uv_run", PLUMB_DISPATCH },
	{ "g_main_context_dispatch", PLUMB_DISPATCH },
};

/* Go's standard library packages (a finite set; "main." and module paths
 * with a dot in their first element are application code). */
static const char *const go_std[] = {
	"archive/", "bufio.", "bytes.", "cmp.", "compress/", "container/",
	"context.", "crypto/", "crypto.", "database/", "debug/", "embed.",
	"encoding/", "encoding.", "errors.", "expvar.", "flag.", "fmt.", "go/",
	"hash/", "hash.", "html/", "html.", "image/", "image.", "io/", "io.",
	"iter.", "log/", "log.", "maps.", "math/", "math.", "mime/", "mime.",
	"net/", "net.", "os/", "os.", "path/", "path.", "reflect.", "regexp/",
	"regexp.", "slices.", "sort.", "strconv.", "strings.", "sync/", "sync.",
	"testing/", "testing.", "text/", "time.", "unicode/", "unicode.",
	"unique.", "vendor/", "weak.",
};

/* Modules whose unnamed frames are plumbing (basename prefixes). */
static const char *const system_modules[] = {
	"libc.so", "libc-", "ld-linux", "ld64.so", "libpthread", "libjemalloc",
	"libtcmalloc", "libstdc++", "libgcc_s", "libm.so", "libm-",
	"[vdso]", "[uprobes",
};

enum plumbing frame_plumbing(const struct frame *f)
{
	if (f->function) {
		/* cgo's generated stubs (main._Cfunc_f, _cgo_..._Cfunc_f) */
		if (strstr(f->function, "._Cfunc_") || strstr(f->function, "_Cfunc_"))
			return PLUMB_RUNTIME;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strncmp(f->function, names[i].prefix,
				     strlen(names[i].prefix)))
				return names[i].what;
		for (size_t i = 0; i < sizeof(go_std) / sizeof(go_std[0]); i++)
			if (!strncmp(f->function, go_std[i], strlen(go_std[i])))
				return PLUMB_LIBRARY;
		return PLUMB_NONE;
	}
	if (f->module) {
		const char *base = strrchr(f->module, '/');

		base = base ? base + 1 : f->module;
		for (size_t i = 0; i < sizeof(system_modules) / sizeof(system_modules[0]); i++)
			if (!strncmp(base, system_modules[i], strlen(system_modules[i])))
				return PLUMB_LIBC;
		return PLUMB_NONE;
	}
	return PLUMB_LIBC;	/* no function, no module: nothing to point at */
}

/* Goroutines parked for these reasons are the runtime's own, whatever
 * allocation happened to start them (the tracker drops the runtime frames
 * above the first Go frame of a creation stack). */
static bool runtime_wait(const char *reason)
{
	static const char *const own[] = {
		"GC ", "force gc", "finalizer wait", "sweep", "scavenge",
		"trace reader", "debug call", "GC assist",
	};

	if (!reason)
		return false;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strncmp(reason, own[i], strlen(own[i])))
			return true;
	return false;
}

int site_culprit_frame(const struct site *s)
{
	enum plumbing p0;
	int lib = -1;

	/* A goroutine's culprit is its go statement, the first frame: one
	 * in the runtime makes it the runtime's own (GC workers started
	 * from whatever allocation triggered them). */
	if (s->kind == SITE_GOROUTINE) {
		if (!s->nframes || runtime_wait(s->wait_reason))
			return -1;
		p0 = frame_plumbing(&s->frames[0]);
		return p0 == PLUMB_NONE || p0 == PLUMB_LIBRARY ? 0 : -1;
	}
	for (int i = 0; i < s->nframes; i++) {
		enum plumbing p = frame_plumbing(&s->frames[i]);

		if (p == PLUMB_NONE)
			return i;
		if (p == PLUMB_LIBRARY && lib < 0)
			lib = i;
	}
	return lib;
}
