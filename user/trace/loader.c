// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/loader.h"
#include "util/log.h"

static uint32_t pow2_at_least(uint64_t v)
{
	uint32_t p = 4096;

	while (p < v && p < (1U << 30))
		p <<= 1;
	return p;
}

static int create(const char *name, enum bpf_map_type type, uint32_t key,
		  uint32_t value, uint32_t max, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	int fd = bpf_map_create(type, name, key, value, max, &o);

	if (fd < 0) {
		fd = -errno;
		if (fd == -EPERM || fd == -EACCES)
			lt_err("creating BPF maps was refused: run as root (CAP_BPF and CAP_PERFMON)\n");
		else
			lt_err("cannot create the BPF map %s: %s\n", name, strerror(-fd));
	}
	return fd;
}

int lt_maps_open(struct lt_maps *m, uint32_t max_stacks, uint32_t ringbuf_mb,
		 uint32_t max_procs)
{
	uint32_t rb = pow2_at_least((uint64_t)ringbuf_mb << 20);

	m->stacks_fd = m->events_fd = m->copy_need_fd = m->ucopy_buf_fd = -1;
	m->traced_fd = -1;
	m->wakeup_bytes = rb / 4;
	m->traced_fd = create("traced", BPF_MAP_TYPE_HASH, sizeof(__u32),
			      sizeof(struct lt_traced), max_procs ? max_procs : 1, 0);
	if (m->traced_fd < 0)
		return m->traced_fd;
	m->stacks_fd = create("stacks", BPF_MAP_TYPE_HASH, sizeof(__u64),
			      sizeof(struct lt_stack), max_stacks,
			      BPF_F_NO_PREALLOC);
	if (m->stacks_fd < 0)
		return m->stacks_fd;
	m->events_fd = create("events", BPF_MAP_TYPE_RINGBUF, 0, 0, rb, 0);
	if (m->events_fd < 0)
		return m->events_fd;
	m->copy_need_fd = create("copy_need", BPF_MAP_TYPE_HASH, sizeof(__u64),
				 sizeof(__u32), LT_COPY_NEED_MAX,
				 BPF_F_NO_PREALLOC);
	if (m->copy_need_fd < 0)
		return m->copy_need_fd;
	m->ucopy_buf_fd = create("ucopy_buf", BPF_MAP_TYPE_PERCPU_ARRAY,
				 sizeof(__u32), sizeof(struct lt_ucopy_buf), 1, 0);
	return m->ucopy_buf_fd < 0 ? m->ucopy_buf_fd : 0;
}

void lt_maps_close(struct lt_maps *m)
{
	int *fds[] = { &m->stacks_fd, &m->events_fd, &m->copy_need_fd,
		       &m->ucopy_buf_fd, &m->traced_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] > 0)	/* 0: a zeroed struct, never opened */
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int lt_maps_trace(const struct lt_maps *m, uint32_t tgid, bool go)
{
	struct lt_traced v = { .flags = go ? LT_TRACED_GO : 0 };

	return bpf_map_update_elem(m->traced_fd, &tgid, &v, BPF_ANY) ? -errno : 0;
}

int lt_maps_untrace(const struct lt_maps *m, uint32_t tgid)
{
	return bpf_map_delete_elem(m->traced_fd, &tgid) ? -errno : 0;
}

/* The fd of the shared map called name, or -1 for the object's own. */
static int shared_fd(const struct lt_maps *m, const char *name)
{
	if (!strcmp(name, "traced"))
		return m->traced_fd;
	if (!strcmp(name, "stacks"))
		return m->stacks_fd;
	if (!strcmp(name, "events"))
		return m->events_fd;
	if (!strcmp(name, "copy_need"))
		return m->copy_need_fd;
	if (!strcmp(name, "ucopy_buf"))
		return m->ucopy_buf_fd;
	return -1;
}

int lt_bpf_load(struct bpf_object_skeleton *s, const struct lt_maps *m,
		const char *what, unsigned int flags)
{
	struct bpf_object *obj = *s->obj;
	struct bpf_map *map;
	int err, fd;

	bpf_object__for_each_map(map, obj) {
		fd = shared_fd(m, bpf_map__name(map));
		if (fd < 0 || ((flags & LT_LOAD_OWN_EVENTS) &&
			       !strcmp(bpf_map__name(map), "events")))
			continue;
		err = bpf_map__reuse_fd(map, fd);
		if (err) {
			lt_err("cannot share the BPF map %s with the %s programs: %s\n",
			       bpf_map__name(map), what, strerror(-err));
			return err;
		}
	}
	err = bpf_object__load_skeleton(s);
	if (err) {
		err = -errno;
		if (flags & LT_LOAD_QUIET)
			lt_debug("the %s BPF programs were refused: %s\n", what,
				 strerror(-err));
		else if (err == -EPERM || err == -EACCES)
			lt_err("loading BPF programs was refused: run as root (CAP_BPF and CAP_PERFMON)\n");
		else
			lt_err("cannot load the %s BPF programs: %s (-vv shows the verifier log)\n",
			       what, strerror(-err));
		return err;
	}
	if (!(flags & LT_LOAD_ATTACH))
		return 0;
	err = bpf_object__attach_skeleton(s);
	if (err) {
		err = -errno;
		lt_err("cannot attach the %s tracepoints: %s (is tracefs mounted on /sys/kernel/tracing?)\n",
		       what, strerror(-err));
		return err;
	}
	return 0;
}

#define DETACH_THREADS 16

struct detach_job {
	struct bpf_link **const *slots;
	size_t n, step;
};

static void *detach_run(void *arg)
{
	struct detach_job *j = arg;

	for (size_t i = 0; i < j->n; i += j->step) {
		if (!j->slots[i])
			continue;
		bpf_link__destroy(*j->slots[i]);
		*j->slots[i] = NULL;
	}
	return NULL;
}

void lt_links_destroy(struct bpf_link **const *slots, size_t n)
{
	struct detach_job job[DETACH_THREADS];
	pthread_t th[DETACH_THREADS];
	bool started[DETACH_THREADS] = { false };
	sigset_t all, old;
	size_t live = 0, nt;

	for (size_t i = 0; i < n; i++)
		live += slots[i] && *slots[i];
	nt = live < DETACH_THREADS ? live : DETACH_THREADS;
	if (nt <= 1) {
		struct detach_job one = { slots, n, 1 };

		detach_run(&one);
		return;
	}
	/* Thread k takes slots k, k + nt, ...: NULL slots cost nothing. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t k = 0; k < nt; k++) {
		job[k] = (struct detach_job){ slots + k, n > k ? n - k : 0, nt };
		started[k] = !pthread_create(&th[k], NULL, detach_run, &job[k]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (size_t k = 0; k < nt; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		else
			detach_run(&job[k]);	/* no thread: here, in turn */
	}
}

static void *later_run(void *arg)
{
	struct lt_links_later *j = arg;
	struct bpf_link **slots[LT_LATER_MAX];

	for (size_t i = 0; i < j->n; i++)
		slots[i] = &j->links[i];
	lt_links_destroy(slots, j->n);
	return NULL;
}

void lt_links_destroy_later(struct lt_links_later *j,
			    struct bpf_link **const *slots, size_t n)
{
	sigset_t all, old;

	if (j->started || n > LT_LATER_MAX) {
		lt_links_destroy(slots, n);
		return;
	}
	j->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (slots[i] && *slots[i])
			j->links[j->n++] = *slots[i];
		if (slots[i])
			*slots[i] = NULL;
	}
	if (!j->n)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	j->started = !pthread_create(&j->th, NULL, later_run, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!j->started)
		later_run(j);
}

void lt_links_join(struct lt_links_later *j)
{
	if (!j->started)
		return;
	pthread_join(j->th, NULL);
	j->started = false;
	j->n = 0;
}

static void skel_link_slots(struct bpf_object_skeleton *s, struct bpf_link ***slots,
			    size_t *n, size_t max)
{
	for (int i = 0; s && i < s->prog_cnt && *n < max; i++)
		if (s->progs[i].link)
			slots[(*n)++] = s->progs[i].link;
}

void lt_skel_detach(struct bpf_object_skeleton *s)
{
	lt_skel_detach_with(s, NULL, 0);
}

void lt_skel_detach_with(struct bpf_object_skeleton *s, struct bpf_link **extra,
			 size_t n_extra)
{
	struct bpf_link **slots[128];
	size_t n = 0;

	skel_link_slots(s, slots, &n, 64);
	for (size_t i = 0; i < n_extra && n < sizeof(slots) / sizeof(slots[0]); i++)
		slots[n++] = &extra[i];
	lt_links_destroy(slots, n);
}
