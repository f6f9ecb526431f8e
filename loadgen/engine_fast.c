// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The fast engine: one epoll loop per thread, non-blocking sockets,
 * HTTP/1.1 keep-alive, one request in flight per connection. Per
 * connection it keeps the parser state and the variable part of the
 * request (about 350 bytes); the read buffer is shared by the thread.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lg_http.h"
#include "log.h"
#include "lg_run.h"

#define RBUF_SIZE  (64 * 1024)
#define MAX_EVENTS 256

enum { C_CLOSED, C_CONNECTING, C_SENDING, C_WAITING, C_IDLE };

struct fconn {
	int fd;
	uint8_t state;
	bool want_out;
	uint16_t var_len;
	uint32_t off;	/* bytes of the request written */
	uint32_t total; /* bytes of the whole request */
	struct http_resp resp;
	char var[REQ_VAR_MAX];
};

struct fast {
	int ep;
	struct fconn *c;
	char rbuf[RBUF_SIZE];
	struct epoll_event ev[MAX_EVENTS];
};

static int fast_init(struct lg_thread *t)
{
	struct fast *f;
	unsigned i;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->c = calloc(t->cap, sizeof(*f->c));
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!f->c || f->ep < 0) {
		int err = f->ep < 0 ? -errno : -ENOMEM;

		if (f->ep >= 0)
			close(f->ep);
		free(f->c);
		free(f);
		return err;
	}
	for (i = 0; i < t->cap; i++)
		f->c[i].fd = -1;
	t->eng = f;
	return 0;
}

static void conn_close(struct lg_thread *t, unsigned i)
{
	struct fast *f = t->eng;
	struct fconn *c = &f->c[i];

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_CLOSED;
	c->want_out = false;
	lg_slot_forget_conn(&t->slots[i]);
}

/* The request ends first, so that its record names the connection's port. */
static void fail(struct lg_thread *t, unsigned i, unsigned outcome, int err, uint64_t now)
{
	lg_complete(t, i, outcome, 0, err, now);
	conn_close(t, i);
}

static unsigned sock_outcome(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return FL_OUT_RESET;
	case ETIMEDOUT:
		return FL_OUT_TIMEOUT;
	default:
		return FL_OUT_OTHER;
	}
}

static void set_out(struct lg_thread *t, unsigned i, bool out)
{
	struct fast *f = t->eng;
	struct fconn *c = &f->c[i];
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
				 .data.u32 = i};

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flush(struct lg_thread *t, unsigned i, uint64_t now)
{
	struct fast *f = t->eng;
	struct fconn *c = &f->c[i];
	const struct lg_req *r = &t->run->cfg->reqs.r[t->slots[i].mix];
	const char *seg[3] = {r->head, c->var, r->body};
	size_t len[3] = {r->head_len, c->var_len, r->body_len};

	while (c->off < c->total) {
		struct iovec iov[3];
		struct msghdr m = {.msg_iov = iov};
		size_t skip = c->off;
		ssize_t n;
		int k;

		for (k = 0; k < 3; k++) {
			if (skip >= len[k]) {
				skip -= len[k];
				continue;
			}
			iov[m.msg_iovlen].iov_base = (char *)seg[k] + skip;
			iov[m.msg_iovlen].iov_len = len[k] - skip;
			m.msg_iovlen++;
			skip = 0;
		}
		n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				set_out(t, i, true);
				return;
			}
			fail(t, i, sock_outcome(errno), errno, now);
			return;
		}
		c->off += (uint32_t)n;
		t->slots[i].bytes_out += (uint32_t)n;
	}
	c->state = C_WAITING;
	set_out(t, i, false);
}

static void fast_send(struct lg_thread *t, unsigned i, uint64_t now)
{
	const struct lg_config *cfg = t->run->cfg;
	struct fast *f = t->eng;
	struct fconn *c = &f->c[i];
	const struct lg_req *r = &cfg->reqs.r[t->slots[i].mix];

	c->var_len = (uint16_t)lg_req_var(t, i, c->var);
	c->off = 0;
	c->total = (uint32_t)(r->head_len + c->var_len + r->body_len);
	http_resp_init(&c->resp, r->is_head);
	if (c->fd < 0) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = i};
		int one = 1;

		c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			fail(t, i, FL_OUT_OTHER, errno, now);
			return;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (epoll_ctl(f->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
			fail(t, i, FL_OUT_OTHER, errno, now);
			return;
		}
		c->want_out = true;
		if (connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) &&
		    errno != EINPROGRESS) {
			int err = errno;

			lg_slot_sockinfo(&t->slots[i], c->fd, (const struct sockaddr *)&cfg->addr);
			fail(t, i, FL_OUT_CONNECT, err, now);
			return;
		}
		/* the port is bound now, before the SYN is answered: a request whose
		 * SYN is dropped still has its 5-tuple in the ledger */
		lg_slot_sockinfo(&t->slots[i], c->fd, (const struct sockaddr *)&cfg->addr);
		c->state = C_CONNECTING;
		return; /* EPOLLOUT says when it is up */
	}
	c->state = C_SENDING;
	flush(t, i, now);
}

static void on_read(struct lg_thread *t, unsigned i, uint64_t now)
{
	struct fast *f = t->eng;
	struct fconn *c = &f->c[i];
	struct lg_slot *s = &t->slots[i];

	for (;;) {
		ssize_t n = recv(c->fd, f->rbuf, sizeof(f->rbuf), 0);
		size_t used;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (s->busy)
				fail(t, i, sock_outcome(errno), errno, now);
			else
				conn_close(t, i);
			return;
		}
		if (n == 0) {
			if (!s->busy || c->state == C_IDLE) {
				conn_close(t, i); /* an idle connection closed by the server */
				return;
			}
			if (http_resp_eof(&c->resp) == 1) {
				unsigned st = c->resp.status;
				const struct lg_req *rq = &t->run->cfg->reqs.r[s->mix];

				lg_complete(t, i, req_status_ok(rq, st) ? FL_OUT_OK : FL_OUT_STATUS,
					    st, 0, now);
				conn_close(t, i);
			} else {
				fail(t, i, FL_OUT_EOF, 0, now);
			}
			return;
		}
		if (!s->busy || c->state == C_IDLE) {
			/* bytes nobody asked for: the stream is out of step */
			conn_close(t, i);
			return;
		}
		s->bytes_in += (uint32_t)n;
		r = http_resp_feed(&c->resp, f->rbuf, (size_t)n, &used);
		if (r < 0) {
			fail(t, i, FL_OUT_PARSE, -r, now);
			return;
		}
		if (r == 1) {
			const struct lg_req *rq = &t->run->cfg->reqs.r[s->mix];
			unsigned st = c->resp.status;

			c->state = C_IDLE;
			lg_complete(t, i, req_status_ok(rq, st) ? FL_OUT_OK : FL_OUT_STATUS, st, 0,
				    now);
			/* not reusable: the server wants it closed, sent more than
			 * one response, or answered before the request was all out */
			if (!c->resp.keep_alive || used < (size_t)n || c->off < c->total)
				conn_close(t, i);
			return;
		}
		if ((size_t)n < sizeof(f->rbuf))
			return; /* drained; level-triggered epoll says when more comes */
	}
}

static void on_event(struct lg_thread *t, unsigned i, uint32_t evs, uint64_t now)
{
	struct fast *f = t->eng;
	struct fconn *c = &f->c[i];

	if (c->fd < 0)
		return;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (!(evs & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l))
			err = errno;
		if (err) {
			fail(t, i, FL_OUT_CONNECT, err, now);
			return;
		}
		c->state = C_SENDING;
		flush(t, i, now);
		if (c->fd < 0 || c->state != C_WAITING)
			return;
	} else if (c->state == C_SENDING && (evs & EPOLLOUT)) {
		flush(t, i, now);
		if (c->fd < 0)
			return;
	}
	if (evs & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		on_read(t, i, now);
}

static int fast_wait(struct lg_thread *t, uint64_t until)
{
	struct fast *f = t->eng;
	uint64_t now = now_mono_ns();
	struct timespec ts = {0, 0};
	int n, k;

	if (until > now) {
		ts.tv_sec = (time_t)((until - now) / 1000000000ULL);
		ts.tv_nsec = (long)((until - now) % 1000000000ULL);
	}
	n = epoll_pwait2(f->ep, f->ev, MAX_EVENTS, &ts, NULL);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	now = now_mono_ns();
	for (k = 0; k < n; k++)
		on_event(t, f->ev[k].data.u32, f->ev[k].events, now);
	return 0;
}

static void fast_timeouts(struct lg_thread *t, uint64_t now)
{
	unsigned i;

	for (i = 0; i < t->nslots; i++) {
		struct lg_slot *s = &t->slots[i];

		if (s->busy && s->deadline_ns && now >= s->deadline_ns)
			fail(t, i, FL_OUT_TIMEOUT, ETIMEDOUT, now);
	}
}

static void fast_fini(struct lg_thread *t)
{
	struct fast *f = t->eng;
	unsigned i;

	if (!f)
		return;
	for (i = 0; i < t->cap; i++)
		if (f->c[i].fd >= 0)
			close(f->c[i].fd);
	close(f->ep);
	free(f->c);
	free(f);
	t->eng = NULL;
}

const struct lg_engine lg_engine_fast = {
    .name = "fast",
    .init = fast_init,
    .send = fast_send,
    .wait = fast_wait,
    .timeouts = fast_timeouts,
    .fini = fast_fini,
};
