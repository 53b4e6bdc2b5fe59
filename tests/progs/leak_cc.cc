// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// leak_cc: a C++ cache whose Cache::store() leaks every entry it creates with
// new (entries are indexed by pointer in a vector that is never pruned).
//
// Flags (seconds are decimal):
//   -rate N       stores per second (default 2000)
//   -size N       payload bytes per entry (default 1024)
//   -duration S   exit 0 after S seconds (default 0: run until killed)
//   -max-mb N     stop leaking after N MiB (default 1024)
//
// Prints "ready pid=<pid>" once set up.
#include "progs.h"
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

} // namespace

struct Entry {
	unsigned long key;
	std::string name;
	char *payload;
};

class Cache {
public:
	explicit Cache(size_t payload) : payload_(payload) {}
	__attribute__((noinline)) Entry *store(unsigned long key);
	size_t size() const { return entries_.size(); }

private:
	size_t payload_;
	std::vector<Entry *> entries_; // never pruned: the leak
};

Entry *Cache::store(unsigned long key)
{
	Entry *e = new Entry;
	e->key = key;
	e->name = "entry-" + std::to_string(key);
	e->payload = new char[payload_];
	std::memset(e->payload, static_cast<int>(key & 0x7f), payload_);
	entries_.push_back(e);
	return e;
}

int main(int argc, char **argv)
{
	double rate = 2000, duration = 0;
	unsigned long size = 1024, max_mb = 1024;
	const struct prog_flag flags[] = {
		{ "rate", &rate, nullptr, 0 },
		{ "size", nullptr, &size, 0 },
		{ "duration", &duration, nullptr, 0 },
		{ "max-mb", nullptr, &max_mb, 0 },
		{ nullptr, nullptr, nullptr, 0 },
	};

	prog_parse(argc, argv, flags);
	if (size == 0)
		prog_usage(argv[0], flags, 2);
	unsigned long max_entries = max_mb * 1024 * 1024 / size;
	Cache cache(size);

	prog_ready();

	double start = prog_now();
	unsigned long n = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = prog_now() - start;

		if (duration > 0 && t >= duration)
			break;
		unsigned long want = static_cast<unsigned long>(rate * t);

		if (want > max_entries)
			want = max_entries;
		while (n < want)
			cache.store(n++);
		nanosleep(&tick, nullptr);
	}
	return 0;
}
