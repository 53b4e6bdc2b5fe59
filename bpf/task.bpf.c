// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* OS threads of the target: creation (with the creator's user stack) and
 * exit, from the task and sched tracepoints. */
#include "common.bpf.h"
#include "ucopy.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define LT_CLONE_THREAD 0x00010000

SEC("tracepoint/task/task_newtask")
int lt_task_new(struct trace_event_raw_task_newtask *ctx)
{
	struct lt_task_event e = {};

	if (!lt_is_target() || !(ctx->clone_flags & LT_CLONE_THREAD))
		return 0;
	e.type = LT_EV_THREAD_NEW;
	e.tgid = bpf_get_current_pid_tgid() >> 32;
	e.tid = ctx->pid;
	e.ts_ns = bpf_ktime_get_ns();
	e.stack_id = lt_capture_user_stack();
	/* Runs in the creator, inside clone: its user registers and stack. */
	lt_output(&e, sizeof(e), __builtin_offsetof(struct lt_task_event, copy_bytes),
		  e.stack_id);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int lt_task_exit(void *ctx)
{
	struct lt_task_event *e;

	if (!lt_is_target())
		return 0;
	e = lt_reserve(sizeof(*e));
	if (!e)
		return 0;
	e->type = LT_EV_THREAD_EXIT;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->stack_id = 0;
	e->copy_bytes = 0;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	lt_submit(e);
	return 0;
}
