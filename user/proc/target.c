// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	if (procstat_exe(t->pid, t->exe, sizeof(t->exe)))
		t->exe[0] = '\0';
}

int target_open_pid(struct target *t, pid_t pid)
{
	char path[64];

	memset(t, 0, sizeof(*t));
	t->pid = pid;
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
	if (procstat_is_zombie_or_gone(pid)) {
		lt_err("process %d has already exited\n", pid);
		return -ESRCH;
	}
	target_refresh_names(t);
	return 0;
}

int target_spawn(struct target *t, char **argv)
{
	int go[2], err[2];
	pid_t pid;
	char c;

	memset(t, 0, sizeof(*t));
	t->release_fd = t->exec_err_fd = -1;
	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int e;

		close(go[1]);
		close(err[0]);
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
	t->pid = pid;
	t->spawned = true;
	t->release_fd = go[1];
	t->exec_err_fd = err[0];
	snprintf(t->comm, sizeof(t->comm), "%s", argv[0]);
	return 0;
}

int target_release(struct target *t)
{
	int e = 0, err_fd = t->exec_err_fd;
	ssize_t n;

	if (!t->spawned || t->release_fd < 0)
		return 0;
	if (write(t->release_fd, "g", 1) != 1)
		return -errno;
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
	if (procstat_is_zombie_or_gone(t->pid)) {
		t->exited = true;
		return false;
	}
	return true;
}

void target_abort(struct target *t)
{
	/* Never kill(0, ...): that is our own process group. */
	if (!t->spawned || t->exited || t->pid <= 0)
		return;
	kill(t->pid, SIGKILL);
	waitpid(t->pid, NULL, 0);
	t->exited = true;
	if (t->release_fd >= 0)
		close(t->release_fd);
	if (t->exec_err_fd >= 0)
		close(t->exec_err_fd);
	t->release_fd = t->exec_err_fd = -1;
}

int target_exe_path(const struct target *t, char **argv, char *buf,
		    size_t len)
{
	const char *path;
	char *dirs, *dir, *save = NULL;

	if (!t->spawned) {
		snprintf(buf, len, "/proc/%d/exe", t->pid);
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
