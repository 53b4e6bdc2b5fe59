/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Wait reason names. The runtime's waitReason enum is renumbered across
 * versions (entries inserted in the middle; Go 1.26 reorders it), so a code
 * means nothing without the binary's own table: read
 * runtime.waitReasonStrings (an array of Go strings) when .symtab has it,
 * else use the tables below, built from runtime/runtime2.go of each version
 * and checked against the binaries by tests/unit/test_goruntime.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "go/goruntime.h"

/* Go 1.17 - 1.19 (measured on 1.19; the list is the same since 1.16) */
static const char *const wr_go117[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"semacquire", /* 18 */
	"sleep", /* 19 */
	"sync.Cond.Wait", /* 20 */
	"timer goroutine (idle)", /* 21 */
	"trace reader (blocked)", /* 22 */
	"wait for GC cycle", /* 23 */
	"GC worker (idle)", /* 24 */
	"preempted", /* 25 */
	"debug call", /* 26 */
};

/* Go 1.20: not installed here, so not measured. Taken as 1.21 less the
 * two entries 1.21 appended ("GC mark termination", "stopping the
 * world"); 1.20 introduced the sync.Mutex/RWMutex reasons and
 * "GC worker (active)" for its mutex wait-time metric. */
static const char *const wr_go120[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"semacquire", /* 18 */
	"sleep", /* 19 */
	"sync.Cond.Wait", /* 20 */
	"sync.Mutex.Lock", /* 21 */
	"sync.RWMutex.RLock", /* 22 */
	"sync.RWMutex.Lock", /* 23 */
	"trace reader (blocked)", /* 24 */
	"wait for GC cycle", /* 25 */
	"GC worker (idle)", /* 26 */
	"GC worker (active)", /* 27 */
	"preempted", /* 28 */
	"debug call", /* 29 */
};

/* Go 1.21 */
static const char *const wr_go121[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"semacquire", /* 18 */
	"sleep", /* 19 */
	"sync.Cond.Wait", /* 20 */
	"sync.Mutex.Lock", /* 21 */
	"sync.RWMutex.RLock", /* 22 */
	"sync.RWMutex.Lock", /* 23 */
	"trace reader (blocked)", /* 24 */
	"wait for GC cycle", /* 25 */
	"GC worker (idle)", /* 26 */
	"GC worker (active)", /* 27 */
	"preempted", /* 28 */
	"debug call", /* 29 */
	"GC mark termination", /* 30 */
	"stopping the world", /* 31 */
};

/* Go 1.22 */
static const char *const wr_go122[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"semacquire", /* 18 */
	"sleep", /* 19 */
	"sync.Cond.Wait", /* 20 */
	"sync.Mutex.Lock", /* 21 */
	"sync.RWMutex.RLock", /* 22 */
	"sync.RWMutex.Lock", /* 23 */
	"trace reader (blocked)", /* 24 */
	"wait for GC cycle", /* 25 */
	"GC worker (idle)", /* 26 */
	"GC worker (active)", /* 27 */
	"preempted", /* 28 */
	"debug call", /* 29 */
	"GC mark termination", /* 30 */
	"stopping the world", /* 31 */
	"flushing proc caches", /* 32 */
	"trace goroutine status", /* 33 */
	"trace proc status", /* 34 */
	"page trace flush", /* 35 */
	"coroutine", /* 36 */
};

/* Go 1.23 */
static const char *const wr_go123[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"semacquire", /* 18 */
	"sleep", /* 19 */
	"sync.Cond.Wait", /* 20 */
	"sync.Mutex.Lock", /* 21 */
	"sync.RWMutex.RLock", /* 22 */
	"sync.RWMutex.Lock", /* 23 */
	"trace reader (blocked)", /* 24 */
	"wait for GC cycle", /* 25 */
	"GC worker (idle)", /* 26 */
	"GC worker (active)", /* 27 */
	"preempted", /* 28 */
	"debug call", /* 29 */
	"GC mark termination", /* 30 */
	"stopping the world", /* 31 */
	"flushing proc caches", /* 32 */
	"trace goroutine status", /* 33 */
	"trace proc status", /* 34 */
	"page trace flush", /* 35 */
	"coroutine", /* 36 */
	"GC weak to strong wait", /* 37 */
};

/* Go 1.24 */
static const char *const wr_go124[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"semacquire", /* 18 */
	"sleep", /* 19 */
	"sync.Cond.Wait", /* 20 */
	"sync.Mutex.Lock", /* 21 */
	"sync.RWMutex.RLock", /* 22 */
	"sync.RWMutex.Lock", /* 23 */
	"sync.WaitGroup.Wait", /* 24 */
	"trace reader (blocked)", /* 25 */
	"wait for GC cycle", /* 26 */
	"GC worker (idle)", /* 27 */
	"GC worker (active)", /* 28 */
	"preempted", /* 29 */
	"debug call", /* 30 */
	"GC mark termination", /* 31 */
	"stopping the world", /* 32 */
	"flushing proc caches", /* 33 */
	"trace goroutine status", /* 34 */
	"trace proc status", /* 35 */
	"page trace flush", /* 36 */
	"coroutine", /* 37 */
	"GC weak to strong wait", /* 38 */
	"synctest.Run", /* 39 */
	"synctest.Wait", /* 40 */
	"chan receive (synctest)", /* 41 */
	"chan send (synctest)", /* 42 */
	"select (synctest)", /* 43 */
};

/* Go 1.25 */
static const char *const wr_go125[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"chan receive (nil chan)", /* 3 */
	"chan send (nil chan)", /* 4 */
	"dumping heap", /* 5 */
	"garbage collection", /* 6 */
	"garbage collection scan", /* 7 */
	"panicwait", /* 8 */
	"select", /* 9 */
	"select (no cases)", /* 10 */
	"GC assist wait", /* 11 */
	"GC sweep wait", /* 12 */
	"GC scavenge wait", /* 13 */
	"chan receive", /* 14 */
	"chan send", /* 15 */
	"finalizer wait", /* 16 */
	"force gc (idle)", /* 17 */
	"GOMAXPROCS updater (idle)", /* 18 */
	"semacquire", /* 19 */
	"sleep", /* 20 */
	"sync.Cond.Wait", /* 21 */
	"sync.Mutex.Lock", /* 22 */
	"sync.RWMutex.RLock", /* 23 */
	"sync.RWMutex.Lock", /* 24 */
	"sync.WaitGroup.Wait", /* 25 */
	"trace reader (blocked)", /* 26 */
	"wait for GC cycle", /* 27 */
	"GC worker (idle)", /* 28 */
	"GC worker (active)", /* 29 */
	"preempted", /* 30 */
	"debug call", /* 31 */
	"GC mark termination", /* 32 */
	"stopping the world", /* 33 */
	"flushing proc caches", /* 34 */
	"trace goroutine status", /* 35 */
	"trace proc status", /* 36 */
	"page trace flush", /* 37 */
	"coroutine", /* 38 */
	"GC weak to strong wait", /* 39 */
	"synctest.Run", /* 40 */
	"synctest.Wait", /* 41 */
	"chan receive (durable)", /* 42 */
	"chan send (durable)", /* 43 */
	"select (durable)", /* 44 */
	"sync.WaitGroup.Wait (durable)", /* 45 */
	"cleanup wait", /* 46 */
};

/* Go 1.26 - 1.27: the whole enum was reordered (runtime-internal reasons
 * first, then the user-visible blocking ones). */
static const char *const wr_go126[] = {
	"", /* 0 */
	"GC assist marking", /* 1 */
	"IO wait", /* 2 */
	"dumping heap", /* 3 */
	"garbage collection", /* 4 */
	"garbage collection scan", /* 5 */
	"panicwait", /* 6 */
	"GC assist wait", /* 7 */
	"GC sweep wait", /* 8 */
	"GC scavenge wait", /* 9 */
	"finalizer wait", /* 10 */
	"force gc (idle)", /* 11 */
	"GOMAXPROCS updater (idle)", /* 12 */
	"semacquire", /* 13 */
	"sleep", /* 14 */
	"chan receive (nil chan)", /* 15 */
	"chan send (nil chan)", /* 16 */
	"select (no cases)", /* 17 */
	"select", /* 18 */
	"chan receive", /* 19 */
	"chan send", /* 20 */
	"sync.Cond.Wait", /* 21 */
	"sync.Mutex.Lock", /* 22 */
	"sync.RWMutex.RLock", /* 23 */
	"sync.RWMutex.Lock", /* 24 */
	"sync.WaitGroup.Wait", /* 25 */
	"trace reader (blocked)", /* 26 */
	"wait for GC cycle", /* 27 */
	"GC worker (idle)", /* 28 */
	"GC worker (active)", /* 29 */
	"preempted", /* 30 */
	"debug call", /* 31 */
	"GC mark termination", /* 32 */
	"stopping the world", /* 33 */
	"flushing proc caches", /* 34 */
	"trace goroutine status", /* 35 */
	"trace proc status", /* 36 */
	"page trace flush", /* 37 */
	"coroutine", /* 38 */
	"GC weak to strong wait", /* 39 */
	"synctest.Run", /* 40 */
	"synctest.Wait", /* 41 */
	"chan receive (durable)", /* 42 */
	"chan send (durable)", /* 43 */
	"select (durable)", /* 44 */
	"sync.WaitGroup.Wait (durable)", /* 45 */
	"cleanup wait", /* 46 */
};

#define WR(t) t, (int)(sizeof(t) / sizeof(t[0]))
static const struct {
	int min_minor, max_minor;
	const char *const *names;
	int n;
} wr_tables[] = {
	{ 17, 19, WR(wr_go117) },
	{ 20, 20, WR(wr_go120) },
	{ 21, 21, WR(wr_go121) },
	{ 22, 22, WR(wr_go122) },
	{ 23, 23, WR(wr_go123) },
	{ 24, 24, WR(wr_go124) },
	{ 25, 25, WR(wr_go125) },
	{ 26, 27, WR(wr_go126) },
};
#undef WR

int go_wait_reason_table(int minor, const char *const **names)
{
	for (size_t i = 0; i < sizeof(wr_tables) / sizeof(wr_tables[0]); i++) {
		if (minor < wr_tables[i].min_minor ||
		    minor > wr_tables[i].max_minor)
			continue;
		*names = wr_tables[i].names;
		return wr_tables[i].n;
	}
	return -ENOTSUP;
}

void go_strv_free(char **v, int n)
{
	if (!v)
		return;
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The array lives in .data: n Go strings of (ptr, len), 16 bytes each;
 * each ptr is a link-time address resolved through the PT_LOAD segments.
 */
int go_wait_reasons_from_binary(Elf *elf, char ***out)
{
	uint64_t addr, size;
	const uint8_t *arr;
	char **names;
	int err, n;

	err = go_elf_symbol(elf, "runtime.waitReasonStrings", &addr, &size);
	if (err)
		return err;
	if (size == 0 || size % 16 || size / 16 > 255)
		return -EINVAL;
	n = size / 16;
	arr = go_elf_bytes_at(elf, addr, size);
	if (!arr)
		return -EINVAL;
	names = calloc(n, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		uint64_t p, len;
		const uint8_t *s = NULL;

		memcpy(&p, arr + 16 * i, 8);
		memcpy(&len, arr + 16 * i + 8, 8);
		if (len > 256 || (len && !(s = go_elf_bytes_at(elf, p, len)))) {
			go_strv_free(names, n);
			return -EINVAL;
		}
		names[i] = strndup(len ? (const char *)s : "", len);
		if (!names[i]) {
			go_strv_free(names, n);
			return -ENOMEM;
		}
	}
	*out = names;
	return n;
}

const char *go_wait_reason_name(const struct go_runtime *rt,
				unsigned int code)
{
	if (!rt->wait_reasons || code >= (unsigned int)rt->n_wait_reasons)
		return NULL;
	return rt->wait_reasons[code];
}

const char *go_status_name(uint32_t status)
{
	static const char *const names[] = {
		[GO_G_IDLE] = "idle",		[GO_G_RUNNABLE] = "runnable",
		[GO_G_RUNNING] = "running",	[GO_G_SYSCALL] = "syscall",
		[GO_G_WAITING] = "waiting",	[5] = "moribund",
		[GO_G_DEAD] = "dead",		[7] = "enqueue",
		[GO_G_COPYSTACK] = "copystack",	[GO_G_PREEMPTED] = "preempted",
		[GO_G_LEAKED] = "leaked",	[GO_G_DEADEXTRA] = "dead (extra M)",
	};

	status &= ~GO_G_SCAN;
	if (status >= sizeof(names) / sizeof(names[0]) || !names[status])
		return "unknown";
	return names[status];
}
