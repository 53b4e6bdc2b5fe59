// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The targets' identity as the kernel sees it: host ids of the tasks we
 * see in our own pid namespace (a task iterator), and the targets' execs
 * (sched_process_exec). One object for the run, whatever the number of
 * targets. Standalone: no shared maps, no ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "leaktrace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Host tgid -> its execs (user space adds the tgids it watches). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct lt_exec_count);
} exec_watch SEC(".maps");

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
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lt_exec_count *c = bpf_map_lookup_elem(&exec_watch, &tgid);

	if (!c)
		return 0;
	c->ns = bpf_ktime_get_ns();
	__sync_fetch_and_add(&c->count, 1);
	return 0;
}
