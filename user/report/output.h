/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a report goes: stdout, or a file replaced atomically (written to an
 * unnamed or temporary file in the same directory, synced, then renamed
 * over the target), opened before tracing so a bad -o fails first. And
 * text made valid UTF-8 for JSON.
 */
#ifndef LT_OUTPUT_H
#define LT_OUTPUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct report_out {
	const char *path;	/* NULL: stdout */
	FILE *f;
	char tmp[4096];		/* named temp file, "" with O_TMPFILE */
	char real[4096];	/* path resolved when it is a symlink */
	int dirfd;
};

/* Opens the temp file next to path (NULL: stdout). 0, or -errno after
 * printing one message naming the file. */
int report_out_open(struct report_out *o, const char *path);
/* Flushes, syncs and renames into place. 0 or -errno (message printed);
 * on error the previous file at path is untouched. */
int report_out_commit(struct report_out *o);
/* Says the write failed (err: -errno) and drops the temp file. */
void report_out_fail(struct report_out *o, int err);
/* Drops the temp file (nothing written to path). */
void report_out_abort(struct report_out *o);

/* Writes s to out with every byte that is not part of valid UTF-8 (or
 * is an overlong or surrogate form) written as the four characters
 * "\\xHH": s is serialized JSON, where such bytes only occur inside
 * strings, so the result is valid JSON and valid UTF-8. 0 or -EIO. */
int fputs_utf8(const char *s, FILE *out);
/* Length of the valid UTF-8 sequence at s (1-4), 0 when invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t left);
#endif
