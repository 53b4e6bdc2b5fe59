// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "export/export.h"

enum {
	OPT_METRICS_ADDR = 1100,
	OPT_METRICS_ANY,
	OPT_METRICS_TOP,
	OPT_METRICS_MAX_SITES,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Prometheus metrics (while tracing):", 5 },
	{ "metrics-addr", OPT_METRICS_ADDR, "ADDR:PORT", 0, "Serve /metrics (text "
	  "exposition), /readyz and /healthz on ADDR:PORT, e.g. 127.0.0.1:9464 "
	  "(a bare PORT: 127.0.0.1); loopback only unless --metrics-listen-any", 5 },
	{ "metrics-listen-any", OPT_METRICS_ANY, NULL, 0, "Allow a non-loopback "
	  "--metrics-addr such as 0.0.0.0:9464 (anyone who reaches it reads process "
	  "names and call stacks)", 5 },
	{ "metrics-top", OPT_METRICS_TOP, "N", 0, "Sites (kind and culprit "
	  "function) exported per process, most suspect first (5, 1-100)", 5 },
	{ "metrics-max-sites", OPT_METRICS_MAX_SITES, "N", 0, "Sites exported in "
	  "all processes together (1000, 1-100000)", 5 },
	{},
};

static int parse_uint(const char *s, long hi, unsigned int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct export_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		o->top_n = EXPORT_TOP_DEF;
		o->max_sites = EXPORT_MAX_SITES_DEF;
		break;
	case OPT_METRICS_ADDR:
		o->addr = arg;
		break;
	case OPT_METRICS_ANY:
		o->listen_any = true;
		break;
	case OPT_METRICS_TOP:
		if (parse_uint(arg, 100, &o->top_n))
			argp_error(state, "invalid --metrics-top: %s (1 to 100)", arg);
		break;
	case OPT_METRICS_MAX_SITES:
		if (parse_uint(arg, 100000, &o->max_sites))
			argp_error(state, "invalid --metrics-max-sites: %s (1 to 100000)", arg);
		break;
	case ARGP_KEY_END:
		if (o->listen_any && !o->addr)
			argp_error(state, "--metrics-listen-any needs --metrics-addr");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp export_argp = { options, parse_opt, NULL, NULL };
