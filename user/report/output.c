// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report/output.h"
#include "util/log.h"

static int open_dir_of(const char *path, char *base, size_t len)
{
	char dir[PATH_MAX], name[PATH_MAX];
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(name, sizeof(name), "%s", path) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	snprintf(base, len, "%s", basename(name));
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int report_out_open(struct report_out *o, const char *path)
{
	char base[NAME_MAX + 1];
	struct stat st;
	mode_t mask;
	int fd, err;

	memset(o, 0, sizeof(*o));
	o->dirfd = -1;
	o->path = path;
	if (!path) {
		o->f = stdout;
		return 0;
	}
	/* A symlink is written through, as fopen would: the file it names is
	 * replaced, the link stays. */
	if (!lstat(path, &st) && S_ISLNK(st.st_mode) && realpath(path, o->real))
		o->path = path = o->real;
	if (!*path || path[strlen(path) - 1] == '/') {
		lt_err("cannot write the report to %s: not a file name\n", path);
		return -EISDIR;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		lt_err("cannot write the report to %s: it is a directory\n", path);
		return -EISDIR;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		/* A pipe, a device: write to it as it is, no rename. */
		o->f = fopen(path, "we");
		if (!o->f) {
			err = -errno;
			lt_err("cannot write the report to %s: %s\n", path, strerror(-err));
			return err;
		}
		return 0;
	}
	o->dirfd = open_dir_of(path, base, sizeof(base));
	if (o->dirfd < 0) {
		err = o->dirfd;
		lt_err("cannot write the report to %s: its directory: %s\n", path,
		       strerror(-err));
		return err;
	}
	mask = umask(0);
	umask(mask);
	/* Unnamed until it is complete: nothing is left behind if we die. */
	fd = openat(o->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666 & ~mask);
	if (fd < 0) {
		snprintf(o->tmp, sizeof(o->tmp), ".%s.XXXXXX", base);
		fd = -1;
		for (int i = 0; i < 100 && fd < 0; i++) {
			char *x = o->tmp + strlen(o->tmp) - 6;

			for (int j = 0; j < 6; j++)
				x[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[rand() % 36];
			fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL |
				    O_CLOEXEC, 0666 & ~mask);
			if (fd < 0 && errno != EEXIST)
				break;
		}
	}
	if (fd < 0) {
		err = -errno;
		report_out_abort(o);
		lt_err("cannot write the report to %s: %s\n", path, strerror(-err));
		return err;
	}
	/* The replaced file keeps its mode and owner. */
	if (!stat(path, &st) && S_ISREG(st.st_mode)) {
		if (fchmod(fd, st.st_mode & 07777) || (fchown(fd, st.st_uid, st.st_gid) &&
						       errno != EPERM))
			lt_debug("%s: cannot keep its mode or owner: %s\n", path,
				 strerror(errno));
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		report_out_abort(o);
		return err;
	}
	return 0;
}

int report_out_commit(struct report_out *o)
{
	char proc[64], tmp2[NAME_MAX + 1];
	char base[NAME_MAX + 1];
	int err = 0, fd;

	if (!o->path || o->f == stdout)
		return fflush(stdout) ? -errno : 0;
	if (o->dirfd < 0) {	/* not a regular file */
		err = fclose(o->f) ? -errno : 0;
		o->f = NULL;
		goto out;
	}
	fd = fileno(o->f);
	if (fflush(o->f) || fsync(fd))
		err = -errno;
	if (!err && !o->tmp[0]) {
		/* O_TMPFILE: give it a temporary name, then rename. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		snprintf(base, sizeof(base), "%s", strrchr(o->path, '/') ?
			 strrchr(o->path, '/') + 1 : o->path);
		for (int i = 0; i < 100; i++) {
			snprintf(tmp2, sizeof(tmp2), ".%.200s.%d.%d", base, getpid(), i);
			if (!linkat(AT_FDCWD, proc, o->dirfd, tmp2, AT_SYMLINK_FOLLOW)) {
				snprintf(o->tmp, sizeof(o->tmp), "%s", tmp2);
				break;
			}
			if (errno != EEXIST) {
				err = -errno;
				break;
			}
		}
		if (!err && !o->tmp[0])
			err = -EEXIST;
	}
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!err) {
		char name[PATH_MAX];

		snprintf(name, sizeof(name), "%s", o->path);
		if (renameat(o->dirfd, o->tmp, AT_FDCWD, name))
			err = -errno;
		else
			o->tmp[0] = '\0';
		if (!err)
			fsync(o->dirfd);
	}
out:
	if (err)
		report_out_fail(o, err);
	report_out_abort(o);
	return err;
}

void report_out_fail(struct report_out *o, int err)
{
	if (!o->path)
		lt_err("writing the report failed: %s\n", strerror(-err));
	else
		lt_err("writing the report to %s failed: %s%s\n", o->path, strerror(-err),
		       o->dirfd >= 0 ? " (the previous file is untouched)" : "");
	report_out_abort(o);
}

void report_out_abort(struct report_out *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp[0] && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmp, 0);
	o->tmp[0] = '\0';
	if (o->dirfd >= 0)
		close(o->dirfd);
	o->dirfd = -1;
}

size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int fputs_utf8(const char *s, FILE *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	while (left) {
		size_t run = 0, n;

		/* Longest valid prefix in one write. */
		while (run < left && (n = utf8_seq_len(p + run, left - run)))
			run += n;
		if (run && fwrite(p, 1, run, out) != run)
			return -EIO;
		p += run;
		left -= run;
		if (left) {
			if (fprintf(out, "\\\\x%02x", *p) < 0)
				return -EIO;
			p++;
			left--;
		}
	}
	return 0;
}
