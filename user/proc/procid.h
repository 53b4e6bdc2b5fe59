/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The target's host ids and its execs. Pids we are given and read in
 * /proc are those of our own pid namespace; BPF sees host ids. Inside a
 * child pid namespace (a debug container, unshare -p) a task iterator run
 * from here maps one to the other. The same BPF object, one for all
 * targets, counts the targets' execs (sched_process_exec, by tgid).
 */
#ifndef LT_PROCID_H
#define LT_PROCID_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct procid_bpf;

struct procid {
	struct procid_bpf *skel;	/* the run's one object, shared */
	bool child_ns;		/* we run in a pid namespace below the host's */
	pid_t host_tgid;
	int ntids;		/* the target's threads at resolve time */
	pid_t *ns_tids, *host_tids;
	uint64_t execs_seen;
	bool watching;		/* host_tgid is in the exec_watch map */
};

/* True when our pid namespace is not the initial one. */
bool procid_in_child_ns(void);
/* Host tgid and thread ids of pid (a tgid in our namespace). Loads the
 * BPF object (kept for procid_watch_exec). 0, -ESRCH when the task iterator
 * does not see pid, or -errno (BPF not loadable: only an error in a child
 * namespace; in the initial one ids are the host's). */
int procid_resolve(struct procid *p, pid_t pid);
/* Host tid of a thread id of our namespace; tid itself when unknown. */
pid_t procid_host_tid(const struct procid *p, pid_t tid);
/* Starts counting the execs of host_tgid. 0 or -errno. */
int procid_watch_exec(struct procid *p);
/* Execs since the last call (0 when not watching); *ts_ns: the last one's
 * CLOCK_MONOTONIC time. */
uint64_t procid_new_execs(struct procid *p, uint64_t *ts_ns);
void procid_free(struct procid *p);
#endif
