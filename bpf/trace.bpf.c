// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Kernel latency tracing (agentctl trace, docs/tracing.md): log2 histograms
 * of syscall latency per syscall and of run-queue latency, and counts of TCP
 * retransmits and of drops by the kernel's drop reason, all in per-CPU maps.
 *
 * Every hook comes three times: tp_btf, raw_tp and the classic tracepoint.
 * User space keeps one set (bpf_program__set_autoload) in that order of
 * preference, the first that loads and attaches here.
 *
 * The filter (--pid, --comm, --cgroup) is tested in a syscall, where the
 * current task is the one that calls; a thread that matched is remembered in
 * `traced`, so that the scheduler hooks, which run on behalf of another task
 * (the waker, the previous task), can ask about it by thread id. The shape of
 * the run-queue part follows libbpf-tools' runqlat.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "trace.h"

#define TASK_RUNNING	0
#define TASK_REPORT_MAX 0x100 /* sched_switch's prev_state for a preempted task */
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD

const volatile struct fl_trace_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TRACE_TIDS);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct sys_start {
	__u64 ts;
	__u32 nr;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TRACE_TIDS);
	__type(key, __u32);
	__type(value, struct sys_start);
} sys_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_TRACE_SYSCALLS);
	__type(key, __u32);
	__type(value, struct fl_trace_hist);
} sys_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TRACE_TIDS);
	__type(key, __u32);
	__type(value, __u64);
} rq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_trace_hist);
} rq_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_TRACE_REASONS);
	__type(key, struct fl_trace_net_key);
	__type(value, __u64);
} net_counts SEC(".maps");

static struct fl_trace_hist zero_hist;

/* The task_struct::state rename (kernel 5.14), as libbpf-tools handles it. */
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

static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

static __always_inline void hist_add(struct fl_trace_hist *h, __u64 delta_ns)
{
	__u32 slot = log2_u64(delta_ns / 1000);

	if (slot >= FL_TRACE_SLOTS)
		slot = FL_TRACE_SLOTS - 1;
	h->slots[slot]++; /* per CPU: no other writer */
	h->count++;
	h->sum_ns += delta_ns;
}

static __always_inline bool filtering(void)
{
	return cfg.tgid || cfg.has_comm || cfg.has_cgroup;
}

static __always_inline bool match_current(void)
{
	if (cfg.tgid && (bpf_get_current_pid_tgid() >> 32) != cfg.tgid)
		return false;
	if (cfg.has_comm) {
		char comm[FL_TRACE_COMM] = {};

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < FL_TRACE_COMM; i++) {
			if (comm[i] != cfg.comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	if (cfg.has_cgroup && bpf_current_task_under_cgroup(&cgroup_map, 0) != 1)
		return false;
	return true;
}

/* ---- syscalls ---- */

static __always_inline int on_sys_enter(long id)
{
	struct sys_start s = {.ts = bpf_ktime_get_ns(), .nr = (__u32)id}, *p;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1;

	if (id < 0 || id >= FL_TRACE_SYSCALLS || !match_current())
		return 0;
	/* The thread's entry is written in place once it has one: a lookup
	 * costs much less than an update (or a delete) of an LRU hash. A
	 * thread's first call also marks it traced for the scheduler hooks. */
	p = bpf_map_lookup_elem(&sys_start, &tid);
	if (p) {
		*p = s;
		return 0;
	}
	if (filtering())
		bpf_map_update_elem(&traced, &tid, &one, BPF_ANY);
	bpf_map_update_elem(&sys_start, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int on_sys_exit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fl_trace_hist *h;
	struct sys_start *s;
	__u64 delta;
	__u32 nr;

	s = bpf_map_lookup_elem(&sys_start, &tid);
	if (!s || !s->ts)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	nr = s->nr;
	s->ts = 0; /* done: kept for the thread's next call */
	h = bpf_map_lookup_elem(&sys_hist, &nr);
	if (!h) {
		bpf_map_update_elem(&sys_hist, &nr, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&sys_hist, &nr);
		if (!h)
			return 0;
	}
	hist_add(h, delta);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(fl_tr_sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fl_tr_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit();
}

SEC("raw_tp/sys_enter")
int BPF_PROG(fl_tr_sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_sys_enter(id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(fl_tr_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit();
}

SEC("tracepoint/raw_syscalls/sys_enter")
int fl_tr_sys_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return on_sys_enter(ctx->id);
}

SEC("tracepoint/raw_syscalls/sys_exit")
int fl_tr_sys_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return on_sys_exit();
}

/* ---- run queue ---- */

/* Is thread tid (of process tgid, when known_tgid) one we trace? */
static __always_inline bool rq_match(__u32 tid, __u32 tgid, bool known_tgid)
{
	if (!filtering())
		return true;
	if (known_tgid && cfg.tgid && !cfg.has_comm && !cfg.has_cgroup)
		return tgid == cfg.tgid;
	return bpf_map_lookup_elem(&traced, &tid) != NULL;
}

static __always_inline void enqueue(__u32 tid, __u32 tgid, bool known_tgid)
{
	__u64 ts, *p;

	if (!tid || !rq_match(tid, tgid, known_tgid))
		return;
	ts = bpf_ktime_get_ns();
	p = bpf_map_lookup_elem(&rq_start, &tid);
	if (p)
		*p = ts;
	else
		bpf_map_update_elem(&rq_start, &tid, &ts, BPF_ANY);
}

static __always_inline void dequeue(__u32 tid)
{
	struct fl_trace_hist *h;
	__u32 zero = 0;
	__u64 *tsp;
	__s64 delta;

	tsp = bpf_map_lookup_elem(&rq_start, &tid);
	if (!tsp || !*tsp)
		return;
	delta = bpf_ktime_get_ns() - *tsp;
	*tsp = 0;
	h = bpf_map_lookup_elem(&rq_hist, &zero);
	if (h && delta >= 0)
		hist_add(h, delta);
}

static __always_inline int on_wakeup_task(struct task_struct *p)
{
	enqueue(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid), true);
	return 0;
}

static __always_inline int on_switch_task(struct task_struct *prev, struct task_struct *next)
{
	if (task_state(prev) == TASK_RUNNING)
		enqueue(BPF_CORE_READ(prev, pid), BPF_CORE_READ(prev, tgid), true);
	dequeue(BPF_CORE_READ(next, pid));
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(fl_tr_wakeup_btf, struct task_struct *p)
{
	return on_wakeup_task(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(fl_tr_wakenew_btf, struct task_struct *p)
{
	return on_wakeup_task(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(fl_tr_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch_task(prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(fl_tr_wakeup_raw, struct task_struct *p)
{
	return on_wakeup_task(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(fl_tr_wakenew_raw, struct task_struct *p)
{
	return on_wakeup_task(p);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(fl_tr_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch_task(prev, next);
}

SEC("tracepoint/sched/sched_wakeup")
int fl_tr_wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	enqueue(ctx->pid, 0, false);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup_new")
int fl_tr_wakenew_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	enqueue(ctx->pid, 0, false);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int fl_tr_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	long st = ctx->prev_state;

	if (st == TASK_RUNNING || (st & TASK_REPORT_MAX))
		enqueue(ctx->prev_pid, 0, false);
	dequeue(ctx->next_pid);
	return 0;
}

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
int fl_tr_retrans_tp(struct trace_event_raw_tcp_retransmit_skb *ctx)
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
