// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one table of well-known names (issue 11: no other file keeps a list
 * of runtime, libc or allocator names). */
#include <stdint.h>
#include <string.h>
#include "sym/funcnames.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
	EXACT = 1,	/* the whole name, else a prefix */
	ROOT = 2,	/* outermost frame of a complete stack */
	SWITCH = 4,	/* switches to another stack (cgo) */
	ALLOC = 8,	/* an allocator's own function */
};

struct fn_name {
	const char *name;
	uint8_t cls;	/* enum plumbing; PLUMB_NONE: a role only */
	uint8_t flags;
};

#define R PLUMB_RUNTIME
#define L PLUMB_LIBC
#define A PLUMB_ALLOCATOR
#define D PLUMB_DISPATCH
#define G PLUMB_LIBRARY

static const struct fn_name names[] = {
	/* roles by exact name (their class comes from the prefixes below) */
	{ "_start", 0, EXACT | ROOT }, { "__libc_start_main", 0, EXACT | ROOT },
	{ "__libc_start_call_main", 0, EXACT | ROOT },
	{ "start_thread", 0, EXACT | ROOT }, { "clone", 0, EXACT | ROOT },
	{ "clone3", 0, EXACT | ROOT }, { "__clone", 0, EXACT | ROOT },
	{ "__clone3", 0, EXACT | ROOT }, { "thread_start", 0, EXACT | ROOT },
	{ "runtime.goexit", 0, EXACT | ROOT },
	{ "runtime.goexit.abi0", 0, EXACT | ROOT },
	{ "runtime.mstart", 0, EXACT | ROOT },
	{ "runtime.mstart.abi0", 0, EXACT | ROOT },
	{ "runtime.rt0_go", 0, EXACT | ROOT },
	{ "runtime.rt0_go.abi0", 0, EXACT | ROOT },
	{ "runtime.main", 0, EXACT | ROOT }, { "runtime.mcall", 0, EXACT | ROOT },
	{ "runtime.morestack", 0, EXACT | ROOT },
	{ "runtime.morestack.abi0", 0, EXACT | ROOT },
	{ "runtime.systemstack", 0, EXACT | ROOT },
	{ "runtime.systemstack.abi0", 0, EXACT | ROOT },
	{ "runtime.sigtramp", 0, EXACT | ROOT },
	{ "runtime.sigreturn__sigaction", 0, EXACT | ROOT },
	{ "runtime.asmcgocall", 0, EXACT | SWITCH },
	{ "runtime.asmcgocall.abi0", 0, EXACT | SWITCH },
	{ "malloc", 0, EXACT | ALLOC }, { "__libc_malloc", 0, EXACT | ALLOC },
	{ "_int_malloc", 0, EXACT | ALLOC }, { "sysmalloc", 0, EXACT | ALLOC },
	{ "calloc", 0, EXACT | ALLOC }, { "__libc_calloc", 0, EXACT | ALLOC },
	{ "realloc", 0, EXACT | ALLOC }, { "__libc_realloc", 0, EXACT | ALLOC },
	{ "_int_realloc", 0, EXACT | ALLOC }, { "tcache_init", 0, EXACT | ALLOC },
	{ "malloc_consolidate", 0, EXACT | ALLOC },
	{ "_int_memalign", 0, EXACT | ALLOC },
	{ "__libc_memalign", 0, EXACT | ALLOC },
	{ "posix_memalign", 0, EXACT | ALLOC },

	/* classes by prefix, first match wins */
	/* Go runtime and what it calls the kernel through */
	{ "runtime.", R }, { "runtime/", R }, { "internal/", R },
	{ "syscall.", R }, { "golang.org/x/sys/unix.", R }, { "x_cgo_", R },
	{ "_cgo_", R }, { "crosscall", R }, { "sync.runtime_", R },
	/* libc internals, string copies (the store that faulted), syscalls */
	{ "__", L }, { "_IO_", L }, { "_dl_", L }, { "mmap", L },
	{ "munmap", L }, { "mremap", L }, { "brk", L }, { "sbrk", L },
	{ "madvise", L }, { "clone", L }, { "start_thread", L },
	{ "create_thread", L }, { "pthread_create", L }, { "memcpy", L },
	{ "memmove", L }, { "memset", L }, { "mempcpy", L }, { "strdup", L },
	{ "strndup", L },
	/* allocators: glibc, jemalloc (je_ in redis), tcmalloc, C++, redis's
	 * zmalloc wrappers, memcached's slab refills */
	{ "malloc", A }, { "calloc", A }, { "realloc", A },
	{ "reallocarray", A }, { "posix_memalign", A }, { "aligned_alloc", A },
	{ "memalign", A }, { "valloc", A }, { "_int_", A }, { "sysmalloc", A },
	{ "tcache_", A }, { "je_", A }, { "tc_", A }, { "tcmalloc::", A },
	{ "operator new", A }, { "zmalloc", A }, { "zcalloc", A },
	{ "zrealloc", A }, { "ztry", A }, { "extend_to_usable", A },
	{ "do_slabs_", A }, { "slabs_alloc", A }, { "memory_allocate", A },
	{ "grow_slab_list", A },
	/* event loops: they call every handler, they are nobody's culprit */
	{ "aeMain", D }, { "aeProcessEvents", D }, { "event_base_loop", D },
	{ "event_process_active", D }, { "event_persist_closure", D },
	{ "uv_run", D }, { "g_main_context_dispatch", D },
	/* Go's standard library packages (a finite set; "main." and module
	 * paths with a dot in their first element are application code) */
	{ "archive/", G }, { "bufio.", G }, { "bytes.", G }, { "cmp.", G },
	{ "compress/", G }, { "container/", G }, { "context.", G },
	{ "crypto/", G }, { "crypto.", G }, { "database/", G }, { "debug/", G },
	{ "embed.", G }, { "encoding/", G }, { "encoding.", G }, { "errors.", G },
	{ "expvar.", G }, { "flag.", G }, { "fmt.", G }, { "go/", G },
	{ "hash/", G }, { "hash.", G }, { "html/", G }, { "html.", G },
	{ "image/", G }, { "image.", G }, { "io/", G }, { "io.", G },
	{ "iter.", G }, { "log/", G }, { "log.", G }, { "maps.", G },
	{ "math/", G }, { "math.", G }, { "mime/", G }, { "mime.", G },
	{ "net/", G }, { "net.", G }, { "os/", G }, { "os.", G }, { "path/", G },
	{ "path.", G }, { "reflect.", G }, { "regexp/", G }, { "regexp.", G },
	{ "slices.", G }, { "sort.", G }, { "strconv.", G }, { "strings.", G },
	{ "sync/", G }, { "sync.", G }, { "testing/", G }, { "testing.", G },
	{ "text/", G }, { "time.", G }, { "unicode/", G }, { "unicode.", G },
	{ "unique.", G }, { "vendor/", G }, { "weak.", G },
};

/* Modules whose unnamed frames are library code (basename prefixes). */
static const char *const system_modules[] = {
	"libc.so", "libc-", "ld-linux", "ld64.so", "libpthread", "libjemalloc",
	"libtcmalloc", "libstdc++", "libgcc_s", "libm.so", "libm-",
	"[vdso]", "[uprobes",
};

/* Directories the system's shared libraries are installed in. */
static const char *const system_lib_dirs[] = {
	"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/lib/",
};

static bool has_role(const char *fn, uint8_t role)
{
	for (size_t i = 0; fn && i < N(names); i++)
		if ((names[i].flags & role) && !strcmp(fn, names[i].name))
			return true;
	return false;
}

enum plumbing fn_plumbing(const char *fn)
{
	if (!fn)
		return PLUMB_NONE;
	/* cgo's generated stubs (main._Cfunc_f, _cgo_..._Cfunc_f) */
	if (strstr(fn, "_Cfunc_"))
		return PLUMB_RUNTIME;
	for (size_t i = 0; i < N(names); i++)
		if (names[i].cls && !(names[i].flags & EXACT) &&
		    !strncmp(fn, names[i].name, strlen(names[i].name)))
			return names[i].cls;
	return PLUMB_NONE;
}

bool fn_is_stack_root(const char *fn)
{
	return has_role(fn, ROOT);
}

bool fn_is_stack_switch(const char *fn)
{
	return has_role(fn, SWITCH);
}

bool fn_is_allocator(const char *fn)
{
	return has_role(fn, ALLOC);
}

bool fn_is_go_runtime(const char *fn)
{
	return fn && !strncmp(fn, "runtime.", 8);
}

bool fn_is_plumbing(const char *fn)
{
	enum plumbing p = fn_plumbing(fn);

	return p == PLUMB_RUNTIME || p == PLUMB_LIBC || p == PLUMB_ALLOCATOR;
}

bool module_is_system(const char *module)
{
	const char *base;

	if (!module)
		return false;
	base = strrchr(module, '/');
	base = base ? base + 1 : module;
	for (size_t i = 0; i < N(system_modules); i++)
		if (!strncmp(base, system_modules[i], strlen(system_modules[i])))
			return true;
	if (!strstr(base, ".so"))
		return false;
	for (size_t i = 0; i < N(system_lib_dirs); i++)
		if (!strncmp(module, system_lib_dirs[i], strlen(system_lib_dirs[i])))
			return true;
	return false;
}
