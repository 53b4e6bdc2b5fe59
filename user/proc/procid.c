// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "leaktrace.h"
#include "procid.skel.h"
#include "proc/procid.h"

/* The initial pid namespace's inode number (PROC_PID_INIT_INO). */
#define LT_INIT_PID_NS_INO 0xEFFFFFFCU

/* One BPF object for every target of the run: loading it (CO-RE against
 * the kernel's BTF) per process costs milliseconds of CPU, a node-wide
 * run attaches hundreds. Held by every procid that resolved through it. */
static struct procid_bpf *shared;
static unsigned int shared_refs;

bool procid_in_child_ns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return false;
	return st.st_ino != LT_INIT_PID_NS_INO;
}

static int load(struct procid *p)
{
	int err;

	if (p->skel)
		return 0;
	if (!shared) {
		shared = procid_bpf__open();
		if (!shared)
			return -errno;
		/* Attached on demand: lt_exec by procid_watch_exec. */
		err = procid_bpf__load(shared);
		if (err) {
			procid_bpf__destroy(shared);
			shared = NULL;
			return err;
		}
	}
	shared_refs++;
	p->skel = shared;
	return 0;
}

static int add_tid(struct procid *p, pid_t ns, pid_t host)
{
	pid_t *a, *b;

	a = realloc(p->ns_tids, (p->ntids + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	p->ns_tids = a;
	b = realloc(p->host_tids, (p->ntids + 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	p->host_tids = b;
	a[p->ntids] = ns;
	b[p->ntids++] = host;
	return 0;
}

/* One pass of the task iterator over every task of our namespace. */
static int iterate(struct procid *p, pid_t pid)
{
	struct bpf_link *link;
	struct lt_nspid_rec r;
	int fd, err = 0;
	ssize_t n;

	link = bpf_program__attach_iter(p->skel->progs.lt_nspid, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	p->host_tgid = 0;
	p->ntids = 0;
	while ((n = read(fd, &r, sizeof(r))) == sizeof(r)) {
		if (r.ns_tgid != pid)
			continue;
		if (r.ns_tid == pid)
			p->host_tgid = r.host_tgid;
		err = add_tid(p, r.ns_tid, r.host_tid);
		if (err)
			break;
	}
	if (n < 0 && !err)
		err = -errno;
	close(fd);
out:
	bpf_link__destroy(link);
	if (!err && !p->host_tgid)
		err = -ESRCH;
	return err;
}

/* Our pid as the mounted /proc names it: not getpid() when /proc belongs
 * to another pid namespace (unshare -p without a /proc of its own). */
static pid_t proc_self(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

int procid_resolve(struct procid *p, pid_t pid)
{
	int err;

	/* Pids we are given are those of our /proc. When it is not our own
	 * namespace's it is, in practice, the host's: nothing to map. */
	p->child_ns = procid_in_child_ns() && proc_self() == getpid();
	p->host_tgid = pid;
	err = load(p);
	if (err)
		return p->child_ns ? err : 0;
	if (!p->child_ns)
		return 0;
	return iterate(p, pid);
}

pid_t procid_host_tid(const struct procid *p, pid_t tid)
{
	for (int i = 0; i < p->ntids; i++)
		if (p->ns_tids[i] == tid)
			return p->host_tids[i];
	return tid;
}

int procid_watch_exec(struct procid *p)
{
	struct lt_exec_count c = {};
	int err;

	if (!p->skel && (err = load(p)))
		return err;
	if (bpf_map__update_elem(p->skel->maps.exec_watch, &p->host_tgid,
				 sizeof(p->host_tgid), &c, sizeof(c), BPF_ANY))
		return -errno;
	p->watching = true;
	p->execs_seen = 0;
	if (!p->skel->links.lt_exec &&
	    !(p->skel->links.lt_exec =
		      bpf_program__attach(p->skel->progs.lt_exec)))
		return -errno;
	return 0;
}

uint64_t procid_new_execs(struct procid *p, uint64_t *ts_ns)
{
	struct lt_exec_count c;
	uint64_t n;

	if (!p->watching || !p->skel->links.lt_exec ||
	    bpf_map__lookup_elem(p->skel->maps.exec_watch, &p->host_tgid,
				 sizeof(p->host_tgid), &c, sizeof(c), 0))
		return 0;
	n = c.count - p->execs_seen;
	p->execs_seen = c.count;
	if (n && ts_ns)
		*ts_ns = c.ns;
	return n;
}

void procid_free(struct procid *p)
{
	if (p->watching)
		bpf_map__delete_elem(p->skel->maps.exec_watch, &p->host_tgid,
				     sizeof(p->host_tgid), 0);
	if (p->skel && !--shared_refs) {
		procid_bpf__destroy(shared);
		shared = NULL;
	}
	free(p->ns_tids);
	free(p->host_tids);
	memset(p, 0, sizeof(*p));
}
