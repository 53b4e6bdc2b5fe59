// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The bundle's files: written under the temporary directory, then packed
 * as a ustar .tar.gz (zlib), written to a temporary name and renamed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "capture/capture_int.h"
#include "util/log.h"

static int mkdirs(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

FILE *cap_open(struct capture *c, const char *rel)
{
	char path[PATH_MAX * 2];
	char **files;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->tmp, rel);
	if (mkdirs(path))
		return NULL;
	f = fopen(path, "w");
	if (!f) {
		lt_warn("capture: cannot write %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (size_t i = 0; i < c->nfiles; i++)
		if (!strcmp(c->files[i], rel))
			return f;
	files = realloc(c->files, (c->nfiles + 1) * sizeof(*files));
	if (files) {
		c->files = files;
		c->files[c->nfiles] = strdup(rel);
		if (c->files[c->nfiles])
			c->nfiles++;
	}
	return f;
}

int cap_close(FILE *f)
{
	int err = ferror(f) ? -EIO : 0;

	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* One ustar header; name split into prefix/name when longer than 99. */
static int tar_header(gzFile gz, const char *name, uint64_t size, char type,
		      time_t mtime)
{
	unsigned char h[512] = {};
	size_t len = strlen(name);
	unsigned int sum = 0;

	if (len < 100) {
		memcpy(h, name, len);
	} else {
		const char *cut = name + len - 99;

		cut = strchr(cut, '/');
		if (!cut || cut - name > 154)
			return -ENAMETOOLONG;
		memcpy(h + 345, name, cut - name);
		memcpy(h, cut + 1, strlen(cut + 1));
	}
	snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)mtime);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	return gzwrite(gz, h, 512) == 512 ? 0 : -EIO;
}

static int tar_file(gzFile gz, const char *path, const char *name)
{
	static const char zero[512];
	char buf[65536];
	struct stat st;
	uint64_t done = 0;
	FILE *f = fopen(path, "r");
	size_t r;
	int err;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st)) {
		fclose(f);
		return -errno;
	}
	err = tar_header(gz, name, st.st_size, '0', st.st_mtime);
	while (!err && done < (uint64_t)st.st_size &&
	       (r = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (r > st.st_size - done)
			r = st.st_size - done;
		if (gzwrite(gz, buf, r) != (int)r)
			err = -EIO;
		done += r;
	}
	fclose(f);
	if (!err && done < (uint64_t)st.st_size)
		err = -EIO;	/* shrank under us */
	if (!err && (done % 512) && gzwrite(gz, zero, 512 - done % 512) <= 0)
		err = -EIO;
	return err;
}

int cap_tarball(struct capture *c, const char *dir, const char *out)
{
	static const char zero[1024];
	char tmp[PATH_MAX + 32], path[PATH_MAX * 2], name[PATH_MAX * 2];
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	time_t now = time(NULL);
	gzFile gz;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.partial-%d", out, (int)getpid());
	gz = gzopen(tmp, "wb9");
	if (!gz)
		return -1;
	snprintf(name, sizeof(name), "%s/", base);
	err = tar_header(gz, name, 0, '5', now);
	for (size_t i = 0; !err && i < c->nfiles; i++) {
		/* Directories of nested files first (tar needs no order, but
		 * some unpackers want them). */
		const char *slash = strrchr(c->files[i], '/');

		if (slash) {
			bool seen = false;
			size_t dl = slash - c->files[i] + 1;

			for (size_t k = 0; k < i && !seen; k++)
				seen = !strncmp(c->files[k], c->files[i], dl);
			if (!seen) {
				snprintf(name, sizeof(name), "%s/%.*s", base,
					 (int)dl, c->files[i]);
				err = tar_header(gz, name, 0, '5', now);
			}
		}
		snprintf(path, sizeof(path), "%s/%s", dir, c->files[i]);
		snprintf(name, sizeof(name), "%s/%s", base, c->files[i]);
		if (!err)
			err = tar_file(gz, path, name);
	}
	if (!err && gzwrite(gz, zero, sizeof(zero)) != sizeof(zero))
		err = -EIO;
	if (gzclose(gz) != Z_OK && !err)
		err = -EIO;
	if (!err && rename(tmp, out))
		err = -errno;
	if (err) {
		unlink(tmp);
		errno = -err;
		return -1;
	}
	return 0;
}
