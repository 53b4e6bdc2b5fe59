/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process facts from /proc. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/procstat.h"

#define PF_KTHREAD		0x00200000
/* /proc/PID/stat fields, numbered as in proc(5) */
#define STAT_STATE		3
#define STAT_FLAGS		9
#define STAT_START_BRK		47	/* Linux >= 3.5 */
#define STAT_MAX		STAT_START_BRK

/* An open or read that failed with ENOENT/ESRCH means "gone" only if the
 * /proc/PID directory went away too. Otherwise the data is absent: a
 * kthread or a zombie has no mm (smaps_rollup gives ESRCH), no exe. */
static int proc_err(int pid, int err)
{
	char path[32];

	if (err != ENOENT && err != ESRCH)
		return -err;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK) && errno == ENOENT)
		return -ESRCH;
	return -ENOENT;
}

static FILE *proc_open(int pid, const char *name, int *err)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	f = fopen(path, "re");
	if (!f)
		*err = proc_err(pid, errno);
	return f;
}

/* Reads "Key:   123 kB" as bytes when line starts with key. */
static bool kb_field(const char *line, const char *key, uint64_t *out)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || line[n] != ':')
		return false;
	*out = strtoull(line + n + 1, NULL, 10) * 1024;
	return true;
}

static bool num_field(const char *line, const char *key, uint64_t *out)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || line[n] != ':')
		return false;
	*out = strtoull(line + n + 1, NULL, 10);
	return true;
}

static int read_status(int pid, struct proc_totals *out)
{
	char *line = NULL;
	size_t cap = 0;
	uint64_t v;
	int err = 0;
	FILE *f;

	f = proc_open(pid, "status", &err);
	if (!f)
		return err;
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		if (kb_field(line, "VmRSS", &out->rss) ||
		    kb_field(line, "RssAnon", &out->rss_anon) ||
		    kb_field(line, "RssFile", &out->rss_file) ||
		    kb_field(line, "RssShmem", &out->rss_shmem) ||
		    kb_field(line, "VmSize", &out->vm_size) ||
		    kb_field(line, "VmData", &out->vm_data))
			continue;
		if (num_field(line, "Threads", &v))
			out->threads = (uint32_t)v;
	}
	if (ferror(f))
		err = proc_err(pid, errno ? errno : EIO);
	free(line);
	fclose(f);
	return err;
}

static int read_lazyfree(int pid, struct proc_totals *out)
{
	char *line = NULL;
	size_t cap = 0;
	int err = 0;
	FILE *f;

	f = proc_open(pid, "smaps_rollup", &err);
	if (!f)
		return err;
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		if (kb_field(line, "LazyFree", &out->lazyfree)) {
			out->have_lazyfree = true;
			break;
		}
	}
	if (ferror(f))
		err = proc_err(pid, errno ? errno : EIO);
	free(line);
	fclose(f);
	return err;
}

int procstat_sample(int pid, struct proc_totals *out, bool lazyfree)
{
	int err;

	memset(out, 0, sizeof(*out));
	if (pid <= 0)
		return -EINVAL;
	err = read_status(pid, out);
	if (err || !lazyfree)
		return err;
	/* Missing file (old kernel) or no ptrace rights: no LazyFree, not an
	 * error. A process gone in between is. */
	err = read_lazyfree(pid, out);
	if (err == -ESRCH)
		return err;
	if (err)
		out->lazyfree = 0;
	return 0;
}

struct stat_fields {
	char state;
	int nfields;			/* fields present, counted from 1 */
	uint64_t f[STAT_MAX + 1];	/* numeric fields 4..STAT_MAX */
};

/* Parses /proc/PID/stat. comm (field 2) may hold spaces and ')', so the
 * fields after it are found from the last ')'. */
static int read_stat(int pid, struct stat_fields *st)
{
	char *line = NULL, *p, *end;
	size_t cap = 0;
	int err = 0, i;
	FILE *f;

	memset(st, 0, sizeof(*st));
	if (pid <= 0)
		return -EINVAL;
	f = proc_open(pid, "stat", &err);
	if (!f)
		return err;
	errno = 0;
	if (getline(&line, &cap, f) < 0) {
		err = proc_err(pid, errno ? errno : EIO);
		goto out;
	}
	p = strrchr(line, ')');
	if (!p || p[1] != ' ' || !p[2]) {
		err = -EPROTO;
		goto out;
	}
	st->state = p[2];
	st->nfields = STAT_STATE;
	p += 3;
	for (i = STAT_STATE + 1; i <= STAT_MAX; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		/* signed fields (nice, tty_nr...) wrap; none that we use */
		st->f[i] = strtoull(p, &end, 10);
		if (end == p) {
			err = -EPROTO;
			goto out;
		}
		st->nfields = i;
		p = end;
	}
out:
	free(line);
	fclose(f);
	return err;
}

int procstat_comm(int pid, char *buf, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;
	FILE *f;

	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	if (pid <= 0)
		return -EINVAL;
	f = proc_open(pid, "comm", &err);
	if (!f)
		return err;
	errno = 0;
	n = getline(&line, &cap, f);
	if (n < 0) {
		err = proc_err(pid, errno ? errno : EIO);
	} else {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		snprintf(buf, len, "%s", line);
	}
	free(line);
	fclose(f);
	return err;
}

int procstat_exe(int pid, char *buf, size_t len)
{
	char path[32];
	ssize_t n;

	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len);
	if (n < 0) {
		buf[0] = '\0';
		return proc_err(pid, errno);
	}
	if ((size_t)n >= len) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	buf[n] = '\0';
	return 0;
}

bool procstat_is_kernel_thread(int pid)
{
	struct stat_fields st;

	if (read_stat(pid, &st) || st.nfields < STAT_FLAGS)
		return false;
	return st.f[STAT_FLAGS] & PF_KTHREAD;
}

bool procstat_is_zombie_or_gone(int pid)
{
	struct stat_fields st;
	int err = read_stat(pid, &st);

	if (err)
		return err == -ESRCH;
	/* Z zombie, X/x dead (never normally seen) */
	return st.state == 'Z' || st.state == 'X' || st.state == 'x';
}

/* End of the [heap] mapping(s), 0 when there is none. */
static int heap_end(int pid, uint64_t *end)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;
	FILE *f;

	*end = 0;
	f = proc_open(pid, "maps", &err);
	if (!f)
		return err;
	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		static const char tag[] = "[heap]";
		size_t tl = sizeof(tag) - 1;
		uint64_t hi;
		char *p;

		while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
		if ((size_t)n < tl || strcmp(line + n - tl, tag))
			continue;
		p = strchr(line, '-');
		if (!p)
			continue;
		hi = strtoull(p + 1, NULL, 16);
		if (hi > *end)
			*end = hi;	/* brk area split by mprotect */
	}
	if (ferror(f))
		err = proc_err(pid, errno ? errno : EIO);
	free(line);
	fclose(f);
	return err;
}

int procstat_start_brk(int pid, uint64_t *start_brk, uint64_t *cur_brk)
{
	struct stat_fields st;
	uint64_t end;
	int err;

	*start_brk = *cur_brk = 0;
	err = read_stat(pid, &st);
	if (err)
		return err;
	if (st.nfields < STAT_START_BRK)
		return -EOPNOTSUPP;
	err = heap_end(pid, &end);
	if (err)
		return err;
	*start_brk = st.f[STAT_START_BRK];
	*cur_brk = end ? end : *start_brk;
	return 0;
}

int procstat_task_count(int pid)
{
	struct dirent *de;
	char path[32];
	int n = 0;
	DIR *d;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return proc_err(pid, errno);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}
