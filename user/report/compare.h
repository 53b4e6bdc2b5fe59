/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --base FILE: this run's sites against an earlier JSON report.
 *
 * Sites match by kind and the function names of their stack (module+address
 * for unknown frames), so a site matches across runs and builds even when
 * lines move. Amounts are bytes for memory kinds, live objects otherwise;
 * each side sums the sites that share a key. A site is new (nothing
 * before), gone (nothing now), grown or shrunk.
 */
#ifndef LT_COMPARE_H
#define LT_COMPARE_H
#include <stdio.h>
#include <json-c/json.h>
#include "model/model.h"

struct lt_base;

/* Reads and checks a leaktrace/v1 JSON report. NULL after one message on
 * stderr when it cannot be read or is not such a report. */
struct lt_base *compare_load(const char *path);
/* The same from text[0..len) (NUL-terminated); path names it in messages. */
struct lt_base *compare_load_buf(const char *text, size_t len, const char *path);
/* Largest --base file read (a report is far smaller). */
#define LT_BASE_MAX (256 << 20)
void compare_free(struct lt_base *b);
/* The "comparison" object of the JSON report. */
json_object *compare_json(struct lt_base *b, const struct model *m);
/* The COMPARED WITH section of the text report. */
void compare_text(struct lt_base *b, const struct model *m, FILE *out);
#endif
