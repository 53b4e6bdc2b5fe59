// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/identity.h"

const char *ct_runtime_name(enum ct_runtime r)
{
	switch (r) {
	case CT_DOCKER: return "docker";
	case CT_CONTAINERD: return "containerd";
	case CT_CRIO: return "cri-o";
	case CT_PODMAN: return "podman";
	case CT_UNKNOWN: return "unknown";
	default: return "";
	}
}

const char *k8s_qos_name(enum k8s_qos q)
{
	switch (q) {
	case QOS_GUARANTEED: return "guaranteed";
	case QOS_BURSTABLE: return "burstable";
	case QOS_BESTEFFORT: return "besteffort";
	default: return "";
	}
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A pod UID of 36 chars, dashes written as '_' by the systemd driver;
 * copied to out with dashes. */
static bool pod_uid(const char *s, size_t n, char *out)
{
	if (n != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? (s[i] != '-' && s[i] != '_') : !all_hex(s + i, 1))
			return false;
		out[i] = dash ? '-' : s[i];
	}
	out[n] = '\0';
	return true;
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n >= k && !memcmp(s + n - k, suf, k);
}

/* "<prefix><64 hex>[<suffix>]" with suffix ".scope" optional. */
static bool prefixed_id(const char *c, size_t n, const char *prefix,
			char *id)
{
	size_t p = strlen(prefix);

	if (n < p || memcmp(c, prefix, p))
		return false;
	c += p;
	n -= p;
	if (ends_with(c, n, ".scope"))
		n -= strlen(".scope");
	if (n != CT_ID_LEN || !all_hex(c, n))
		return false;
	memcpy(id, c, n);
	id[n] = '\0';
	return true;
}

/* The pod component: "pod<uid>" under kubepods (cgroupfs driver) or
 * "...kubepods[-qos]-pod<uid>.slice" (systemd driver). prev: the parent
 * component (cgroupfs QoS). */
static bool pod_component(const char *c, size_t n, const char *prev,
			  size_t pn, struct cgroup_ident *out)
{
	const char *p;

	if (n == 3 + POD_UID_LEN && !memcmp(c, "pod", 3)) {
		if (!pod_uid(c + 3, POD_UID_LEN, out->pod_uid))
			return false;
		if (pn == 9 && !memcmp(prev, "burstable", 9))
			out->qos = QOS_BURSTABLE;
		else if (pn == 10 && !memcmp(prev, "besteffort", 10))
			out->qos = QOS_BESTEFFORT;
		else
			out->qos = QOS_GUARANTEED;	/* right under kubepods */
		return true;
	}
	if (!ends_with(c, n, ".slice") || n < 4 + POD_UID_LEN + 6)
		return false;
	p = c + n - 6 - POD_UID_LEN - 4;
	if (memcmp(p, "-pod", 4) || !pod_uid(p + 4, POD_UID_LEN, out->pod_uid))
		return false;
	if (ends_with(c, p - c, "-burstable"))
		out->qos = QOS_BURSTABLE;
	else if (ends_with(c, p - c, "-besteffort"))
		out->qos = QOS_BESTEFFORT;
	else if (ends_with(c, p - c, "kubepods"))
		out->qos = QOS_GUARANTEED;
	else
		return false;
	return true;
}

bool identity_parse_path(const char *path, struct cgroup_ident *out)
{
	const char *c = path, *prev = "";
	size_t pn = 0;
	bool kube = strstr(path, "kubepods") != NULL;

	memset(out, 0, sizeof(*out));
	while (*c) {
		size_t n = strcspn(c, "/");
		char id[CT_ID_LEN + 1];
		enum ct_runtime rt = CT_NONE;

		if (!n) {
			c++;
			continue;
		}
		if (prefixed_id(c, n, "docker-", id))
			rt = CT_DOCKER;
		else if (prefixed_id(c, n, "cri-containerd-", id))
			rt = CT_CONTAINERD;
		else if (prefixed_id(c, n, "crio-", id))
			rt = CT_CRIO;
		else if (prefixed_id(c, n, "libpod-", id))
			rt = CT_PODMAN;
		else if (n == CT_ID_LEN && all_hex(c, n)) {
			memcpy(id, c, n);
			id[n] = '\0';
			rt = pn == 6 && !memcmp(prev, "docker", 6) ?
				CT_DOCKER : CT_UNKNOWN;
		} else if (kube) {
			struct cgroup_ident pod = { 0 };

			if (pod_component(c, n, prev, pn, &pod)) {
				memcpy(out->pod_uid, pod.pod_uid, sizeof(pod.pod_uid));
				out->qos = pod.qos;
			}
		}
		/* The innermost container wins (docker in docker). */
		if (rt != CT_NONE) {
			out->runtime = rt;
			memcpy(out->container_id, id, sizeof(id));
		}
		prev = c;
		pn = n;
		c += n;
	}
	return out->runtime != CT_NONE || out->pod_uid[0];
}

static bool has_controller(const char *list, size_t n, const char *name)
{
	size_t k = strlen(name);

	while (n) {
		size_t m = 0;

		while (m < n && list[m] != ',')
			m++;
		if (m == k && !memcmp(list, name, k))
			return true;
		list += m;
		n -= m;
		if (n) {
			list++;
			n--;
		}
	}
	return false;
}

static void copy_path(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void identity_parse_cgroup_file(const char *text, struct proc_identity *out)
{
	struct cgroup_ident other = { 0 };
	bool have_other = false;
	const char *l = text;

	out->cgroup[0] = out->cgroup_v1[0] = '\0';
	memset(&out->ct, 0, sizeof(out->ct));
	while (*l) {
		size_t n = strcspn(l, "\n");
		const char *c1 = memchr(l, ':', n), *c2;

		if (c1 && (c2 = memchr(c1 + 1, ':', l + n - c1 - 1))) {
			const char *path = c2 + 1;
			size_t pl = l + n - path;
			bool v2 = c1 == l + 1 && l[0] == '0' && c2 == c1 + 1;
			char buf[512];

			copy_path(buf, sizeof(buf), path, pl);
			if (v2)
				copy_path(out->cgroup, sizeof(out->cgroup), path, pl);
			else if (has_controller(c1 + 1, c2 - c1 - 1, "memory"))
				copy_path(out->cgroup_v1, sizeof(out->cgroup_v1), path, pl);
			else if (!have_other)
				have_other = identity_parse_path(buf, &other);
		}
		l += n;
		if (*l)
			l++;
	}
	if (identity_parse_path(out->cgroup, &out->ct))
		return;
	if (identity_parse_path(out->cgroup_v1, &out->ct))
		return;
	if (have_other)
		out->ct = other;
}

int identity_parse_start(const char *stat, uint64_t *start_ticks)
{
	const char *p = strrchr(stat, ')');
	char *end;

	if (!p)
		return -EINVAL;
	p++;
	/* After "comm)": state is field 3; field 22 is 19 fields on. */
	for (int f = 3; f <= 22; f++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (f == 22)
			break;
		p += strcspn(p, " ");
	}
	errno = 0;
	*start_ticks = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EINVAL;
	return 0;
}

/* Reads a whole small /proc file into buf. Length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while (got < (ssize_t)len - 1 &&
	       (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	n = n < 0 ? -errno : got;
	close(fd);
	if (n >= 0)
		buf[got] = '\0';
	return n;
}

int identity_read(const char *root, int pid, struct proc_identity *out)
{
	char path[PATH_MAX], buf[8192];
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(path, sizeof(path), "%s/proc/%d/stat", root, pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	if (identity_parse_start(buf, &out->start_ticks))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/proc/%d/comm", root, pid);
	if (read_small(path, out->comm, sizeof(out->comm)) > 0)
		out->comm[strcspn(out->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/proc/%d/exe", root, pid);
	n = readlink(path, out->exe, sizeof(out->exe) - 1);
	out->exe[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "%s/proc/%d/cgroup", root, pid);
	if (read_small(path, buf, sizeof(buf)) >= 0)
		identity_parse_cgroup_file(buf, out);
	return 0;
}
