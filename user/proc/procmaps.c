// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* /proc/PID/maps parser. A line is
 *   start-end perms offset major:minor inode [path]
 * with hex numbers (8 digits on 32-bit kernels, 12+ on 64-bit), a decimal
 * inode, and a path that runs to the end of the line: it may contain spaces
 * and end in " (deleted)", both kept as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/procmaps.h"

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parses one hex or decimal number ending at a char in stop. */
static int parse_num(const char **pp, int base, const char *stop,
		     uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int digits = 0;

	for (;; p++, digits++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	/* strchr() finds the terminator too: a NUL only ends the last field */
	if (!digits || !strchr(stop, *p) || (!*p && !strchr(stop, '\n')))
		return -EINVAL;
	*pp = p;
	*out = v;
	return 0;
}

static int parse_line(const char *p, const char *eol, struct map_entry *e)
{
	uint64_t maj, min;
	const char *end;
	size_t len;
	int err;

	memset(e, 0, sizeof(*e));
	if ((err = parse_num(&p, 16, "-", &e->start)))
		return err;
	p++;
	if ((err = parse_num(&p, 16, " ", &e->end)))
		return err;
	p = skip_blank(p);
	if (eol - p < 4)
		return -EINVAL;
	e->r = p[0] == 'r';
	e->w = p[1] == 'w';
	e->x = p[2] == 'x';
	e->p = p[3] == 'p';
	p = skip_blank(p + 4);
	if ((err = parse_num(&p, 16, " ", &e->offset)))
		return err;
	p = skip_blank(p);
	if ((err = parse_num(&p, 16, ":", &maj)))
		return err;
	p++;
	if ((err = parse_num(&p, 16, " ", &min)))
		return err;
	e->dev_major = maj;
	e->dev_minor = min;
	p = skip_blank(p);
	if ((err = parse_num(&p, 10, " \t\n", &e->inode)))
		return err;
	if (e->end < e->start)
		return -EINVAL;
	/* The path column is padded with spaces; a path may itself contain
	 * spaces, so only the padding in front is skipped. */
	p = skip_blank(p);
	end = eol;
	len = end > p ? (size_t)(end - p) : 0;
	e->path = malloc(len + 1);
	if (!e->path)
		return -ENOMEM;
	memcpy(e->path, p, len);
	e->path[len] = '\0';
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct map_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

int procmaps_parse(const char *text, struct map_entry **out, size_t *n)
{
	struct map_entry *v = NULL, *nv;
	size_t len = 0, cap = 0;
	const char *p = text;
	bool sorted = true;
	int err;

	while (*p) {
		const char *eol = strchr(p, '\n');

		if (!eol)
			eol = p + strlen(p);
		if (eol == p) {		/* empty line */
			p = *eol ? eol + 1 : eol;
			continue;
		}
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto fail;
			}
			v = nv;
		}
		err = parse_line(p, eol, &v[len]);
		if (err)
			goto fail;
		if (len && v[len].start < v[len - 1].start)
			sorted = false;
		len++;
		p = *eol ? eol + 1 : eol;
	}
	if (!sorted)
		qsort(v, len, sizeof(*v), cmp_entry);
	*out = v;
	*n = len;
	return 0;
fail:
	procmaps_free(v, len);
	return err;
}

int procmaps_read(int pid, struct map_entry **out, size_t *n)
{
	char path[64], *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd, err;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += r;
	}
	buf[len] = '\0';
	err = procmaps_parse(buf, out, n);
out:
	free(buf);
	close(fd);
	return err;
}

void procmaps_free(struct map_entry *m, size_t n)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}

const struct map_entry *procmaps_find(const struct map_entry *m, size_t n,
				      uint64_t addr)
{
	size_t lo = 0, hi = n;

	/* First entry with start > addr; the one before may contain it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	m += lo - 1;
	return addr < m->end ? m : NULL;
}
