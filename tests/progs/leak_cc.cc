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
#include <getopt.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double now()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

static void usage(const char *argv0, int code)
{
	std::fprintf(code ? stderr : stdout,
		     "usage: %s [-rate N] [-size N] [-duration S] [-max-mb N]\n", argv0);
	std::exit(code);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, nullptr, 'r' },
		{ "size", required_argument, nullptr, 's' },
		{ "duration", required_argument, nullptr, 'd' },
		{ "max-mb", required_argument, nullptr, 'm' },
		{ "help", no_argument, nullptr, 'h' },
		{ nullptr, 0, nullptr, 0 },
	};
	double rate = 2000, duration = 0;
	unsigned long size = 1024, max_mb = 1024;
	int c;

	while ((c = getopt_long_only(argc, argv, "", opts, nullptr)) != -1) {
		switch (c) {
		case 'r': rate = std::atof(optarg); break;
		case 's': size = std::strtoul(optarg, nullptr, 0); break;
		case 'd': duration = std::atof(optarg); break;
		case 'm': max_mb = std::strtoul(optarg, nullptr, 0); break;
		case 'h': usage(argv[0], 0); break;
		default: usage(argv[0], 2);
		}
	}
	if (size == 0)
		usage(argv[0], 2);
	unsigned long max_entries = max_mb * 1024 * 1024 / size;
	Cache cache(size);

	std::printf("ready pid=%d\n", getpid());
	std::fflush(stdout);

	double start = now();
	unsigned long n = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = now() - start;

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
