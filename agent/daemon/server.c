// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "fault.h"
#include "log.h"
#include "proto.h"
#include "seccomp_sup.h"
#include "server.h"

enum client_kind { CLIENT_CTL, CLIENT_METRICS, CLIENT_SUP /* a seccomp supervisor */ };

struct client {
	int fd; /* -1 when the slot is free */
	enum client_kind kind;
	uint64_t accepted, last_active;
	size_t len;
	bool overflow; /* discarding the rest of an oversized line */
	char *buf;     /* control: a line of FL_PROTO_MAX_LINE bytes, its newline, a NUL;
			  metrics: FL_METRICS_MAX_REQUEST bytes and a NUL */
};

#define NR_SLOTS (FL_MAX_CLIENTS + FL_MAX_METRICS_CLIENTS)
/* Control clients in [0, FL_MAX_CLIENTS), metrics clients after them. */
static struct client clients[NR_SLOTS];
static int ctl_fd = -1, metrics_fd = -1;
static char ctl_path[108];

bool server_socket_in_use(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ret == 0;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* The lock is ours, so a socket file left here is stale. */
	unlink(path);
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || chmod(path, 0600) || listen(fd, 64)) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static int listen_tcp(uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd, one = 1, ret;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		ret = -errno;
		snprintf(err, errlen,
			 "cannot serve metrics on 127.0.0.1:%u: %s (agentd --metrics-port N, 0 "
			 "turns it off)",
			 port, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static int watch(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int server_open(int epfd, const char *sock_path, uint16_t metrics_port, char *err, size_t errlen)
{
	int ret;

	for (int i = 0; i < NR_SLOTS; i++)
		clients[i].fd = -1;
	snprintf(ctl_path, sizeof(ctl_path), "%s", sock_path);
	ctl_fd = listen_unix(sock_path, err, errlen);
	if (ctl_fd < 0)
		return ctl_fd;
	ret = watch(epfd, ctl_fd);
	if (ret)
		return ret;
	if (metrics_port) {
		metrics_fd = listen_tcp(metrics_port, err, errlen);
		if (metrics_fd < 0)
			return metrics_fd;
		ret = watch(epfd, metrics_fd);
	}
	return ret;
}

static void client_close(int epfd, struct client *c)
{
	if (c->kind == CLIENT_SUP)
		seccomp_sup_gone(c->fd);
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Replies are small; one that does not fit the socket buffer now goes to a
 * client that does not read, and that client is let go. */
static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= n;
	}
	return 0;
}

static int reply(struct client *c, json_t *r)
{
	char *line = proto_reply_line(r);
	int ret;

	if (!line)
		return -1;
	ret = send_all(c->fd, line, strlen(line));
	free(line);
	return ret;
}

/* A free slot of the kind's pool. When the pool is full, the metrics pool
 * lets its oldest client go (a scrape takes milliseconds; one that has
 * taken longest is the slow one), and the control pool the one idle
 * longest, if that has been idle for a second: root always gets in. */
static struct client *slot_for(int epfd, enum client_kind kind, uint64_t now)
{
	int lo = kind == CLIENT_CTL ? 0 : FL_MAX_CLIENTS;
	int hi = kind == CLIENT_CTL ? FL_MAX_CLIENTS : NR_SLOTS;
	struct client *victim = NULL;

	for (int i = lo; i < hi; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0)
			return c;
		if (c->kind == CLIENT_SUP)
			continue; /* a supervisor may be quiet for long: never let go */
		if (kind == CLIENT_METRICS ? !victim || c->accepted < victim->accepted
					   : !victim || c->last_active < victim->last_active)
			victim = c;
	}
	if (!victim || (kind == CLIENT_CTL && now - victim->last_active < 1000000000ULL))
		return NULL;
	client_close(epfd, victim);
	return victim;
}

static void refuse(int fd, const char *why)
{
	char *line = proto_reply_line(proto_error("%s", why));

	if (line)
		send_all(fd, line, strlen(line));
	free(line);
	close(fd);
}

static void accept_client(int epfd, int lfd, enum client_kind kind)
{
	uint64_t now = now_mono_ns();
	struct client *c;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (kind == CLIENT_CTL) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) ||
		    (cr.uid != 0 && cr.uid != geteuid())) {
			fl_log("refused a client with uid %d", (int)cr.uid);
			refuse(fd, "permission denied: only root may drive the agent");
			return;
		}
	}
	c = slot_for(epfd, kind, now);
	if (!c) {
		if (kind == CLIENT_CTL)
			refuse(fd, "agent busy: every control connection is in use");
		else
			close(fd);
		return;
	}
	c->buf = malloc(kind == CLIENT_CTL ? FL_PROTO_MAX_LINE + 2 : FL_METRICS_MAX_REQUEST + 1);
	if (!c->buf) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->kind = kind;
	c->len = 0;
	c->overflow = false;
	c->accepted = c->last_active = now;
	if (watch(epfd, fd))
		client_close(epfd, c);
}

static void serve_metrics(int epfd, struct client *c)
{
	char *body = NULL, *head = NULL;
	const char *status = "200 OK";
	size_t blen = 0;
	FILE *f;

	/* Wait for the end of the request headers. */
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n") && !strstr(c->buf, "\n\n"))
		return;
	f = open_memstream(&body, &blen);
	if (f) {
		if (!strncmp(c->buf, "GET /metrics ", 13) || !strncmp(c->buf, "GET / ", 6)) {
			faults_metrics(f);
		} else {
			status = "404 Not Found";
			fputs("not found: the metrics are at /metrics\n", f);
		}
		fclose(f);
	}
	if (body && asprintf(&head,
			     "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			     status, blen) > 0) {
		send_all(c->fd, head, strlen(head));
		send_all(c->fd, body, blen);
	}
	free(head);
	free(body);
	client_close(epfd, c);
}

/* Returns -1 when the reply could not be sent whole: the client goes. */
static int handle_line(struct client *c, const char *line, size_t len)
{
	struct fl_request req;
	char err[512];
	json_t *r;

	if (c->kind == CLIENT_SUP) {
		seccomp_sup_line(c->fd, line, len);
		return 0;
	}
	if (proto_parse_request(line, len, &req, err, sizeof(err)))
		return reply(c, proto_error("%s", err));
	if (req.cmd != FL_CMD_SUPERVISE)
		return reply(c, faults_handle(&req));
	r = seccomp_sup_register(c->fd, &req);
	if (json_is_true(json_object_get(r, "ok")))
		c->kind = CLIENT_SUP; /* its lines go to the supervisors from now on */
	return reply(c, r);
}

static void read_client(int epfd, struct client *c)
{
	for (;;) {
		/* c->len <= FL_PROTO_MAX_LINE here: a longer line is thrown away
		 * below; a metrics request has its own smaller buffer. */
		size_t room = c->kind == CLIENT_METRICS ? FL_METRICS_MAX_REQUEST - c->len
							: FL_PROTO_MAX_LINE + 1 - c->len;
		ssize_t n = read(c->fd, c->buf + c->len, room);
		char *start, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			client_close(epfd, c);
			return;
		}
		c->last_active = now_mono_ns();
		c->len += n;
		if (c->kind == CLIENT_METRICS) {
			if (c->len >= FL_METRICS_MAX_REQUEST)
				client_close(epfd, c);
			else
				serve_metrics(epfd, c);
			return;
		}
		start = c->buf;
		while ((nl = memchr(start, '\n', c->buf + c->len - start))) {
			if (c->overflow) {
				c->overflow = false; /* the end of the oversized line */
			} else if (nl > start && handle_line(c, start, nl - start)) {
				client_close(epfd, c);
				return;
			}
			start = nl + 1;
		}
		c->len -= start - c->buf;
		memmove(c->buf, start, c->len);
		if (c->len > FL_PROTO_MAX_LINE) {
			if (!c->overflow &&
			    reply(c, proto_error("request longer than %d bytes; refused",
						 FL_PROTO_MAX_LINE))) {
				client_close(epfd, c);
				return;
			}
			c->overflow = true;
			c->len = 0;
		}
	}
}

int server_handle(int epfd, int fd, uint32_t events)
{
	if (fd == ctl_fd) {
		accept_client(epfd, fd, CLIENT_CTL);
		return 1;
	}
	if (metrics_fd >= 0 && fd == metrics_fd) {
		accept_client(epfd, fd, CLIENT_METRICS);
		return 1;
	}
	for (int i = 0; i < NR_SLOTS; i++)
		if (clients[i].fd == fd) {
			read_client(epfd, &clients[i]);
			return 1;
		}
	return 0;
}

void server_reap(uint64_t now)
{
	for (int i = 0; i < NR_SLOTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0 || c->kind == CLIENT_SUP)
			continue; /* a supervisor's connection lasts as long as it does */
		/* A scrape has a hard deadline, however it trickles its bytes. */
		if (c->kind == CLIENT_METRICS ? now - c->accepted > FL_METRICS_DEADLINE_NS
					      : now - c->last_active > FL_CLIENT_IDLE_NS)
			client_close(-1, c);
	}
}

void server_close(void)
{
	for (int i = 0; i < NR_SLOTS; i++)
		if (clients[i].fd >= 0)
			client_close(-1, &clients[i]);
	if (ctl_fd >= 0) {
		close(ctl_fd);
		unlink(ctl_path);
	}
	if (metrics_fd >= 0)
		close(metrics_fd);
	ctl_fd = metrics_fd = -1;
}
