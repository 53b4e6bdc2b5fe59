// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <gelf.h>
#include "go/gopclntab.h"
#include "util/log.h"
#include "proc/procstat.h"
#include "proc/target.h"

void target_refresh_names(struct target *t)
{
	if (procstat_comm(t->pid, t->comm, sizeof(t->comm)))
		t->comm[0] = '\0';
	if (procstat_exe(t->proc_pid, t->exe, sizeof(t->exe)))
		t->exe[0] = '\0';
}

/* Tgid: from /proc/PID/status; 0 when unreadable. */
static pid_t read_tgid(pid_t pid)
{
	char path[64], line[256];
	pid_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* A process lives while any of its threads does: a main thread that
 * called pthread_exit is a zombie while the others run on. *live: a live
 * thread (pid itself when the leader runs). */
static bool process_gone(pid_t pid, pid_t *live)
{
	char path[64];
	struct dirent *d;
	bool gone = true;
	DIR *dir;

	*live = pid;
	if (!procstat_is_zombie_or_gone(pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return true;
	while (gone && (d = readdir(dir))) {
		long tid = strtol(d->d_name, NULL, 10);
		char tpath[96];
		char state = 0;
		FILE *f;

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%ld/stat", pid, tid);
		f = fopen(tpath, "re");
		if (!f)
			continue;
		/* "tid (comm) S ...": comm may hold spaces and parentheses. */
		if (fscanf(f, "%*d (%*[^)]") >= 0) {
			char buf[512];
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			char *rp;

			buf[n] = '\0';
			rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ')
				state = rp[2];
		}
		fclose(f);
		if (state && state != 'Z' && state != 'X' && state != 'x') {
			gone = false;
			*live = tid;
		}
	}
	closedir(dir);
	return gone;
}

static int resolve_ids(struct target *t)
{
	int err = procid_resolve(&t->id, t->pid);

	if (err == -ESRCH) {
		lt_err("process %d vanished while leaktrace was setting up\n", t->pid);
		return err;
	}
	if (err) {
		lt_err("we run in a child pid namespace and cannot map pid %d to the host's "
		       "(BPF task iterator: %s): leaktrace would trace another process\n",
		       t->pid, strerror(-err));
		return err;
	}
	if (t->id.child_ns)
		lt_info("pid namespace: pid %d is host pid %d\n", t->pid,
			t->id.host_tgid);
	return 0;
}

pid_t target_host_tid(const struct target *t, pid_t tid)
{
	return procid_host_tid(&t->id, tid);
}

int target_open_pid(struct target *t, pid_t pid)
{
	char path[64];
	pid_t tgid;

	memset(t, 0, sizeof(*t));
	t->pid = t->proc_pid = pid;
	t->release_fd = t->exec_err_fd = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || access(path, F_OK)) {
		lt_err("no such process: %d\n", pid);
		return -ESRCH;
	}
	if (procstat_is_kernel_thread(pid)) {
		lt_err("pid %d is a kernel thread: leaktrace traces user-space processes\n",
		       pid);
		return -EINVAL;
	}
	/* /proc/TID exists for every thread, only hidden from listings. */
	tgid = read_tgid(pid);
	if (tgid > 0 && tgid != pid) {
		lt_err("%d is a thread of process %d, not a process: give -p %d\n",
		       pid, tgid, tgid);
		return -EINVAL;
	}
	if (pid == getpid()) {
		lt_err("pid %d is leaktrace itself\n", pid);
		return -EINVAL;
	}
	if (process_gone(pid, &t->proc_pid)) {
		lt_err("process %d has already exited\n", pid);
		return -ESRCH;
	}
	if (t->proc_pid != pid)
		lt_note("process %d: its main thread has exited, reading /proc through "
			"thread %d\n", pid, t->proc_pid);
	target_refresh_names(t);
	return resolve_ids(t);
}

int target_spawn(struct target *t, char **argv)
{
	int go[2], err[2];
	bool own_group;
	pid_t pid;
	char c;

	memset(t, 0, sizeof(*t));
	t->release_fd = t->exec_err_fd = -1;
	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	/* Its own process group, so that ending it reaches the children it
	 * starts; but not when we are a terminal's foreground group: the
	 * command would lose the terminal (SIGTTIN) and Ctrl-C would no
	 * longer reach us both. */
	own_group = !isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int e;

		sigset_t none;

		close(go[1]);
		close(err[0]);
		/* The command runs as if started from a shell: default signal
		 * dispositions (we ignore SIGPIPE and catch others), nothing
		 * blocked. */
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (own_group)
			setpgid(0, 0);
		/* Hold until the parent has attached every probe. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	if (own_group)
		setpgid(pid, pid);	/* either side may run first */
	t->own_group = own_group;
	t->pid = t->proc_pid = pid;
	t->spawned = true;
	t->release_fd = go[1];
	t->exec_err_fd = err[0];
	snprintf(t->comm, sizeof(t->comm), "%s", argv[0]);
	return resolve_ids(t) ? -ESRCH : 0;
}

/* PF_FORKNOEXEC (linux/sched.h): forked, has not exec'd. exec clears it
 * before it closes the close-on-exec files. */
#define LT_PF_FORKNOEXEC 0x40

/* PF_EXITING: in do_exit (set before its memory and files go). */
#define LT_PF_EXITING 0x4

/* The task flags of pid (/proc/PID/stat), or all ones when it is gone. */
static unsigned long task_flags(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return ~0UL;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return 0;
	return flags;
}

/* The child never exec'd (it is dying or dead as the leaktrace fork it
 * was): its flags still say so. */
static bool never_execd(pid_t pid)
{
	return task_flags(pid) & LT_PF_FORKNOEXEC;
}

/* The held child died before it could exec (killed while leaktrace was
 * setting up): reaped, its status kept for target_vanished(). */
static int died_unreleased(struct target *t)
{
	int st = 0;

	if (waitpid(t->pid, &st, 0) == t->pid) {
		t->exited = true;
		t->exit_status = st;
	}
	return -ECHILD;
}

int target_release(struct target *t)
{
	int e = 0, err_fd = t->exec_err_fd;
	ssize_t n;

	if (!t->spawned || t->release_fd < 0)
		return 0;
	if (write(t->release_fd, "g", 1) != 1) {
		e = errno;
		/* Its read end is closed: it is exiting. */
		return e == EPIPE ? died_unreleased(t) : -e;
	}
	close(t->release_fd);
	t->release_fd = -1;
	t->exec_err_fd = -1;
	/* EOF on the error pipe: exec succeeded (the pipe is close-on-exec). */
	n = read(err_fd, &e, sizeof(e));
	close(err_fd);
	if (n == sizeof(e)) {
		waitpid(t->pid, NULL, 0);
		t->exited = true;
		return -e;
	}
	/* EOF: exec closed the pipe, or the child died before it (killed
	 * between our last look and the release). */
	if (never_execd(t->pid))
		return died_unreleased(t);
	target_refresh_names(t);
	return 0;
}

bool target_alive(struct target *t)
{
	int status;

	if (t->exited)
		return false;
	if (t->spawned) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->exited = true;
			t->exit_status = status;
			return false;
		}
		return true;
	}
	if (process_gone(t->pid, &t->proc_pid)) {
		t->exited = true;
		return false;
	}
	return true;
}

/* Grace period between SIGTERM and SIGKILL for a command we started. */
#define LT_TERM_GRACE_MS 2000

/* Signals the child and its process group (never 0: that is ours). */
static void signal_child(const struct target *t, int sig)
{
	if (t->own_group)
		kill(-t->pid, sig);
	kill(t->pid, sig);
}

void target_abort(struct target *t)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	int status;

	if (t->spawned && !t->exited && t->pid > 0) {
		if (t->release_fd >= 0) {
			/* Never ran the command: nothing to be gentle with. */
			signal_child(t, SIGKILL);
		} else {
			signal_child(t, SIGTERM);
			for (int i = 0; i < LT_TERM_GRACE_MS / 10; i++) {
				if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
					t->exited = true;
					t->exit_status = status;
					break;
				}
				nanosleep(&ms, NULL);
			}
			if (!t->exited)
				lt_warn("%s did not end %d ms after SIGTERM: SIGKILL\n",
					t->comm, LT_TERM_GRACE_MS);
		}
		/* The group's stragglers (the command may have ended alone). */
		if (!t->exited)
			signal_child(t, SIGKILL);
		else if (t->own_group)
			kill(-t->pid, SIGKILL);
		if (!t->exited)
			waitpid(t->pid, NULL, 0);
		t->exited = true;
	}
	if (t->release_fd >= 0)
		close(t->release_fd);
	if (t->exec_err_fd >= 0)
		close(t->exec_err_fd);
	t->release_fd = t->exec_err_fd = -1;
	procid_free(&t->id);
}

int target_exe_path(const struct target *t, char **argv, char *buf,
		    size_t len)
{
	const char *path;
	char *dirs, *dir, *save = NULL;

	if (!t->spawned || !argv) {
		snprintf(buf, len, "/proc/%d/exe", t->proc_pid);
		return 0;
	}
	if (strchr(argv[0], '/')) {
		snprintf(buf, len, "%s", argv[0]);
		if (access(buf, X_OK)) {
			int err = -errno;

			lt_err("cannot run %s: %s\n", argv[0], strerror(-err));
			return err;
		}
		return 0;
	}
	path = getenv("PATH");
	dirs = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return -ENOMEM;
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", *dir ? dir : ".", argv[0]);
		if (!access(buf, X_OK)) {
			free(dirs);
			return 0;
		}
	}
	free(dirs);
	lt_err("%s: command not found\n", argv[0]);
	return -ENOENT;
}

bool target_exe_is_go(const char *path)
{
	char ver[32];
	bool is_go = false;
	Elf *elf;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf) {
		is_go = go_buildinfo_version(elf, ver, sizeof(ver)) == 0;
		elf_end(elf);
	}
	close(fd);
	return is_go;
}

bool target_vanished(struct target *t)
{
	int st;

	/* A held child that is exiting (killed) is not waited for. */
	if (target_alive(t) &&
	    !(t->spawned && t->release_fd >= 0 && (task_flags(t->pid) & LT_PF_EXITING)))
		return false;
	if (!t->exited)
		died_unreleased(t);
	st = t->exit_status;
	if (!t->spawned)
		lt_err("process %d vanished while leaktrace was setting up\n", t->pid);
	else if (WIFSIGNALED(st))
		lt_err("the command's process %d was killed by signal %d (%s) while leaktrace was setting up, before it started\n",
		       t->pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		lt_err("the command's process %d ended (status %d) while leaktrace was setting up, before it started\n",
		       t->pid, WEXITSTATUS(st));
	return true;
}

void target_test_stop(const char *stage)
{
	const char *want = getenv("LEAKTRACE_TEST_STOP");

	if (want && !strcmp(want, stage))
		raise(SIGSTOP);
}
