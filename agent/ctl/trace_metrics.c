// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A minimal HTTP/1.1 responder for agentctl trace --metrics: GET /metrics
 * (or /) gets the exposition, anything else 404; one request per
 * connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "parse.h"
#include "trace_metrics.h"

#define MAX_REQUEST 4096

int trace_metrics_listen(const char *spec, char *err, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(spec, ':');
	char host[64];
	uint16_t lo, hi;
	int fd, one = 1, ret;

	if (!colon || (size_t)(colon - spec) >= sizeof(host) ||
	    parse_port_range(colon + 1, &lo, &hi) || lo != hi) {
		snprintf(err, len, "--metrics '%s': give ADDR:PORT, e.g. 127.0.0.1:9464", spec);
		return -EINVAL;
	}
	memcpy(host, spec, colon - spec);
	host[colon - spec] = '\0';
	if (inet_pton(AF_INET, host[0] ? host : "127.0.0.1", &sa.sin_addr) != 1) {
		snprintf(err, len, "--metrics '%s': '%s' is not an IPv4 address", spec, host);
		return -EINVAL;
	}
	sa.sin_port = htons(lo);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, len, "--metrics: socket: %s", strerror(errno));
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		ret = -errno;
		snprintf(err, len, "--metrics '%s': cannot listen: %s", spec, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void trace_metrics_serve(int lfd, const struct fl_trace_prom *p)
{
	struct timeval tv = {.tv_sec = 1};
	char req[MAX_REQUEST + 1], *body = NULL, *head = NULL;
	const char *status = "200 OK";
	size_t got = 0, blen = 0;
	FILE *f;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* The socket is blocking, with a timeout: a silent client costs the
	 * trace a second at most. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < MAX_REQUEST) {
		ssize_t r = recv(fd, req + got, MAX_REQUEST - got, 0);

		if (r <= 0)
			goto out;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	f = open_memstream(&body, &blen);
	if (!f)
		goto out;
	if (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET / ", 6)) {
		fl_trace_prom_write(p, f);
	} else {
		status = "404 Not Found";
		fputs("not found: the metrics are at /metrics\n", f);
	}
	fclose(f);
	if (asprintf(&head,
		     "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, blen) > 0) {
		send_all(fd, head, strlen(head));
		send_all(fd, body, blen);
	}
out:
	free(head);
	free(body);
	close(fd);
}
