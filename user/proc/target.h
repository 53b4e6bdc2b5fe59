/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* proc/: the traced process from /proc: starting or opening it (this file),
 * its mappings (procmaps.h), status and memory totals (procstat.h). */
/* The traced process: an existing pid, or a command started held until the
 * probes are attached. */
#ifndef LT_TARGET_H
#define LT_TARGET_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "proc/procid.h"

struct target {
	pid_t pid;
	pid_t proc_pid;		/* for /proc reads: pid, or a live thread of it
				 * once its main thread has exited */
	char comm[64];
	char exe[PATH_MAX];
	bool spawned;		/* started by us with -- CMD */
	bool own_group;		/* spawned in its own process group */
	int release_fd;		/* spawned: write end that lets it exec */
	int exec_err_fd;	/* spawned: read end, carries exec's errno */
	bool exited;
	int exit_status;	/* spawned: wait status */
	bool is_go;		/* the executable is a Go binary */
	struct procid id;	/* host ids (BPF filters on them), execs */
};

/* The target's tgid as BPF sees it (differs from pid in a child pid
 * namespace). */
static inline pid_t target_host_pid(const struct target *t)
{
	return t->id.host_tgid ? t->id.host_tgid : t->pid;
}

/* Validates an existing pid and maps it to host ids. 0, or -errno after
 * printing one clear message (-ESRCH no such process, -EINVAL kernel
 * thread or a thread id, -EPERM). */
int target_open_pid(struct target *t, pid_t pid);
/* Forks argv[0]; the child waits to exec until target_release(). */
int target_spawn(struct target *t, char **argv);
/* Lets it exec: 0, -errno of a failed exec, or -ECHILD when it died
 * before it could (reaped; target_vanished() says how). */
int target_release(struct target *t);
/* Re-reads comm and exe (after exec). */
void target_refresh_names(struct target *t);
/* False once the process has exited (reaps a spawned child). */
bool target_alive(struct target *t);
/* During set-up (a command: before its release): true, said in one line,
 * when the target is gone; nothing of it can be traced (exit 2). */
bool target_vanished(struct target *t);
/* The target's executable as a path usable from here: /proc/PID/exe for a
 * running process (works across mount namespaces), argv[0] resolved
 * through PATH for one we start (argv NULL: its /proc/PID/exe, after it
 * exec'd). 0 or -errno. */
int target_exe_path(const struct target *t, char **argv, char *buf,
		    size_t len);
/* True when the executable at path is a Go binary (.go.buildinfo). */
bool target_exe_is_go(const char *path);
/* Ends a spawned child: SIGTERM to it and its process group, SIGKILL
 * after a grace period; reaps it. Frees the host-id state. */
void target_abort(struct target *t);
/* Tests only (tests/e2e/test_robust.py, README "Tests"): with
 * LEAKTRACE_TEST_STOP=STAGE in the environment leaktrace stops itself
 * (SIGSTOP) when set-up reaches STAGE ("opened": the target validated;
 * "loaded": memory and thread programs attached; "ready": every probe
 * attached), so a test can end the target exactly there, then SIGCONT it.
 * Without the variable it does nothing. */
void target_test_stop(const char *stage);
/* A thread id of the target's in our namespace as BPF sees it. */
pid_t target_host_tid(const struct target *t, pid_t tid);
#endif
