/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process facts from /proc: memory totals for cross-checking the
 * model, identity, kernel-thread and liveness checks, the brk area.
 * Errors are -errno; -ESRCH when the process is gone.
 */
#ifndef LT_PROCSTAT_H
#define LT_PROCSTAT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_totals {
	/* bytes, from /proc/PID/status; all 0 for a zombie or a kthread */
	uint64_t rss, rss_anon, rss_file, rss_shmem, lazyfree, vm_size;
	uint64_t vm_data;	/* private writable mappings (VmData): every
				 * byte malloc hands out is in them */
	uint32_t threads;
	/* lazyfree was read: /proc/PID/smaps_rollup exists (Linux >= 4.14)
	 * and we may read it (same rights as ptrace attach) */
	bool have_lazyfree;
};

/* /proc/PID/status (VmRSS, RssAnon, RssFile, RssShmem, VmSize, VmData, Threads)
 * and, when lazyfree, /proc/PID/smaps_rollup (LazyFree: the kernel walks
 * every page table of the process for it, ~1-4 ms for 30 MB resident).
 * 0 or -errno. */
int procstat_sample(int pid, struct proc_totals *out, bool lazyfree);
/* The command name (/proc/PID/comm, at most 15 chars), truncated to len. */
int procstat_comm(int pid, char *buf, size_t len);
/* The executable's path as the kernel reports it (" (deleted)" suffix
 * included); -ENAMETOOLONG when it does not fit, -ENOENT for a kthread or
 * a zombie, -EACCES without ptrace rights. */
int procstat_exe(int pid, char *buf, size_t len);
/* PF_KTHREAD in the flags of /proc/PID/stat; false when gone. */
bool procstat_is_kernel_thread(int pid);
bool procstat_is_zombie_or_gone(int pid);
/* start_brk from /proc/PID/stat (Linux >= 3.5, else -EOPNOTSUPP; 0 when
 * the kernel hides it from us) and the current break: the end of the
 * [heap] mapping in /proc/PID/maps (page aligned), else start_brk. */
int procstat_start_brk(int pid, uint64_t *start_brk, uint64_t *cur_brk);
/* Number of threads: entries of /proc/PID/task, or -errno. */
int procstat_task_count(int pid);
#endif
