// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The command line: options, their ranges, usage errors (exit 2). */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "cli.h"
#include "export/export.h"
#include "leaktrace.h"
#include "report/report.h"
#include "util/log.h"

const char *argp_program_version = LT_VERSION;
const char *argp_program_bug_address = "the leaktrace issue tracker";
static const char doc[] =
"leaktrace: find what keeps growing inside a live process (mapped and\n"
"resident memory, OS threads, goroutines) and the call stacks responsible,\n"
"without stopping or modifying it.\n"
"\n"
"USAGE: leaktrace -p PID [-d SECONDS] [-i SECONDS] [-o FILE] [--base FILE]\n"
"                 [--format text|json|folded|pprof]\n"
"       leaktrace [OPTIONS] -- CMD [ARGS...]\n"
"       leaktrace capture -p PID [-d 60] [-o DIR]   # incident bundle: DIR/ + DIR.tar.gz\n"
"\n"
"EXAMPLES:\n"
"    leaktrace -p 1234                  # trace until Ctrl-C, then report\n"
"    leaktrace -p 1234 -d 30 -i 1       # 30 s, live view every second\n"
"    leaktrace -p 1234 -d 60 --format json -o report.json\n"
"    leaktrace -p 1234 -d 60 --base report.json   # what changed since\n"
"    leaktrace -p 1234 -d 30 --format pprof -o leak.pb.gz   # go tool pprof\n"
"    leaktrace -p 1234 -d 30 --format folded | flamegraph.pl > leak.svg\n"
"    leaktrace -d 20 -- ./server --port 8080   # start it traced";

enum {
	OPT_FORMAT = 1000,
	OPT_MAX_STACKS,
	OPT_MAX_PAGES,
	OPT_MAX_FAULT_STACKS,
	OPT_RINGBUF_MB,
	OPT_NO_THREADS,
	OPT_NO_GO,
	OPT_GO_PARKS,
	OPT_GO_BUDGET,
	OPT_MAX_GOROUTINES,
	OPT_BASE,
	OPT_STACK_COPY_KB,
	OPT_FAULT_SAMPLE,
	OPT_MAX_PROCS,
	OPT_ALL,
	OPT_CGROUP,
	OPT_WINDOW,
	OPT_NO_MALLOC,
	OPT_MEM_PROBES,
	OPT_MALLOC_BUDGET,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Target and duration:", 1 },
	{ "pid", 'p', "PID[,PID...]", 0, "Trace these processes (all their threads); may be repeated", 1 },
	{ "all", OPT_ALL, NULL, 0, "Trace every user process of the host, also those started later (kernel threads and leaktrace skipped)", 1 },
	{ "window", OPT_WINDOW, "SECONDS", 0, "Judge growth over the last SECONDS only, at most 240 samples a series (default: the whole run; with --all or --cgroup 3600)", 1 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "With or without --all: only the processes of this cgroup subtree (a /sys/fs/cgroup path, or one as /proc/PID/cgroup writes it)", 1 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C or target exit)", 1 },
	{ "interval", 'i', "SECONDS", 0, "Sampling interval; with it, a live view of one process (default 1; --all and --cgroup: 10)", 1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "format", OPT_FORMAT, "FMT", 0, "Report format: text (default), json, folded "
	  "(collapsed stacks for flame graphs) or pprof (gzipped profile.proto for go tool pprof; "
	  "needs -o on a terminal)", 2 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE (default stdout); capture: the bundle's directory", 2 },
	{ "base", OPT_BASE, "FILE", 0, "Compare with an earlier report (--format json) and "
	  "list new, grown, shrunk and gone sites (text and json)", 2 },
	{ "verbose", 'v', NULL, 0, "More diagnostics on stderr (-vv: debug and libbpf)", 2 },
	{ NULL, 0, NULL, 0, "Limits (raise them when the report shows drops):", 3 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "Distinct stacks held in the kernel (16384)", 3 },
	{ "max-pages", OPT_MAX_PAGES, "N", 0, "Resident pages tracked (2097152 = 8 GiB)", 3 },
	{ "max-fault-stacks", OPT_MAX_FAULT_STACKS, "N", 0, "Faulting stacks counted (16384)", 3 },
	{ "ringbuf-mb", OPT_RINGBUF_MB, "MB", 0, "Ring buffer size in MiB, rounded up to a power of two (4, at most 1024)", 3 },
	{ "max-goroutines", OPT_MAX_GOROUTINES, "N", 0, "Parked goroutines tracked (1048576)", 3 },
	{ "max-processes", OPT_MAX_PROCS, "N", 0, "Processes traced at once (4096); more are counted, not traced", 3 },
	{ "stack-copy-kb", OPT_STACK_COPY_KB, "N", 0, "User stack copied with each mmap/brk/thread creation whose frame-pointer stack stops early, unwound with CFI (16, at most 28; 0 = off)", 3 },
	{ "fault-sample", OPT_FAULT_SAMPLE, "N", 0, "Also unwind one first page touch in N (if its frame-pointer stack stops early) and split that stack's pages between the callers found (64; 0 = off)", 3 },
	{ "no-threads", OPT_NO_THREADS, NULL, 0, "Do not trace thread creation", 3 },
	{ "no-go", OPT_NO_GO, NULL, 0, "Do not probe the Go runtime (goroutines)", 3 },
	{ "go-budget", OPT_GO_BUDGET, "PCT", 0, "CPU the Go creation probe may cost the target, in percent of one core (1; 0 = never probe: goroutines from reads only). Past it the probe is attached in duty cycles", 3 },
	{ "go-parks", OPT_GO_PARKS, NULL, 0, "Also probe every gopark and wake-up: exact park times, but each channel block costs two uprobe hits (see README)", 3 },
	{ "no-malloc", OPT_NO_MALLOC, NULL, 0, "Do not probe the native allocator (malloc sites)", 3 },
	{ "mem-probes", OPT_MEM_PROBES, "MODE", 0, "How mmap, munmap, mremap, brk and madvise are seen: auto (default: one process of C code on x86-64 is probed at its own syscall sites after its first 0.3 s, unless it makes more memory calls than their 1 % budget allows; else the syscall tracepoints, which slow every system call on the host while attached) or tracepoints", 3 },
	{ "malloc-budget", OPT_MALLOC_BUDGET, "PCT", 0, "CPU the allocator probes (malloc, free ...) may cost the target, in percent of one core (1; 0 = off). Past it they are attached in duty cycles and what they see is scaled up", 3 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 4 },
	{},
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e7)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The kernel's largest BPF hash map: its bucket array (16 bytes a bucket,
 * a power of two at least max_entries) must stay under 4 GiB. */
#define LT_HASH_MAX (1L << 27)
/* Ring buffer: a power of two of at most 1 GiB (we round up). */
#define LT_RINGBUF_MAX_MB 1024L

static long parse_limit(struct argp_state *state, const char *name,
			const char *arg, long lo, long hi)
{
	long v = 0;

	if (parse_long(arg, lo, hi, &v))
		argp_error(state, "invalid %s: %s (%ld to %ld)", name, arg, lo, hi);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct lt_opts *o = state->input;
	long v;

	switch (key) {
	case 'p': {
		char *s = arg, *comma;

		do {
			comma = strchr(s, ',');
			if (comma)
				*comma = '\0';
			if (parse_long(s, 1, INT_MAX, &v))
				argp_error(state, "invalid PID: %s", s);
			if (o->npids >= LT_MAX_PIDS)
				argp_error(state, "too many PIDs (at most %d): use --all or --cgroup",
					   LT_MAX_PIDS);
			if (!o->pids)
				o->pids = calloc(LT_MAX_PIDS, sizeof(*o->pids));
			if (!o->pids)
				argp_failure(state, 1, ENOMEM, "out of memory");
			for (uint32_t i = 0; i < o->npids; i++)
				if (o->pids[i] == v)
					argp_error(state, "PID %ld given twice", v);
			o->pids[o->npids++] = v;
			if (!o->pid)
				o->pid = v;
			s = comma + 1;
		} while (comma);
		break;
	}
	case OPT_ALL:
		o->all = true;
		break;
	case OPT_WINDOW:
		if (parse_seconds(arg, &o->window_s) || o->window_s < 10)
			argp_error(state, "invalid window: %s (at least 10 seconds)", arg);
		break;
	case OPT_CGROUP:
		if (!*arg)
			argp_error(state, "--cgroup needs a path");
		o->cgroup = arg;
		break;
	case 'd':
		if (parse_seconds(arg, &o->duration_s))
			argp_error(state, "invalid duration: %s", arg);
		break;
	case 'i':
		if (parse_seconds(arg, &o->interval_s))
			argp_error(state, "invalid interval: %s", arg);
		o->interval_set = true;
		break;
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			o->format = FMT_TEXT;
		else if (!strcmp(arg, "json"))
			o->format = FMT_JSON;
		else if (!strcmp(arg, "folded"))
			o->format = FMT_FOLDED;
		else if (!strcmp(arg, "pprof"))
			o->format = FMT_PPROF;
		else
			argp_error(state, "unknown format: %s (text, json, folded or pprof)", arg);
		break;
	case 'o':
		o->output = arg;
		break;
	case OPT_BASE:
		o->base = arg;
		break;
	case 'v':
		lt_verbosity++;
		break;
	case OPT_MAX_STACKS:
		o->max_stacks = parse_limit(state, "--max-stacks", arg, 1, LT_HASH_MAX);
		break;
	case OPT_MAX_PAGES:
		/* Pages are tracked in chunks of 16, one hash entry each. */
		o->max_pages = parse_limit(state, "--max-pages", arg, 1, LT_HASH_MAX * 16);
		break;
	case OPT_MAX_FAULT_STACKS:
		o->max_fault_stacks = parse_limit(state, "--max-fault-stacks", arg, 1,
						  LT_HASH_MAX);
		break;
	case OPT_MAX_GOROUTINES:
		o->max_goroutines = parse_limit(state, "--max-goroutines", arg, 1,
						LT_HASH_MAX);
		break;
	case OPT_MAX_PROCS:
		o->max_procs = parse_limit(state, "--max-processes", arg, 1, 1L << 22);
		break;
	case OPT_RINGBUF_MB:
		o->ringbuf_mb = parse_limit(state, "--ringbuf-mb", arg, 1, LT_RINGBUF_MAX_MB);
		break;
	case OPT_STACK_COPY_KB:
		if (parse_long(arg, 0, LT_UCOPY_MAX_KB, &v))
			argp_error(state, "invalid stack copy size: %s (0 to %d KiB)",
				   arg, LT_UCOPY_MAX_KB);
		o->stack_copy_kb = v;
		break;
	case OPT_FAULT_SAMPLE:
		if (parse_long(arg, 0, 1L << 20, &v))
			argp_error(state, "invalid fault sample rate: %s (0 to %ld)",
				   arg, 1L << 20);
		o->fault_sample = v;
		break;
	case OPT_NO_THREADS:
		o->no_threads = true;
		break;
	case OPT_NO_GO:
		o->no_go = true;
		break;
	case OPT_GO_PARKS:
		o->go_parks = true;
		break;
	case OPT_GO_BUDGET: {
		char *end;

		errno = 0;
		o->go_budget_pct = strtod(arg, &end);
		if (errno || end == arg || *end || !(o->go_budget_pct >= 0) ||
		    o->go_budget_pct > 100)
			argp_error(state, "invalid Go probe budget: %s (0 to 100 percent of a core)", arg);
		break;
	}
	case OPT_NO_MALLOC:
		o->no_malloc = true;
		break;
	case OPT_MEM_PROBES:
		if (!strcmp(arg, "tracepoints"))
			o->mem_tracepoints = true;
		else if (strcmp(arg, "auto"))
			argp_error(state, "invalid --mem-probes: %s (auto or tracepoints)", arg);
		break;
	case OPT_MALLOC_BUDGET: {
		char *end;

		errno = 0;
		o->malloc_budget_pct = strtod(arg, &end);
		if (errno || end == arg || *end || !(o->malloc_budget_pct >= 0) ||
		    o->malloc_budget_pct > 100)
			argp_error(state, "invalid allocator probe budget: %s (0 to 100 percent of a core)", arg);
		break;
	}
	case ARGP_KEY_INIT:	/* export/options.c parses --metrics-* */
		state->child_inputs[0] = &o->metrics;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		/* Everything from the first non-option on is the command. */
		o->cmd = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if ((o->all || o->cgroup) && o->pid)
			argp_error(state, "--all and --cgroup choose the processes themselves: not with -p");
		if ((o->all || o->cgroup) && o->cmd)
			argp_error(state, "--all and --cgroup trace running processes: not with -- CMD");
		if (!o->pid && !o->cmd && !o->all && !o->cgroup)
			argp_error(state, "no target: give -p PID, -- CMD, --all or --cgroup PATH");
		if (o->pid && o->cmd)
			argp_error(state, "give -p PID or -- CMD, not both");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct lt_opts *o)
{
	static const struct argp_child children[] = { { &export_argp }, {} };
	static const struct argp argp = { options, parse_arg, "[-- CMD ARGS...]", doc,
					  children };

	argp_err_exit_status = 2;
	return argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, o) ? 2 : 0;
}
