// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dlopen_leak: after -load-after seconds dlopens libleakplug.so (next to
 * this program) and then leaks resident memory through it: its plug_touch()
 * touches -pages pages of a region mapped once at load, every 50 ms. The
 * library is not mapped when the trace begins.
 *
 * Flags (seconds are decimal):
 *   -load-after S  dlopen the plugin after S seconds (default 1)
 *   -load-on-usr1 1  dlopen it when SIGUSR1 comes instead (a test sends it
 *                  once the tracer traces)
 *   -pages N       pages touched every 50 ms (default 64: ~5 MiB/s)
 *   -churn N       malloc + free pairs the plugin makes every 50 ms (default 0)
 *   -duration S    exit 0 after S seconds (default 0: run until killed)
 *
 * Prints "ready pid=<pid>" once set up.
 */
#include "progs.h"
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>

static double opt_load_after = 1, opt_duration;
static unsigned long opt_pages = 64, opt_on_usr1, opt_churn;
static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

int main(int argc, char **argv)
{
	static const struct prog_flag flags[] = {
		{ "load-after", &opt_load_after },
		{ "pages", NULL, &opt_pages },
		{ "duration", &opt_duration },
		{ "load-on-usr1", NULL, &opt_on_usr1 },
		{ "churn", NULL, &opt_churn },
		{ 0 },
	};
	char self[PATH_MAX], lib[PATH_MAX + 32];
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	void (*touch)(size_t) = NULL, (*churn)(size_t) = NULL;
	ssize_t n;
	double start;

	prog_parse(argc, argv, flags);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("readlink");
		return 1;
	}
	self[n] = '\0';
	snprintf(lib, sizeof(lib), "%s/libleakplug.so", dirname(self));
	if (opt_on_usr1)
		signal(SIGUSR1, on_usr1);
	prog_ready();
	start = prog_now();
	for (;;) {
		double t = prog_now() - start;

		if (opt_duration > 0 && t >= opt_duration)
			break;
		if (!touch && (opt_on_usr1 ? usr1 : t >= opt_load_after)) {
			void *h = dlopen(lib, RTLD_NOW);
			int (*reserve)(size_t);

			if (!h) {
				fprintf(stderr, "dlopen: %s\n", dlerror());
				return 1;
			}
			reserve = (int (*)(size_t))dlsym(h, "plug_reserve");
			touch = (void (*)(size_t))dlsym(h, "plug_touch");
			churn = (void (*)(size_t))dlsym(h, "plug_churn");
			if (!reserve || !touch || !churn || reserve(1UL << 30)) {
				fprintf(stderr, "plugin: no plug_reserve/plug_touch\n");
				return 1;
			}
		}
		if (touch)
			touch(opt_pages);
		if (churn && opt_churn)
			churn(opt_churn);
		nanosleep(&tick, NULL);
	}
	return 0;
}
