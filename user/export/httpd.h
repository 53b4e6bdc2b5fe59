/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The metrics endpoint: an HTTP server (libmicrohttpd, its own thread)
 * that serves the last published exposition text. The tracing loop never
 * waits for a scrape: it publishes a new text after each sample; a scrape
 * copies the last one under a lock.
 *   GET /metrics  the text (503 before the first sample)
 *   GET /readyz   200 once a sample was published (readiness probe)
 *   GET /healthz  200 while attaching and while samples keep coming
 *                 (liveness probe; 503 once none came for stale_s)
 */
#ifndef LT_HTTPD_H
#define LT_HTTPD_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct httpd;

/* Parses ADDR:PORT (IPv4 literal, [IPv6] literal or "localhost"; a bare
 * PORT means 127.0.0.1). 0 or -EINVAL. *loopback: 127.0.0.0/8 or ::1. */
int httpd_parse_addr(const char *s, struct sockaddr_storage *ss,
		     socklen_t *len, bool *loopback);
/* Binds and listens on addr, checks the loopback rule, and starts serving
 * in a thread. NULL after one clear message on stderr; *usage is then true
 * for the user's mistakes (bad address, non-loopback without any, port in
 * use, address not on this host, privileged port). */
struct httpd *httpd_start(const char *addr, bool any, double stale_s,
			  bool *usage);
/* Replaces the text served (the server takes text, a malloc'd string). */
void httpd_publish(struct httpd *h, char *text, size_t len);
/* The port listened on (for messages). */
int httpd_port(const struct httpd *h);
void httpd_stop(struct httpd *h);
#endif
