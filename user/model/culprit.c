// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "model/culprit.h"

/* Names are looked up in sym/funcnames.c, the one list of them. The main
 * executable's frames are the application's: never hidden as libc (a
 * stripped service's own code, or a C function whose name happens to
 * look like libc's); only Go runtime, allocator and dispatch names
 * linked into it (Go, a static jemalloc, redis's event loop) are
 * plumbing there. An unnamed frame is the application's unless it lies
 * in a system library (then the frames that called it are the ones to
 * show), or nowhere known. */
enum plumbing frame_plumbing(const struct frame *f)
{
	if (f->function) {
		enum plumbing p = fn_plumbing(f->function);

		/* C++ library code instantiated in it (__gnu_cxx::, inlined
		 * allocator templates) stays library code */
		if (p == PLUMB_LIBC && f->in_exe && !strstr(f->function, "::"))
			return PLUMB_NONE;
		return p;
	}
	if (f->in_exe)
		return PLUMB_NONE;
	if (f->module)
		return module_is_system(f->module) ? PLUMB_LIBC : PLUMB_NONE;
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
