/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/export/httpd.c: address parsing and the loopback
 * rule, and a real server on 127.0.0.1 answered over a socket: 503 before
 * the first sample, the text after, probes, 404/405, a port in use. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/httpd.h"

static void test_parse(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	bool lo;
	static const char *const bad[] = {
		"", ":", "9464x", "0", "65536", "-1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:70000", "::1:9464", "[::1]", "[::1]9464", "[127.0.0.1]:80",
		"example.org:9464", "256.1.1.1:80", "127.0.0.1:80:80", "[zz]:80",
	};

	assert_int_equal(httpd_parse_addr("9464", &ss, &len, &lo), 0);
	assert_int_equal(a4->sin_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 9464);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
	assert_true(lo);
	assert_int_equal(httpd_parse_addr("127.0.0.2:1", &ss, &len, &lo), 0);
	assert_true(lo);
	assert_int_equal(httpd_parse_addr("localhost:65535", &ss, &len, &lo), 0);
	assert_true(lo);
	assert_int_equal(httpd_parse_addr("0.0.0.0:9464", &ss, &len, &lo), 0);
	assert_false(lo);
	assert_int_equal(httpd_parse_addr("10.1.2.3:9464", &ss, &len, &lo), 0);
	assert_false(lo);
	assert_int_equal(httpd_parse_addr("[::1]:9464", &ss, &len, &lo), 0);
	assert_int_equal(a6->sin6_family, AF_INET6);
	assert_int_equal(len, sizeof(*a6));
	assert_true(lo);
	assert_int_equal(httpd_parse_addr("[::]:9464", &ss, &len, &lo), 0);
	assert_false(lo);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad: %s\n", bad[i]);
		assert_int_equal(httpd_parse_addr(bad[i], &ss, &len, &lo), -EINVAL);
	}
	assert_int_equal(httpd_parse_addr(NULL, &ss, &len, &lo), -EINVAL);
}

/* A free port on 127.0.0.1, released (the kernel may give it again). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* One HTTP/1.0 request; the status code, the body in body. */
static int request(int port, const char *method, const char *path, char *body,
		   size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[8192], req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
	size_t got = 0;
	ssize_t n;
	char *p;

	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	sscanf(buf, "HTTP/1.%*d %d", &code);
	p = strstr(buf, "\r\n\r\n");
	snprintf(body, len, "%s", p ? p + 4 : "");
	if (strstr(buf, "version=0.0.4"))
		strncat(body, "[exposition]", len - strlen(body) - 1);
	return code;
}

static void test_server(void **state)
{
	char addr[64], body[8192], *text;
	int port = free_port();
	struct httpd *h, *h2;
	bool usage = true;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	h = httpd_start(addr, false, 0.5, &usage);
	assert_non_null(h);
	assert_false(usage);
	assert_int_equal(httpd_port(h), port);
	assert_int_equal(request(port, "GET", "/metrics", body, sizeof(body)), 503);
	assert_int_equal(request(port, "GET", "/readyz", body, sizeof(body)), 503);
	/* attaching is alive (a liveness probe must not kill it) */
	assert_int_equal(request(port, "GET", "/healthz", body, sizeof(body)), 200);

	text = strdup("# TYPE x gauge\nx 1\n");
	httpd_publish(h, text, strlen(text));
	assert_int_equal(request(port, "GET", "/metrics", body, sizeof(body)), 200);
	assert_string_equal(body, "# TYPE x gauge\nx 1\n[exposition]");
	assert_int_equal(request(port, "HEAD", "/metrics", body, sizeof(body)), 200);
	assert_int_equal(request(port, "GET", "/readyz", body, sizeof(body)), 200);
	assert_int_equal(request(port, "GET", "/healthz", body, sizeof(body)), 200);
	assert_int_equal(request(port, "GET", "/nope", body, sizeof(body)), 404);
	assert_int_equal(request(port, "POST", "/metrics", body, sizeof(body)), 405);
	/* a newer text replaces the old one */
	text = strdup("x 2\n");
	httpd_publish(h, text, strlen(text));
	assert_int_equal(request(port, "GET", "/metrics", body, sizeof(body)), 200);
	assert_string_equal(body, "x 2\n[exposition]");
	/* no sample for longer than stale_s: not live, still ready */
	usleep(700000);
	assert_int_equal(request(port, "GET", "/healthz", body, sizeof(body)), 503);
	assert_int_equal(request(port, "GET", "/readyz", body, sizeof(body)), 200);

	/* the same port again: in use, a usage error */
	h2 = httpd_start(addr, false, 1, &usage);
	assert_null(h2);
	assert_true(usage);
	httpd_stop(h);
	/* and free again once stopped */
	h = httpd_start(addr, false, 1, &usage);
	assert_non_null(h);
	httpd_stop(h);
}

/* The IPv6 loopback, where the host has it. */
static void test_ipv6(void **state)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM, 0), port, c;
	char addr[64];
	struct httpd *h;
	bool usage;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		skip();		/* no ::1 on this host: nothing built is hidden */
	}
	getsockname(fd, (struct sockaddr *)&a, &l);
	port = ntohs(a.sin6_port);
	close(fd);
	snprintf(addr, sizeof(addr), "[::1]:%d", port);
	h = httpd_start(addr, false, 1, &usage);
	assert_non_null(h);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	a.sin6_port = htons(port);
	c = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	httpd_stop(h);
	assert_int_equal(c, 0);
}

static void test_refusals(void **state)
{
	bool usage = false;

	assert_null(httpd_start("0.0.0.0:1", false, 1, &usage));
	assert_true(usage);
	usage = false;
	assert_null(httpd_start("bogus", false, 1, &usage));
	assert_true(usage);
	usage = false;
	/* TEST-NET-1: not an address of this host */
	assert_null(httpd_start("192.0.2.1:9464", true, 1, &usage));
	assert_true(usage);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
