/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The command line into struct lt_opts (defaults already set there). */
#ifndef LT_CLI_H
#define LT_CLI_H
#include "trace/opts.h"

/* 0, or 2 after argp printed a usage error. */
int cli_parse(int argc, char **argv, struct lt_opts *o);
#endif
