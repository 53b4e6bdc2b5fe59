// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "export/httpd.h"
#include "util/log.h"

/* Bounds on what scrapers can make us hold. */
#define MAX_CONNECTIONS 16
#define CONN_TIMEOUT_S 10

struct httpd {
	struct MHD_Daemon *d;
	int fd;			/* until the daemon owns it */
	int port;
	double stale_s;
	pthread_mutex_t lock;
	char *text;		/* under lock */
	size_t len;
	double published;	/* CLOCK_MONOTONIC s of the last publish, 0 never */
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int httpd_parse_addr(const char *s, struct sockaddr_storage *ss,
		     socklen_t *len, bool *loopback)
{
	char host[64];
	const char *colon, *port_s;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':' || colon - s - 1 >= (long)sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, colon - s - 1);
		host[colon - s - 1] = '\0';
		port_s = colon + 2;
	} else if ((colon = strrchr(s, ':'))) {
		if (colon - s >= (long)sizeof(host) || memchr(s, ':', colon - s))
			return -EINVAL;	/* IPv6 needs brackets */
		memcpy(host, s, colon - s);
		host[colon - s] = '\0';
		port_s = colon + 1;
	} else {
		strcpy(host, "127.0.0.1");
		port_s = s;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || end == port_s || *end || port < 1 || port > 65535)
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (s[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		*loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
		return 0;
	}
	return -EINVAL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT "text/plain; charset=utf-8"
#define EXPOSITION "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result serve(void *cls, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const char *version, const char *upload,
			     size_t *upload_size, void **req)
{
	struct httpd *h = cls;
	enum MHD_Result ret;
	double age;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, "GET only\n", 9);
	if (*upload_size)	/* a GET with a body: ignore the body */
		*upload_size = 0;
	pthread_mutex_lock(&h->lock);
	age = h->published ? mono_s() - h->published : -1;
	if (!strcmp(url, "/metrics")) {
		if (h->text)
			ret = reply(c, MHD_HTTP_OK, EXPOSITION, h->text, h->len);
		else
			ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT,
				    "no sample yet\n", 14);
	} else if (!strcmp(url, "/readyz")) {
		ret = age >= 0 ? reply(c, MHD_HTTP_OK, TEXT, "ready\n", 6) :
			reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, "attaching\n", 10);
	} else if (!strcmp(url, "/healthz")) {
		ret = age <= h->stale_s ? reply(c, MHD_HTTP_OK, TEXT, "ok\n", 3) :
			reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, "no recent sample\n", 17);
	} else if (!strcmp(url, "/")) {
		static const char idx[] = "leaktrace: /metrics /readyz /healthz\n";

		ret = reply(c, MHD_HTTP_OK, TEXT, idx, sizeof(idx) - 1);
	} else {
		ret = reply(c, MHD_HTTP_NOT_FOUND, TEXT, "not found\n", 10);
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* The listening socket, made here so that each failure gets its own
 * message. -errno; *usage for the user's mistakes. */
static int listen_on(const char *addr, bool any, bool *usage)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool loop;
	int fd, one = 1, err;

	*usage = true;
	if (httpd_parse_addr(addr, &ss, &len, &loop)) {
		lt_err("invalid --metrics-addr %s: give ADDR:PORT, e.g. 127.0.0.1:9464 "
		       "or [::1]:9464 (an IP literal, port 1-65535)\n", addr);
		return -EINVAL;
	}
	if (!loop && !any) {
		lt_err("--metrics-addr %s is not a loopback address: anyone who reaches "
		       "it reads process names and call stacks; add --metrics-listen-any "
		       "to listen there\n", addr);
		return -EPERM;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*usage = false;
		err = -errno;
		lt_err("--metrics-addr %s: cannot open a socket: %s\n", addr, strerror(-err));
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		if (err == -EADDRINUSE)
			lt_err("--metrics-addr %s: the port is in use (another leaktrace or "
			       "exporter?); pick another port\n", addr);
		else if (err == -EADDRNOTAVAIL)
			lt_err("--metrics-addr %s: no such address on this host\n", addr);
		else if (err == -EACCES)
			lt_err("--metrics-addr %s: ports below 1024 need CAP_NET_BIND_SERVICE; "
			       "pick a port above 1023\n", addr);
		else {
			*usage = false;
			lt_err("--metrics-addr %s: cannot listen: %s\n", addr, strerror(-err));
		}
		close(fd);
		return err;
	}
	return fd;
}

struct httpd *httpd_start(const char *addr, bool any, double stale_s,
			  bool *usage)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	sigset_t all, old;
	struct httpd *h;
	int fd;

	fd = listen_on(addr, any, usage);
	if (fd < 0)
		return NULL;
	*usage = false;
	h = calloc(1, sizeof(*h));
	if (!h) {
		lt_err("out of memory\n");
		close(fd);
		return NULL;
	}
	h->fd = fd;
	h->stale_s = stale_s;
	pthread_mutex_init(&h->lock, NULL);
	if (!getsockname(fd, (struct sockaddr *)&ss, &sl))
		h->port = ntohs(ss.ss_family == AF_INET ?
				((struct sockaddr_in *)&ss)->sin_port :
				((struct sockaddr_in6 *)&ss)->sin6_port);
	/* The server's thread takes no signals: SIGINT/SIGTERM reach the
	 * tracing loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	h->d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL,
				serve, h,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S,
				MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->d) {
		lt_err("--metrics-addr %s: cannot start the HTTP server\n", addr);
		httpd_stop(h);
		return NULL;
	}
	h->fd = -1;	/* the daemon owns it now and closes it on stop */
	return h;
}

void httpd_publish(struct httpd *h, char *text, size_t len)
{
	char *old;

	pthread_mutex_lock(&h->lock);
	old = h->text;
	h->text = text;
	h->len = len;
	h->published = mono_s();
	pthread_mutex_unlock(&h->lock);
	free(old);
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h->text);
	free(h);
}
