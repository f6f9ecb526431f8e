/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The state and the handlers of reqtrace.bpf.c (per-request stage records,
 * docs/tracing.md): its maps, the per-socket exchange, and one handler per
 * event that the tp_btf, raw_tp and tracepoint programs there call. Only
 * reqtrace.bpf.c includes it.
 */
#ifndef FL_REQTRACE_CORE_BPF_H
#define FL_REQTRACE_CORE_BPF_H

#define TASK_RUNNING	   0
#define TASK_REPORT_MAX	   0x100
#define AF_INET		   2
#define AF_INET6	   10
#define ETH_P_IP	   0x0800
#define ETH_P_IPV6	   0x86DD
#define FL_TCP_ESTABLISHED 1
#define FL_TCP_SYN_SENT	   2
#define FL_TCP_CLOSE	   7

const volatile struct fl_rq_cfg cfg = {};

/* tp_btf: each socket's state in its own local storage, found from the
 * socket in a few loads where the hash costs a hash and a bucket walk in
 * every program (0.3-0.4 us a request in the benchmark). A socket first
 * sent on by a process not traced keeps an entry marked ignored, so that
 * the process is tested once (a socket handed to a traced process later
 * stays unfollowed). The raw_tp and tracepoint sets, whose socket is a bare
 * address, keep the hash. User space reads the entries at the end through
 * duplicates of the traced processes' descriptors (requests_open.c): the
 * storage's iterator is refused on some kernels. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fl_rq_sock);
} sk_socks SEC(".maps");

/* tp_btf: the processes that own followed sockets, for that walk. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_RQ_TIDS);
	__type(key, __u32);
	__type(value, __u8);
} procs SEC(".maps");

/* tp_btf: drops of packets with no socket (at ingress), found by their
 * 4-tuple, parked by socket address until the socket's next record takes
 * them, since an address does not lead to a socket's storage. drop_gen
 * counts the parkings, so that a record looks here only after one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_RQ_SOCKS);
	__type(key, __u64); /* struct sock * */
	__type(value, struct fl_rq_drop_box);
} parked SEC(".maps");

__u64 drop_gen;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_RQ_SOCKS);
	__type(key, __u64); /* struct sock * */
	__type(value, struct fl_rq_sock);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_RQ_SOCKS);
	__type(key, struct fl_rq_tuple);
	__type(value, __u64);
} tuples SEC(".maps");

/* A thread of a traced process: its last run-queue wait, and (tracepoint
 * set) the entry time of its send syscall. */
struct tid_state {
	__u64 wake_ns;	/* woken or preempted, not yet running; 0 when running */
	__u64 on_ns;	/* last switched in */
	__u64 delay_ns; /* on_ns - the wake_ns before it */
	__u64 sys_send_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_RQ_TIDS);
	__type(key, __u32);
	__type(value, struct tid_state);
} tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_RQ_RINGBUF);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_RQ_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static struct fl_rq_sock zero_state;
static struct fl_rq_sock ignored_state = {.ignored = 1};
static struct tid_state zero_tid;

struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

static __always_inline void stat_inc(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &i);

	if (v)
		(*v)++;
}

static __always_inline bool match_current(void)
{
	if (cfg.tgid && (bpf_get_current_pid_tgid() >> 32) != cfg.tgid)
		return false;
	if (cfg.has_comm) {
		char comm[FL_RQ_COMM] = {};

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < FL_RQ_COMM; i++) {
			if (comm[i] != cfg.comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

/* The followed socket's state, or NULL. local: the tp_btf set (sk_socks),
 * a constant at every call, so that each set keeps one of the two paths. */
static __always_inline struct fl_rq_sock *state_of(const struct sock *sk, bool local)
{
	struct fl_rq_sock *s;
	__u64 k = (__u64)sk;

	if (!local)
		return bpf_map_lookup_elem(&socks, &k);
	s = bpf_sk_storage_get(&sk_socks, (struct sock *)sk, 0, 0);
	return s && !s->ignored ? s : NULL;
}

static __always_inline void tid_mark(__u32 tid)
{
	if (!bpf_map_lookup_elem(&tids, &tid))
		bpf_map_update_elem(&tids, &tid, &zero_tid, BPF_NOEXIST);
}

/* The socket's cookie: SO_COOKIE makes it on first use, and loadgen asks
 * for it right after connect(), so it may be 0 at SYN_SENT and known later. */
static __always_inline void take_cookie(struct fl_rq_sock *s, const struct sock *sk)
{
	if (!s->r.cookie)
		s->r.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/* Whether sk is a TCP socket a traced process sends on (process context). */
static __always_inline bool wanted(const struct sock *sk)
{
	__u16 dport;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP || !match_current())
		return false;
	dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return !cfg.port || !dport || dport == cfg.port;
}

/* The state of a socket the caller found none for: a new one when a traced
 * process sends on it (process context). */
static __always_inline struct fl_rq_sock *state_new(const struct sock *sk, bool local)
{
	__u64 pt = bpf_get_current_pid_tgid(), k = (__u64)sk;
	struct fl_rq_sock *s;
	bool want;

	if (local) {
		if (bpf_sk_storage_get(&sk_socks, (struct sock *)sk, 0, 0))
			return NULL;
		want = wanted(sk);
		s = bpf_sk_storage_get(&sk_socks, (struct sock *)sk,
				       want ? &zero_state : &ignored_state,
				       BPF_SK_STORAGE_GET_F_CREATE);
		if (!s && want)
			stat_inc(FL_RQ_ST_NOSLOT);
		if (!s || !want)
			return NULL;
		s->addr = k;
		s->drop_gen = drop_gen;
		if (!bpf_map_lookup_elem(&procs, &(__u32){pt >> 32}))
			bpf_map_update_elem(&procs, &(__u32){pt >> 32}, &(__u8){1}, BPF_ANY);
	} else {
		if (!wanted(sk))
			return NULL;
		if (bpf_map_update_elem(&socks, &k, &zero_state, BPF_NOEXIST)) {
			stat_inc(FL_RQ_ST_NOSLOT);
			return NULL;
		}
		s = bpf_map_lookup_elem(&socks, &k);
		if (!s)
			return NULL;
	}
	s->r.tgid = pt >> 32;
	s->r.tid = (__u32)pt;
	tid_mark((__u32)pt);
	return s;
}

/* A socket's 4-tuple in the client's direction; 0, or -1 before its ports
 * are known or for another family. */
static __always_inline int sk_tuple(const struct sock *sk, struct fl_rq_tuple *t, __u16 *fam)
{
	t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (!t->lport || !t->rport)
		return -1;
	*fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (*fam == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 b = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(t->local, &a, 4);
		__builtin_memcpy(t->remote, &b, 4);
		return 0;
	}
	if (*fam == AF_INET6) {
		BPF_CORE_READ_INTO(&t->local, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->remote, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		return 0;
	}
	return -1;
}

/* Remember the 4-tuple once the local port is known (after connect()). */
static __always_inline void take_tuple(struct fl_rq_sock *s, const struct sock *sk)
{
	struct fl_rq_tuple t = {};
	__u64 k = (__u64)sk;
	__u16 fam = 0;

	if (s->has_tuple || sk_tuple(sk, &t, &fam))
		return;
	s->r.sport = t.lport;
	s->r.dport = t.rport;
	s->r.family = fam;
	if (!bpf_map_update_elem(&tuples, &t, &k, BPF_ANY))
		s->has_tuple = 1;
}

/* Count drops into the socket's exchange; the first one's reason and time. */
static __always_inline void note_drops(struct fl_rq_sock *s, __u32 n, __u32 reason, __u64 ns)
{
	if (!s->r.drops) {
		s->r.drop_reason = reason;
		s->r.drop_ns = ns;
	}
	s->r.drops += n;
}

/* tp_btf: take the drops parked for the socket, looking only after a
 * parking anywhere. drop_gen is read before the box: a drop parked
 * meanwhile moves it again, and the next record looks again. */
static __always_inline void take_parked(struct fl_rq_sock *s)
{
	__u64 g = *(volatile __u64 *)&drop_gen, n;
	struct fl_rq_drop_box *b;

	if (s->drop_gen == g)
		return;
	s->drop_gen = g;
	b = bpf_map_lookup_elem(&parked, &s->addr);
	if (!b)
		return;
	n = __sync_lock_test_and_set(&b->drops, 0);
	if (n)
		note_drops(s, (__u32)n, b->reason, b->drop_ns);
}

/* Write the socket's exchange to the ring buffer and start a new one. */
static __always_inline void emit(struct fl_rq_sock *s, __u32 flags, bool local)
{
	struct fl_rq_rec *r;

	if (local)
		take_parked(s);
	if (!s->r.send_start_ns && !s->r.syn_ns && !s->r.retrans && !s->r.drops)
		goto reset; /* nothing happened on it */
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		stat_inc(FL_RQ_ST_LOST);
		goto reset;
	}
	__builtin_memcpy(r, &s->r, sizeof(*r));
	r->flags |= flags;
	if (r->syn_ns)
		r->flags |= FL_RQ_CONNECT;
	/* No wake-up per record: user space polls every 100 ms, and is woken
	 * early only when a quarter of the ring is full. A wake-up per
	 * request costs the traced service a context switch each. */
	bpf_ringbuf_submit(r, bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) >= FL_RQ_RINGBUF / 4
				  ? BPF_RB_FORCE_WAKEUP
				  : BPF_RB_NO_WAKEUP);
	stat_inc(FL_RQ_ST_EMITTED);
reset:
	s->r.syn_ns = s->r.est_ns = 0;
	s->r.send_start_ns = s->r.send_end_ns = s->r.rx_first_ns = s->r.recv_end_ns = 0;
	s->r.runq_ns = s->r.close_ns = s->r.retrans_ns = s->r.drop_ns = 0;
	s->r.bytes_out = s->r.bytes_in = 0;
	s->r.retrans = s->r.drops = s->r.drop_reason = 0;
	s->r.flags = 0;
	s->runq_taken = 0;
}

/* ---- connect and close: sock:inet_sock_set_state ---- */

static __always_inline int on_state(const struct sock *sk, int newstate, __u16 proto, bool local)
{
	struct fl_rq_sock *s;
	__u64 k = (__u64)sk;

	if (proto != IPPROTO_TCP)
		return 0;
	if (newstate == FL_TCP_SYN_SENT) {
		s = state_of(sk, local);
		if (!s)
			s = state_new(sk, local);
		if (s)
			s->r.syn_ns = bpf_ktime_get_ns();
		return 0;
	}
	s = state_of(sk, local);
	if (!s)
		return 0;
	if (newstate == FL_TCP_ESTABLISHED) {
		if (s->r.syn_ns && !s->r.est_ns)
			s->r.est_ns = bpf_ktime_get_ns();
		take_tuple(s, sk);
	} else if (newstate == FL_TCP_CLOSE) {
		take_cookie(s, sk);
		s->r.close_ns = bpf_ktime_get_ns();
		if (s->has_tuple) {
			struct fl_rq_tuple t = {};
			__u16 fam;

			if (!sk_tuple(sk, &t, &fam))
				bpf_map_delete_elem(&tuples, &t);
		}
		emit(s, FL_RQ_CLOSED, local);
		if (local) {
			bpf_map_delete_elem(&parked, &k);
			bpf_sk_storage_delete(&sk_socks, (struct sock *)sk);
		} else {
			bpf_map_delete_elem(&socks, &k);
		}
	}
	return 0;
}

/* ---- send: tcp:tcp_sendmsg_locked (start), sock:sock_send_length (end) ---- */

static __always_inline void send_start(const struct sock *sk, __u64 ts, bool local)
{
	struct fl_rq_sock *s = state_of(sk, local);

	if (!s) {
		s = state_new(sk, local);
		if (!s)
			return;
	}
	take_cookie(s, sk);
	take_tuple(s, sk);
	if (s->r.recv_end_ns) /* a response was read: this send is the next request */
		emit(s, 0, local);
	if (!s->r.send_start_ns) {
		__u64 pt = bpf_get_current_pid_tgid();

		/* The tracepoint set sees a send only when it returns: its
		 * response may have come already (veth answers fast). */
		if (s->early_rx_ns >= ts)
			s->r.rx_first_ns = s->early_rx_ns;
		s->early_rx_ns = 0;
		s->r.send_start_ns = ts;
		s->r.tgid = pt >> 32;
		s->r.tid = (__u32)pt;
	}
}

static __always_inline void send_end(const struct sock *sk, int ret, bool local)
{
	struct fl_rq_sock *s = state_of(sk, local);

	if (!s || ret <= 0)
		return;
	s->r.send_end_ns = bpf_ktime_get_ns();
	s->r.bytes_out += ret;
}

/* ---- receive: sock:sk_data_ready (softirq), sock:sock_recv_length ---- */

static __always_inline int on_data_ready(const struct sock *sk, bool local)
{
	struct fl_rq_sock *s = state_of(sk, local);

	if (!s)
		return 0;
	if (s->r.recv_end_ns)
		s->early_rx_ns = bpf_ktime_get_ns();
	else if (s->r.send_start_ns && !s->r.rx_first_ns)
		s->r.rx_first_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_recv(const struct sock *sk, int ret, bool local)
{
	struct fl_rq_sock *s = state_of(sk, local);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tid_state *t;
	__u64 now;

	if (!s || ret <= 0)
		return 0;
	now = bpf_ktime_get_ns();
	s->r.recv_end_ns = now;
	s->r.bytes_in += ret;
	take_cookie(s, sk);
	if (!s->r.rx_first_ns) /* data without sk_data_ready (e.g. a backlog) */
		s->r.rx_first_ns = now;
	/* The run-queue wait that delayed this read: the reader's last wait,
	 * the part of it after the response arrived. */
	t = bpf_map_lookup_elem(&tids, &tid);
	if (t && !s->runq_taken && t->on_ns >= s->r.rx_first_ns) {
		__u64 woke = t->on_ns - t->delay_ns;

		s->r.runq_ns = t->on_ns - (woke > s->r.rx_first_ns ? woke : s->r.rx_first_ns);
		s->runq_taken = 1;
	}
	return 0;
}

/* ---- retransmits and drops ---- */

static __always_inline int on_retransmit(const struct sock *sk, bool local)
{
	struct fl_rq_sock *s = state_of(sk, local);

	if (!s)
		return 0;
	if (!s->r.retrans)
		s->r.retrans_ns = bpf_ktime_get_ns();
	s->r.retrans++;
	return 0;
}

/* ---- run queue of the traced threads ---- */

static __always_inline void rq_wake(__u32 tid)
{
	struct tid_state *t = bpf_map_lookup_elem(&tids, &tid);

	if (t)
		t->wake_ns = bpf_ktime_get_ns();
}

static __always_inline void rq_on(__u32 tid)
{
	struct tid_state *t = bpf_map_lookup_elem(&tids, &tid);
	__u64 now;

	if (!t || !t->wake_ns)
		return;
	now = bpf_ktime_get_ns();
	t->on_ns = now;
	t->delay_ns = now - t->wake_ns;
	t->wake_ns = 0;
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	if (task_state(prev) == TASK_RUNNING)
		rq_wake(BPF_CORE_READ(prev, pid));
	rq_on(BPF_CORE_READ(next, pid));
	return 0;
}

#endif
