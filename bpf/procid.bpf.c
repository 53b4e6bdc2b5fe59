// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The target's identity as the kernel sees it: host ids of the tasks we
 * see in our own pid namespace (a task iterator), and the target's execs
 * (sched_process_exec). Standalone: no shared maps, no ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "leaktrace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Written by user space after load. */
__u32 exec_tgid = 0;
/* Execs of exec_tgid seen, and the time of the last one. */
__u64 exec_count = 0;
__u64 exec_ns = 0;

struct lt_nspid_rec {
	__s32 ns_tid, ns_tgid;	/* in the reader's pid namespace */
	__s32 host_tid, host_tgid;
};

/* The pid number of p at namespace level lvl (0 when p is not that deep). */
static __always_inline int pid_nr_at(struct pid *p, unsigned int lvl)
{
	unsigned int plevel;
	struct upid up;

	if (!p)
		return 0;
	plevel = BPF_CORE_READ(p, level);
	if (lvl > plevel || lvl > 32)
		return 0;
	if (bpf_probe_read_kernel(&up, sizeof(up), (char *)p +
				  bpf_core_field_offset(struct pid, numbers) +
				  lvl * bpf_core_type_size(struct upid)))
		return 0;
	return up.nr;
}

SEC("iter/task")
int lt_nspid(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *me, *leader;
	struct lt_nspid_rec r;
	unsigned int lvl;

	if (!task)
		return 0;
	me = bpf_get_current_task_btf();
	lvl = BPF_CORE_READ(me, thread_pid, level);
	leader = BPF_CORE_READ(task, group_leader);
	r.host_tid = BPF_CORE_READ(task, pid);
	r.host_tgid = BPF_CORE_READ(task, tgid);
	r.ns_tid = pid_nr_at(BPF_CORE_READ(task, thread_pid), lvl);
	r.ns_tgid = pid_nr_at(BPF_CORE_READ(leader, thread_pid), lvl);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lt_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	if ((bpf_get_current_pid_tgid() >> 32) != exec_tgid || !exec_tgid)
		return 0;
	__sync_fetch_and_add(&exec_count, 1);
	exec_ns = bpf_ktime_get_ns();
	return 0;
}
