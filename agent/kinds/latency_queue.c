// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The NFQUEUE engine of a latency fault: a thread of its own that takes
 * the packets the selector (bpf/latency.bpf.c) sent to the fault's queue,
 * holds each until its time and lets it go (NF_ACCEPT). Per packet:
 *   fresh     it starts what the fault delays (a packet, a connection's
 *             SYN, a request's first data packet; the same rule as the
 *             selector's): with probability prob it gets a delay drawn
 *             from the fault's distribution;
 *   follower  any other: it only waits for the packets of its flow held
 *             before it.
 * A packet leaves at max(its own time, its flow's last release), so a
 * flow is never reordered. Release is by a timerfd at the earliest time
 * (timer slack 1 ns); verdicts found in arrival order go as one batch
 * verdict (the kernel walks its queue from the oldest entry).
 *
 * The thread runs real-time (SCHED_FIFO 1) while it costs little (see
 * sched_watch).
 *
 * The queue is set to fail-open (a full queue or socket passes packets
 * undelayed), copies 128 bytes of each packet (the headers) and takes GSO
 * packets whole. When the agent dies the kernel drops what it held (TCP
 * sends it again) and --queue-bypass passes new packets.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include "latency_kind.h"
#include "log.h"

#define COPY_BYTES 128
#define EVENTS_CAP 16384 /* per fault between two drains (a tick, 250 ms) */
#define RECV_BATCH 64	 /* messages per recvmmsg */
#define RECV_SLOT  2048	 /* one message: 128 bytes of packet and its attributes */
#define VBUF_BYTES 8192

struct lat_queue {
	struct lat_queue_cfg c;
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t qnum;
	int timerfd, stopfd;
	pthread_t thread;
	bool running;
	struct lat_rng rng;
	uint64_t sched_at, sched_cpu;
	uint64_t armed; /* the timer's expiry, 0: disarmed */
	bool realtime;

	struct held *heap; /* min-heap by (due, seq) */
	uint32_t nheap, cap;
	/* Arrival order of held packets: ids, and whether each has gone. */
	uint32_t *ring_id;
	bool *ring_gone;
	uint32_t ring_head, ring_n;
	uint32_t *round; /* ids let go in one release round */
	uint64_t seq;
	struct uflow *flows;

	char *buf;  /* receive buffers, RECV_BATCH of RECV_SLOT bytes */
	char *vbuf; /* verdict messages, sent together */
	size_t vlen;

	/* Read by the agent's thread. */
	uint64_t received, delayed, followed, enobufs, held_now;
	struct lat_hist hist;

	pthread_mutex_t ev_lock;
	struct fl_event *ev;
	uint32_t nev;
	uint64_t ev_lost;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- netlink ---- */

static int send_config(struct lat_queue *q, uint16_t qnum, int step)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, qnum);
	int ret;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (step == 0) {
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	} else {
		uint32_t flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;

		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_BYTES);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, q->c.p.queue_len);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	}
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ret = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (ret < 0)
		return -errno;
	ret = mnl_cb_run(buf, ret, 0, q->portid, NULL, NULL);
	return ret < 0 ? -errno : 0;
}

static void verdict_flush(struct lat_queue *q)
{
	if (!q->vlen)
		return;
	if (mnl_socket_sendto(q->nl, q->vbuf, q->vlen) < 0)
		fl_debug("latency fault %u: verdicts not sent: %s", q->c.fault_id, strerror(errno));
	q->vlen = 0;
}

static void verdict_put(struct lat_queue *q, uint32_t id, bool batch)
{
	struct nlmsghdr *nlh;

	if (q->vlen + 64 > VBUF_BYTES)
		verdict_flush(q);
	nlh = nfq_nlmsg_put(q->vbuf + q->vlen, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
			    q->qnum);
	nfq_nlmsg_verdict_put(nlh, id, NF_ACCEPT);
	q->vlen += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* The selector's rule (latency.bpf.c), again on this side, for the flow
 * as this queue has seen it. */
static bool is_fresh(struct lat_queue *q, struct uflow *f, bool created, const struct lat_parsed *p)
{
	switch (q->c.p.per) {
	case FL_LAT_PER_CONNECTION:
		return p->k.proto == IPPROTO_TCP ? p->syn : created;
	case FL_LAT_PER_REQUEST:
		if (p->k.proto != IPPROTO_TCP || !p->payload)
			return false;
		if (f->has_turn && f->turn_ack == p->ack)
			return false;
		f->has_turn = true;
		f->turn_ack = p->ack;
		return true;
	default:
		return true;
	}
}

static void take_packet(struct lat_queue *q, uint32_t id, const uint8_t *data, size_t len,
			uint64_t now)
{
	struct held h = {.id = id, .arrive = now, .due = now};
	struct lat_parsed p;
	struct uflow *f;
	bool created;

	__atomic_fetch_add(&q->received, 1, __ATOMIC_RELAXED);
	if (lat_parse_pkt(data, len, &p) || q->nheap == q->cap || q->ring_n == q->cap) {
		verdict_put(q, id, false); /* cannot place it: let it go */
		return;
	}
	h.flow = lat_flow_get(q->flows, &p.k, now, &created);
	h.k = p.k;
	h.family = p.family;
	f = &q->flows[h.flow];
	if (is_fresh(q, f, created, &p) && (q->c.prob >= 1.0 || lat_rng_u01(&q->rng) < q->c.prob)) {
		h.delayed = true;
		h.due = now + lat_sample_ns(&q->rng, &q->c.p);
	}
	if (h.due < f->last_due)
		h.due = f->last_due;
	if (!h.delayed && h.due > now)
		__atomic_fetch_add(&q->followed, 1, __ATOMIC_RELAXED);
	f->last_due = h.due;
	f->held++;
	h.seq = q->seq++;
	h.ring = (q->ring_head + q->ring_n) % q->cap;
	q->ring_id[h.ring] = id;
	q->ring_gone[h.ring] = false;
	q->ring_n++;
	lat_heap_push(q->heap, &q->nheap, &h);
	__atomic_store_n(&q->held_now, q->nheap, __ATOMIC_RELAXED);
}

static void record(struct lat_queue *q, const struct held *h, uint64_t now)
{
	struct fl_event *e;

	lat_hist_add(&q->hist, now - h->arrive);
	__atomic_fetch_add(&q->delayed, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&q->ev_lock);
	if (q->nev == EVENTS_CAP) {
		q->ev_lost++;
		pthread_mutex_unlock(&q->ev_lock);
		return;
	}
	e = &q->ev[q->nev++];
	memset(e, 0, sizeof(*e));
	e->ts_ns = h->arrive;
	e->value = now - h->arrive;
	e->fault_id = q->c.fault_id;
	e->kind = FL_KIND_LATENCY;
	e->dir = q->c.dir;
	e->family = h->family;
	e->proto = h->k.proto;
	e->sport = h->k.sport;
	e->dport = h->k.dport;
	e->ifindex = q->c.ifindex;
	memcpy(e->saddr, h->k.saddr, 16);
	memcpy(e->daddr, h->k.daddr, 16);
	pthread_mutex_unlock(&q->ev_lock);
}

/* Let go of every packet due by `until` (all of them with UINT64_MAX). */
static void release(struct lat_queue *q, uint64_t until)
{
	uint64_t now = mono_ns();
	uint32_t max_id = 0, n = 0;

	while (q->nheap && q->heap[0].due <= until) {
		struct held h = lat_heap_pop(q->heap, &q->nheap);

		q->ring_gone[h.ring] = true;
		q->flows[h.flow].held--;
		if (h.delayed)
			record(q, &h, now);
		if (!n || (int32_t)(h.id - max_id) > 0)
			max_id = h.id;
		q->round[n++] = h.id;
	}
	__atomic_store_n(&q->held_now, q->nheap, __ATOMIC_RELAXED);
	if (!n)
		return;
	/* Take the gone ones off the front of the arrival ring. */
	while (q->ring_n && q->ring_gone[q->ring_head]) {
		q->ring_head = (q->ring_head + 1) % q->cap;
		q->ring_n--;
	}
	/* Everything that arrived up to max_id has gone: one batch verdict. */
	if (n > 1 && (!q->ring_n || (int32_t)(q->ring_id[q->ring_head] - max_id) > 0))
		verdict_put(q, max_id, true);
	else
		for (uint32_t i = 0; i < n; i++)
			verdict_put(q, q->round[i], false);
	verdict_flush(q);
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct lat_queue *q = data;
	struct nlattr *attr[NFQA_MAX + 1] = {};
	struct nfqnl_msg_packet_hdr *ph;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (!attr[NFQA_PAYLOAD]) {
		verdict_put(q, ntohl(ph->packet_id), false);
		return MNL_CB_OK;
	}
	take_packet(q, ntohl(ph->packet_id), mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
		    mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), mono_ns());
	return MNL_CB_OK;
}

/* Read what is queued for us now, RECV_BATCH messages a call; returns
 * messages read. */
static int receive(struct lat_queue *q)
{
	struct mmsghdr mm[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	int n;

	for (int i = 0; i < RECV_BATCH; i++) {
		iov[i].iov_base = q->buf + (size_t)i * RECV_SLOT;
		iov[i].iov_len = RECV_SLOT;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(mnl_socket_get_fd(q->nl), mm, RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == ENOBUFS) {
			/* The socket overflowed: those packets passed (fail-open). */
			__atomic_fetch_add(&q->enobufs, 1, __ATOMIC_RELAXED);
			return RECV_BATCH;
		}
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			fl_debug("latency fault %u: a queue message over %d bytes", q->c.fault_id,
				 RECV_SLOT);
		mnl_cb_run(iov[i].iov_base, mm[i].msg_len, 0, q->portid, on_msg, q);
	}
	return n;
}

/* The timer at the earliest release; a syscall only when that changes. */
static void arm(struct lat_queue *q)
{
	struct itimerspec its = {};
	uint64_t due = q->nheap ? (q->heap[0].due ? q->heap[0].due : 1) : 0;

	if (due == q->armed)
		return;
	its.it_value.tv_sec = due / 1000000000ULL;
	its.it_value.tv_nsec = due % 1000000000ULL;
	timerfd_settime(q->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	q->armed = due;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The thread runs SCHED_FIFO (priority 1) while it costs under 40% of
 * a CPU, so that a busy host does not make packets late; past that it goes
 * back to SCHED_OTHER and stays there, so that it can never starve the
 * host (or the service under test). Checked once a second. */
static void sched_watch(struct lat_queue *q, uint64_t now)
{
	struct sched_param sp = {.sched_priority = 1};
	uint64_t cpu;

	if (!q->sched_at) {
		q->sched_at = now;
		q->sched_cpu = thread_cpu_ns();
		q->realtime = !pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
		return;
	}
	if (!q->realtime || now - q->sched_at < 1000000000ULL)
		return;
	cpu = thread_cpu_ns();
	if ((cpu - q->sched_cpu) * 5 > (now - q->sched_at) * 2) {
		sp.sched_priority = 0;
		pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
		q->realtime = false;
		fl_log("latency fault %u: its queue thread uses over 40%% of a CPU; it gives up "
		       "real-time priority (delays may run late on a busy host)",
		       q->c.fault_id);
	}
	q->sched_at = now;
	q->sched_cpu = cpu;
}

static void *run(void *arg)
{
	struct lat_queue *q = arg;
	struct pollfd pfd[3] = {
	    {.fd = mnl_socket_get_fd(q->nl), .events = POLLIN},
	    {.fd = q->timerfd, .events = POLLIN},
	    {.fd = q->stopfd, .events = POLLIN},
	};

	/* A name for top -H and perf: which fault's queue this thread is. */
	{
		char name[16];

		snprintf(name, sizeof(name), "fl-latq-%u", q->c.fault_id);
		pthread_setname_np(pthread_self(), name);
	}
	prctl(PR_SET_TIMERSLACK, 1UL);
	sched_watch(q, mono_ns());
	for (;;) {
		uint64_t x;

		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents)
			break;
		if (pfd[1].revents) {
			if (read(q->timerfd, &x, sizeof(x)) < 0)
				x = 0;
			q->armed = 0; /* it fired */
		}
		sched_watch(q, mono_ns());
		if (pfd[0].revents)
			for (int i = 0; i < 8 && receive(q) == RECV_BATCH; i++)
				release(q, mono_ns());
		release(q, mono_ns());
		verdict_flush(q);
		arm(q);
	}
	/* Stopping: the rule is gone; take what is still queued, let all go. */
	while (receive(q) > 0)
		;
	release(q, UINT64_MAX);
	verdict_flush(q);
	return NULL;
}

/* ---- life cycle ---- */

int lat_queue_open(const struct lat_queue_cfg *c, struct lat_queue **out, uint16_t *qnum, char *err,
		   size_t errlen)
{
	struct lat_queue *q = calloc(1, sizeof(*q));
	int ret = -ENOMEM, rcvbuf;

	*out = NULL;
	if (!q)
		goto fail_msg;
	q->c = *c;
	q->timerfd = q->stopfd = -1;
	q->cap = c->p.queue_len;
	q->heap = calloc(q->cap, sizeof(*q->heap));
	q->ring_id = calloc(q->cap, sizeof(*q->ring_id));
	q->ring_gone = calloc(q->cap, sizeof(*q->ring_gone));
	q->flows = calloc(LAT_USER_FLOWS, sizeof(*q->flows));
	q->ev = calloc(EVENTS_CAP, sizeof(*q->ev));
	q->buf = malloc((size_t)RECV_BATCH * RECV_SLOT);
	q->vbuf = malloc(VBUF_BYTES);
	q->round = calloc(q->cap, sizeof(*q->round));
	pthread_mutex_init(&q->ev_lock, NULL);
	lat_rng_seed(&q->rng, mono_ns() ^ ((uint64_t)c->fault_id << 32));
	if (!q->heap || !q->ring_id || !q->ring_gone || !q->flows || !q->ev || !q->buf ||
	    !q->vbuf || !q->round)
		goto fail_msg;
	q->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	q->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (q->timerfd < 0 || q->stopfd < 0 || !q->nl ||
	    mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open a netfilter queue socket: %s", strerror(-ret));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	/* Room for every packet the queue may hold (headers only). */
	rcvbuf = q->cap * 512 > (64 << 20) ? (64 << 20) : q->cap * 512;
	if (rcvbuf < (1 << 20))
		rcvbuf = 1 << 20;
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)))
		fl_debug("latency: SO_RCVBUFFORCE %d: %s", rcvbuf, strerror(errno));
	ret = -EBUSY;
	for (int i = 0; i < FL_LAT_QUEUE_TRIES && ret; i++) {
		ret = send_config(q, FL_LAT_QUEUE_BASE + i, 0);
		if (!ret)
			q->qnum = FL_LAT_QUEUE_BASE + i;
	}
	if (ret) {
		snprintf(err, errlen, "cannot bind a netfilter queue (%d-%d): %s",
			 FL_LAT_QUEUE_BASE, FL_LAT_QUEUE_BASE + FL_LAT_QUEUE_TRIES - 1,
			 strerror(-ret));
		goto fail;
	}
	ret = send_config(q, q->qnum, 1);
	if (ret) {
		snprintf(err, errlen, "cannot configure netfilter queue %u: %s", q->qnum,
			 strerror(-ret));
		goto fail;
	}
	*qnum = q->qnum;
	*out = q;
	return 0;
fail_msg:
	snprintf(err, errlen, "out of memory for a latency queue of %u packets", c->p.queue_len);
fail:
	if (q) {
		q->running = false;
		lat_queue_close(q);
	}
	return ret;
}

int lat_queue_start(struct lat_queue *q, char *err, size_t errlen)
{
	int ret = pthread_create(&q->thread, NULL, run, q);

	if (ret) {
		snprintf(err, errlen, "cannot start the latency queue thread: %s", strerror(ret));
		return -ret;
	}
	q->running = true;
	return 0;
}

void lat_queue_stop(struct lat_queue *q)
{
	uint64_t one = 1;

	if (!q || !q->running)
		return;
	if (write(q->stopfd, &one, sizeof(one)) != sizeof(one))
		fl_log("latency fault %u: cannot stop its queue thread", q->c.fault_id);
	pthread_join(q->thread, NULL);
	q->running = false;
}

void lat_queue_close(struct lat_queue *q)
{
	if (!q)
		return;
	lat_queue_stop(q);
	if (q->nl)
		mnl_socket_close(q->nl); /* unbinds the queue */
	if (q->timerfd >= 0)
		close(q->timerfd);
	if (q->stopfd >= 0)
		close(q->stopfd);
	pthread_mutex_destroy(&q->ev_lock);
	free(q->heap);
	free(q->ring_id);
	free(q->ring_gone);
	free(q->flows);
	free(q->ev);
	free(q->buf);
	free(q->vbuf);
	free(q->round);
	free(q);
}

void lat_queue_stats(struct lat_queue *q, struct lat_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!q)
		return;
	s->received = __atomic_load_n(&q->received, __ATOMIC_RELAXED);
	s->delayed = __atomic_load_n(&q->delayed, __ATOMIC_RELAXED);
	s->followed = __atomic_load_n(&q->followed, __ATOMIC_RELAXED);
	s->enobufs = __atomic_load_n(&q->enobufs, __ATOMIC_RELAXED);
	s->p50_ns = lat_hist_quantile(&q->hist, 0.5);
	s->p99_ns = lat_hist_quantile(&q->hist, 0.99);
	s->max_ns = __atomic_load_n(&q->hist.max, __ATOMIC_RELAXED);
	s->held = __atomic_load_n(&q->held_now, __ATOMIC_RELAXED);
}

size_t lat_queue_drain(struct lat_queue *q, void (*fn)(const struct fl_event *e))
{
	static struct fl_event copy[EVENTS_CAP];
	uint32_t n;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->ev_lock);
	n = q->nev;
	memcpy(copy, q->ev, n * sizeof(*copy));
	q->nev = 0;
	pthread_mutex_unlock(&q->ev_lock);
	for (uint32_t i = 0; i < n; i++)
		fn(&copy[i]);
	return n;
}

uint64_t lat_queue_events_lost(struct lat_queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->ev_lock);
	n = q->ev_lost;
	pthread_mutex_unlock(&q->ev_lock);
	return n;
}
