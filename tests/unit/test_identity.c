/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/proc/identity.c: cgroup paths as docker, containerd,
 * cri-o, podman and the kubelet (systemd and cgroupfs drivers) write them,
 * /proc/PID/cgroup files of v2, v1 and hybrid hosts, and live processes:
 * this one, and a child moved into a container-shaped cgroup made under
 * the unified hierarchy. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc/identity.h"

#define ID "3f1b7c9e2d4a5b6c8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "6b8f3c2a-1d4e-4f5a-9b7c-0e1d2c3b4a59"
#define UID_ "6b8f3c2a_1d4e_4f5a_9b7c_0e1d2c3b4a59"

struct path_case {
	const char *path;
	enum ct_runtime rt;
	const char *id;
	const char *pod;
	enum k8s_qos qos;
};

static const struct path_case cases[] = {
	/* docker, cgroupfs driver (v1 and v2) and systemd driver */
	{ "/docker/" ID, CT_DOCKER, ID, "", QOS_NONE },
	{ "/system.slice/docker-" ID ".scope", CT_DOCKER, ID, "", QOS_NONE },
	/* docker in docker: the innermost container is the process's */
	{ "/docker/" ID2 "/docker/" ID, CT_DOCKER, ID, "", QOS_NONE },
	/* podman: root (systemd), rootless, cgroupfs, systemd inside */
	{ "/machine.slice/libpod-" ID ".scope", CT_PODMAN, ID, "", QOS_NONE },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	  CT_PODMAN, ID, "", QOS_NONE },
	{ "/libpod_parent/libpod-" ID, CT_PODMAN, ID, "", QOS_NONE },
	{ "/machine.slice/libpod-" ID ".scope/container", CT_PODMAN, ID, "", QOS_NONE },
	/* kubelet, systemd driver: the three QoS classes */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID ".scope", CT_CONTAINERD, ID, UID, QOS_BURSTABLE },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/crio-" ID ".scope", CT_CRIO, ID, UID, QOS_BESTEFFORT },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  CT_CONTAINERD, ID, UID, QOS_GUARANTEED },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/docker-" ID ".scope", CT_DOCKER, ID, UID, QOS_BURSTABLE },
	/* kind: the node is itself a container, kubelet's slices prefixed */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	  "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  CT_CONTAINERD, ID, UID, QOS_BESTEFFORT },
	/* kubelet, cgroupfs driver: the id alone does not name the runtime */
	{ "/kubepods/burstable/pod" UID "/" ID, CT_UNKNOWN, ID, UID, QOS_BURSTABLE },
	{ "/kubepods/besteffort/pod" UID "/" ID, CT_UNKNOWN, ID, UID, QOS_BESTEFFORT },
	{ "/kubepods/pod" UID "/" ID, CT_UNKNOWN, ID, UID, QOS_GUARANTEED },
	{ "/kubepods/burstable/pod" UID "/crio-" ID, CT_CRIO, ID, UID, QOS_BURSTABLE },
	/* the pod's own slice (the pause sandbox's parent): a pod, no container */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice",
	  CT_NONE, "", UID, QOS_BURSTABLE },
	/* read from inside a container's own cgroup namespace (a DaemonSet
	 * pod): other processes' paths start with ".." */
	{ "/../../kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  CT_CONTAINERD, ID, UID, QOS_BESTEFFORT },
	{ "/../docker-" ID ".scope", CT_DOCKER, ID, "", QOS_NONE },
	/* not containers */
	{ "/", CT_NONE, "", "", QOS_NONE },
	{ "", CT_NONE, "", "", QOS_NONE },
	{ "/user.slice/user-1000.slice/session-3.scope", CT_NONE, "", "", QOS_NONE },
	{ "/system.slice/docker.service", CT_NONE, "", "", QOS_NONE },
	{ "/system.slice/containerd.service", CT_NONE, "", "", QOS_NONE },
	/* cri-o's monitor runs beside the container, not in it */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/crio-conmon-" ID ".scope", CT_NONE, "", UID, QOS_BURSTABLE },
	/* this sandbox's memory cgroup: 32 hex digits are no container id */
	{ "/process_api/328c16f0fc09bb762eab090f90ee8eb9", CT_NONE, "", "", QOS_NONE },
	/* near misses: short or upper-case ids, bad pod UIDs, no kubepods */
	{ "/system.slice/docker-" "3f1b7c9e2d4a.scope", CT_NONE, "", "", QOS_NONE },
	{ "/docker/3F1B7C9E2D4A5B6C8E0F1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C2D",
	  CT_NONE, "", "", QOS_NONE },
	{ "/kubepods/burstable/pod6b8f3c2a-1d4e", CT_NONE, "", "", QOS_NONE },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podzzzzzzzz_1d4e_4f5a_9b7c_0e1d2c3b4a59.slice",
	  CT_NONE, "", "", QOS_NONE },
	{ "/other/pod" UID, CT_NONE, "", "", QOS_NONE },
};

static void test_paths(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *c = &cases[i];
		struct cgroup_ident ci;
		bool any = identity_parse_path(c->path, &ci);

		print_message("%s\n", c->path);
		assert_int_equal(ci.runtime, c->rt);
		assert_string_equal(ci.container_id, c->id);
		assert_string_equal(ci.pod_uid, c->pod);
		assert_int_equal(ci.qos, c->qos);
		assert_int_equal(any, c->rt != CT_NONE || c->pod[0]);
	}
}

static void test_names(void **state)
{
	assert_string_equal(ct_runtime_name(CT_CRIO), "cri-o");
	assert_string_equal(ct_runtime_name(CT_NONE), "");
	assert_string_equal(k8s_qos_name(QOS_BESTEFFORT), "besteffort");
	assert_string_equal(k8s_qos_name(QOS_NONE), "");
}

/* /proc/PID/cgroup of a pure v2 host, a hybrid one (memory on v1, as on
 * this VM) and a v1 one with docker's cgroupfs driver. */
static void test_files(void **state)
{
	struct proc_identity id;

	memset(&id, 0, sizeof(id));
	identity_parse_cgroup_file("0::/system.slice/docker-" ID ".scope\n", &id);
	assert_string_equal(id.cgroup, "/system.slice/docker-" ID ".scope");
	assert_string_equal(id.cgroup_v1, "");
	assert_int_equal(id.ct.runtime, CT_DOCKER);
	assert_string_equal(id.ct.container_id, ID);

	/* hybrid: the unified line is the systemd unit, the container is
	 * only in the v1 controllers */
	identity_parse_cgroup_file(
		"12:pids:/docker/" ID "\n"
		"9:memory:/docker/" ID "\n"
		"4:cpu,cpuacct:/docker/" ID "\n"
		"1:name=systemd:/docker/" ID "\n"
		"0::/system.slice/containerd.service\n", &id);
	assert_string_equal(id.cgroup, "/system.slice/containerd.service");
	assert_string_equal(id.cgroup_v1, "/docker/" ID);
	assert_int_equal(id.ct.runtime, CT_DOCKER);
	assert_string_equal(id.ct.container_id, ID);

	/* v1 only, memory controller joined with another; a pod */
	identity_parse_cgroup_file(
		"11:cpuset:/kubepods/besteffort/pod" UID "/" ID2 "\n"
		"5:memory,hugetlb:/kubepods/besteffort/pod" UID "/" ID "\n", &id);
	assert_string_equal(id.cgroup, "");
	assert_string_equal(id.cgroup_v1, "/kubepods/besteffort/pod" UID "/" ID);
	assert_string_equal(id.ct.container_id, ID);
	assert_string_equal(id.ct.pod_uid, UID);
	assert_int_equal(id.ct.qos, QOS_BESTEFFORT);

	/* only a non-memory v1 line says it (name=systemd) */
	identity_parse_cgroup_file(
		"4:memory:/\n1:name=systemd:/machine.slice/libpod-" ID ".scope\n0::/\n", &id);
	assert_int_equal(id.ct.runtime, CT_PODMAN);

	/* nothing: fields cleared from the last parse */
	identity_parse_cgroup_file("0::/user.slice\n", &id);
	assert_string_equal(id.cgroup, "/user.slice");
	assert_int_equal(id.ct.runtime, CT_NONE);
	assert_string_equal(id.ct.container_id, "");
	/* malformed lines are skipped, no line end */
	identity_parse_cgroup_file("garbage\n:\n0::/a", &id);
	assert_string_equal(id.cgroup, "/a");
}

static void test_stat_start(void **state)
{
	uint64_t t;
	const char *s = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 "
			"20 0 1 0 123456 1000 10 18446744073709551615";

	assert_int_equal(identity_parse_start(s, &t), 0);
	assert_int_equal(t, 123456);
	assert_int_equal(identity_parse_start("42 (x) S 1 2", &t), -EINVAL);
	assert_int_equal(identity_parse_start("no paren", &t), -EINVAL);
}

/* Same file read another way: the line of /proc/self/cgroup starting
 * with prefix, without it. */
static void cgroup_line(const char *prefix, char *out, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "r");

	out[0] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, prefix);

		if (p && (p == line || p[-1] == ':')) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", p + strlen(prefix));
		}
	}
	fclose(f);
}

static void test_self(void **state)
{
	struct proc_identity id;
	char want[512], stat[4096], *p;
	unsigned long long start;
	FILE *f;

	assert_int_equal(identity_read("", getpid(), &id), 0);
	assert_int_equal(id.pid, getpid());
	assert_string_equal(id.comm, "test_identity");
	assert_non_null(strstr(id.exe, "test_identity"));
	cgroup_line("0::", want, sizeof(want));
	assert_string_equal(id.cgroup, want);
	cgroup_line("memory:", want, sizeof(want));
	assert_string_equal(id.cgroup_v1, want);
	/* start time against the 22nd field counted by sscanf */
	f = fopen("/proc/self/stat", "r");
	assert_non_null(f);
	assert_non_null(fgets(stat, sizeof(stat), f));
	fclose(f);
	p = strrchr(stat, ')');
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
				"%*u %*u %*d %*d %*d %*d %*d %*d %llu", &start), 1);
	assert_int_equal(id.start_ticks, start);
	assert_int_equal(identity_read("", INT_MAX, &id), -ESRCH);
}

/* A child named like a hostile comm, moved into
 * <unified>/lt-identity-PID/docker-ID.scope: its identity says docker. */
static void test_child_in_container_cgroup(void **state)
{
	const char *uni = access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) ?
			  "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
	char top[256], dir[512], procs[600], want[512];
	struct proc_identity id;
	int pfd[2], status;
	pid_t child;
	FILE *f;

	snprintf(top, sizeof(top), "%s/lt-identity-%d", uni, getpid());
	snprintf(dir, sizeof(dir), "%s/docker-" ID ".scope", top);
	if (mkdir(top, 0755) || mkdir(dir, 0755))
		fail_msg("cannot create %s: %s (the test needs root and a "
			 "writable cgroup2 hierarchy)", dir, strerror(errno));
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	if (!child) {
		char c;

		prctl(PR_SET_NAME, "x) y (z");
		close(pfd[1]);
		if (read(pfd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[0]);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	f = fopen(procs, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", child);
	assert_int_equal(fclose(f), 0);
	usleep(20000);		/* the child renames itself */
	assert_int_equal(identity_read("", child, &id), 0);
	close(pfd[1]);
	waitpid(child, &status, 0);
	rmdir(dir);
	rmdir(top);
	assert_string_equal(id.comm, "x) y (z");
	snprintf(want, sizeof(want), "/lt-identity-%d/docker-" ID ".scope", getpid());
	/* the path as the hierarchy's root sees it (our cgroup namespace is
	 * the host's here) */
	assert_non_null(strstr(id.cgroup, want));
	assert_int_equal(id.ct.runtime, CT_DOCKER);
	assert_string_equal(id.ct.container_id, ID);
	assert_true(id.start_ticks > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_stat_start),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_child_in_container_cgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
