/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Who a process is, as an operator joins it with other monitoring: pid +
 * start time (a pid is reused, the pair is not), comm, exe, its cgroup
 * paths, and what those paths say: container id and runtime, Kubernetes
 * pod UID and QoS class. Memory limits are proc/memlimit's concern.
 */
#ifndef LT_IDENTITY_H
#define LT_IDENTITY_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

enum ct_runtime {
	CT_NONE,	/* the path names no container */
	CT_DOCKER,	/* docker-<id>.scope, /docker/<id> */
	CT_CONTAINERD,	/* cri-containerd-<id>.scope */
	CT_CRIO,	/* crio-<id>.scope */
	CT_PODMAN,	/* libpod-<id>.scope, /libpod_parent/libpod-<id> */
	CT_UNKNOWN,	/* a container id with no runtime in its path
			 * (kubelet's cgroupfs driver: .../pod<uid>/<id>) */
};

enum k8s_qos {
	QOS_NONE,	/* not in a Kubernetes pod */
	QOS_GUARANTEED,
	QOS_BURSTABLE,
	QOS_BESTEFFORT,
};

#define CT_ID_LEN 64		/* hex digits of a container id */
#define POD_UID_LEN 36		/* 8-4-4-4-12 */

/* What one cgroup path says. */
struct cgroup_ident {
	enum ct_runtime runtime;
	char container_id[CT_ID_LEN + 1];	/* "" when none */
	char pod_uid[POD_UID_LEN + 1];		/* with dashes; "" when none */
	enum k8s_qos qos;
};

struct proc_identity {
	int pid;
	uint64_t start_ticks;	/* /proc/PID/stat field 22, clock ticks
				 * after boot */
	char comm[16];
	char exe[PATH_MAX];	/* "" when unreadable (kthread, no rights) */
	char cgroup[512];	/* v2 "0::" path; "" on a pure v1 host */
	char cgroup_v1[512];	/* the v1 memory controller's path, or "" */
	struct cgroup_ident ct;	/* from the first path that names one:
				 * v2, then the memory controller, then the
				 * other v1 lines */
};

/* Reads pid's identity. root prefixes /proc ("" on a live system, a
 * fixture directory in tests). 0, -ESRCH when the process is gone, or
 * -errno. A missing exe or cgroup file is not an error: those fields stay
 * empty. */
int identity_read(const char *root, int pid, struct proc_identity *out);
/* Parses one cgroup path; false (out zeroed) when it names no container
 * and no pod. Pure. */
bool identity_parse_path(const char *path, struct cgroup_ident *out);
/* Parses the text of /proc/PID/cgroup into the cgroup, cgroup_v1 and ct
 * fields of out. Pure. */
void identity_parse_cgroup_file(const char *text, struct proc_identity *out);
/* Field 22 of the text of /proc/PID/stat (comm may hold spaces and ')').
 * 0 or -EINVAL. */
int identity_parse_start(const char *stat, uint64_t *start_ticks);
/* "docker", "containerd", "cri-o", "podman", "unknown" or "". */
const char *ct_runtime_name(enum ct_runtime r);
/* "guaranteed", "burstable", "besteffort" or "". */
const char *k8s_qos_name(enum k8s_qos q);
#endif
