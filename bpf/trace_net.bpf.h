/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The network half of trace.bpf.c (included by it, one object): counts of
 * TCP retransmits and drops by reason, and histograms of TCP connect
 * latency and RTT per port and process.
 *
 * Connect latency is the time from SYN_SENT to ESTABLISHED of one socket
 * (sock:inet_sock_set_state). The first change runs in connect(), in the
 * process that connects, so the filter and the process are taken there; the
 * second runs in softirq on the SYN-ACK, on behalf of no one in particular,
 * so it finds the socket in `socks`, keyed by its address. RTT is the
 * socket's smoothed RTT at each tcp:tcp_probe (an incoming segment, also in
 * softirq), put under the process that connected the socket when the trace
 * saw it connect, else under no process.
 */
#ifndef FL_TRACE_NET_BPF_H
#define FL_TRACE_NET_BPF_H

#define FL_TCP_ESTABLISHED 1
#define FL_TCP_SYN_SENT	   2
#define FL_TCP_CLOSE	   7

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_TRACE_REASONS);
	__type(key, struct fl_trace_net_key);
	__type(value, __u64);
} net_counts SEC(".maps");

/* A socket the trace saw connect, from SYN_SENT to its close. */
struct sock_ent {
	__u64 syn_ts; /* 0 once established */
	struct fl_trace_tcp_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TRACE_SOCKS);
	__type(key, __u64);
	__type(value, struct sock_ent);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_TRACE_TCPKEYS);
	__type(key, struct fl_trace_tcp_key);
	__type(value, struct fl_trace_hist);
} conn_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_TRACE_TCPKEYS);
	__type(key, struct fl_trace_tcp_key);
	__type(value, struct fl_trace_hist);
} rtt_hist SEC(".maps");

static struct fl_trace_hist zero_hist;

/* ---- network: retransmits and drops ---- */

static __always_inline void net_count(__u32 kind, __u32 reason, __u16 port)
{
	struct fl_trace_net_key k = {.kind = kind, .reason = reason, .port = port};
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&net_counts, &k);
	if (v)
		(*v)++;
	else
		bpf_map_update_elem(&net_counts, &k, &one, BPF_NOEXIST);
}

/* The --port that matches sport or dport (host order); 0 when no --port was
 * given; -1 when one was given and neither matches. */
static __always_inline int port_of(__u16 sport, __u16 dport)
{
	if (!cfg.port)
		return 0;
	return sport == cfg.port || dport == cfg.port ? cfg.port : -1;
}

static __always_inline int sk_port(const struct sock *sk)
{
	__u16 sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));

	return port_of(sport, dport);
}

/* The ports of a dropped packet: from its socket, or (on ingress, before any
 * socket) from its TCP or UDP header. -1 when --port was given and the
 * packet has neither port or none can be read. */
static __always_inline int skb_port(struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);
	unsigned char *head;
	__u16 nh, proto, ports[2];
	__u32 off;
	__u8 l4;

	if (!cfg.port)
		return 0;
	if (sk)
		return sk_port(sk);
	head = BPF_CORE_READ(skb, head);
	nh = BPF_CORE_READ(skb, network_header);
	proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (nh == (__u16)~0U)
		return -1;
	if (proto == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.ihl < 5)
			return -1;
		l4 = ip.protocol;
		off = nh + ip.ihl * 4;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return -1;
		l4 = ip6.nexthdr; /* extension headers: not followed */
		off = nh + sizeof(ip6);
	} else {
		return -1;
	}
	if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP)
		return -1;
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + off))
		return -1;
	return port_of(bpf_ntohs(ports[0]), bpf_ntohs(ports[1]));
}

static __always_inline int on_retransmit(const struct sock *sk)
{
	int port = sk_port(sk);

	if (port >= 0)
		net_count(FL_TRACE_RETRANS, 0, port);
	return 0;
}

static __always_inline int on_drop(struct sk_buff *skb, __u32 reason)
{
	int port = skb_port(skb);

	if (port >= 0)
		net_count(FL_TRACE_DROP, reason, port);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(fl_tr_retrans_btf, const struct sock *sk)
{
	return on_retransmit(sk);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(fl_tr_drop_btf, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, reason);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(fl_tr_retrans_raw, const struct sock *sk)
{
	return on_retransmit(sk);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(fl_tr_drop_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, reason);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int fl_tr_retrans_tp(struct fl_tp_tcp_retransmit_skb *ctx)
{
	int port = port_of(ctx->sport, ctx->dport);

	if (port >= 0)
		net_count(FL_TRACE_RETRANS, 0, port);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int fl_tr_drop_tp(struct trace_event_raw_kfree_skb *ctx)
{
	return on_drop((struct sk_buff *)ctx->skbaddr, ctx->reason);
}

/* ---- TCP connect latency and RTT ---- */

static __always_inline void tcp_hist_add(void *map, const struct fl_trace_tcp_key *k, __u64 ns)
{
	struct fl_trace_hist *h = bpf_map_lookup_elem(map, k);

	if (!h) {
		bpf_map_update_elem(map, k, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(map, k);
		if (!h)
			return; /* more keys than FL_TRACE_TCPKEYS */
	}
	hist_add(h, ns);
}

/* sk changed from oldstate to newstate; dport in host order. */
static __always_inline void on_state(const void *sk, int oldstate, int newstate, __u16 dport,
				     int kind)
{
	__u64 key = (__u64)sk;
	struct sock_ent e = {}, *p;

	if (newstate == FL_TCP_SYN_SENT) {
		/* In connect(): the current task is the one that connects. */
		if ((cfg.port && dport != cfg.port) || (filtering() && !traced_current(kind)))
			return;
		e.syn_ts = bpf_ktime_get_ns();
		e.key.port = dport;
		e.key.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e.key.comm, sizeof(e.key.comm));
		bpf_map_update_elem(&socks, &key, &e, BPF_ANY);
		return;
	}
	if (newstate == FL_TCP_CLOSE) {
		bpf_map_delete_elem(&socks, &key);
		return;
	}
	if (oldstate != FL_TCP_SYN_SENT || newstate != FL_TCP_ESTABLISHED)
		return;
	p = bpf_map_lookup_elem(&socks, &key);
	if (!p || !p->syn_ts)
		return;
	tcp_hist_add(&conn_hist, &p->key, bpf_ktime_get_ns() - p->syn_ts);
	p->syn_ts = 0;
}

/* An incoming segment on an established socket: its smoothed RTT (us). */
static __always_inline void on_probe(const void *sk, __u16 sport, __u16 dport, __u32 srtt_us)
{
	struct fl_trace_tcp_key k = {};
	__u64 key = (__u64)sk;
	struct sock_ent *p;

	if (!srtt_us)
		return; /* no sample yet */
	p = bpf_map_lookup_elem(&socks, &key);
	if (p) {
		k = p->key;
	} else {
		/* Not seen connecting: with a process filter, not ours; else
		 * under the --port, or the lower port (usually the service's). */
		if (filtering() || port_of(sport, dport) < 0)
			return;
		k.port = cfg.port ?: (sport < dport ? sport : dport);
	}
	tcp_hist_add(&rtt_hist, &k, (__u64)srtt_us * 1000);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fl_tr_state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol == IPPROTO_TCP)
		on_state(sk, oldstate, newstate, bpf_ntohs(sk->__sk_common.skc_dport), HK_BTF);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(fl_tr_state_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
		on_state(sk, oldstate, newstate,
			 bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)), HK_RAW);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int fl_tr_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol == IPPROTO_TCP)
		on_state(ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->dport, HK_TP);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(fl_tr_probe_btf, struct sock *sk, struct sk_buff *skb)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

	if (tp)
		on_probe(sk, sk->__sk_common.skc_num, bpf_ntohs(sk->__sk_common.skc_dport),
			 tp->srtt_us >> 3);
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(fl_tr_probe_raw, struct sock *sk, struct sk_buff *skb)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	on_probe(sk, BPF_CORE_READ(sk, __sk_common.skc_num),
		 bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)),
		 BPF_CORE_READ(tp, srtt_us) >> 3);
	return 0;
}

SEC("tracepoint/tcp/tcp_probe")
int fl_tr_probe_tp(struct trace_event_raw_tcp_probe *ctx)
{
	/* skaddr came after 6.1 (Debian's has none): without it a sample goes
	 * by its ports, as one of a socket not seen connecting does. */
	const void *sk = bpf_core_field_exists(ctx->skaddr) ? BPF_CORE_READ(ctx, skaddr) : NULL;

	on_probe(sk, ctx->sport, ctx->dport, ctx->srtt);
	return 0;
}

#endif
