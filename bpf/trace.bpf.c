// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Kernel latency tracing (agentctl trace, docs/tracing.md): log2 histograms
 * of syscall latency per syscall, of run-queue latency, of TCP connect
 * latency and RTT per port and process, and counts of TCP retransmits and of
 * drops by the kernel's drop reason, all in per-CPU maps.
 *
 * Every hook comes three times: tp_btf, raw_tp and the classic tracepoint.
 * User space keeps one set (bpf_program__set_autoload) in that order of
 * preference, the first that loads and attaches here.
 *
 * The cost is in the syscall hooks: every syscall of every process runs
 * both (raw_syscalls is one tracepoint for the whole machine). So a thread
 * not traced leaves sys_enter after a compare of its tgid or its comm, with
 * no map touched, and sys_exit after one task-storage lookup that finds
 * nothing; a traced thread keeps its entry time in its own task storage
 * (BPF_MAP_TYPE_TASK_STORAGE: no hash, no LRU), and the histograms are
 * per-CPU arrays indexed by the syscall number.
 *
 * The run queue follows libbpf-tools' runqlat. On tp_btf the wakee and the
 * next task are typed pointers, so the wait is kept in their task storage;
 * raw_tp and the classic tracepoint only have a pid (or an untyped
 * pointer), so there the wait is kept in a hash keyed by thread id, and a
 * thread that matched a filter the event cannot test (the cgroup; the tgid
 * on a classic tracepoint) is marked in `traced` at its first syscall.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "trace.h"
#include "tp_ctx.bpf.h"

#define TASK_RUNNING	0
#define TASK_REPORT_MAX 0x100 /* sched_switch's prev_state for a preempted task */
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define F_CREATE	BPF_LOCAL_STORAGE_GET_F_CREATE

/* Which set of programs a function is inlined into. */
enum { HK_BTF, HK_RAW, HK_TP };

const volatile struct fl_trace_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

/* A thread's own state, in its task storage. */
struct task_ctx {
	__u64 sys_ts; /* entry of the traced syscall it is in; 0: none */
	__u64 rq_ts;  /* tp_btf: when it became runnable; 0: not waiting */
	__u32 sys_nr;
	__u8 cg;     /* tp_btf, --cgroup: 0 not known, 1 inside, 2 outside */
	__u8 marked; /* in `traced` (raw_tp and tracepoint) */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} tasks SEC(".maps");

/* raw_tp and tracepoint only (see the top). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TRACE_TIDS);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TRACE_TIDS);
	__type(key, __u32);
	__type(value, __u64);
} rq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_TRACE_SYSCALLS);
	__type(key, __u32);
	__type(value, struct fl_trace_hist);
} sys_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_trace_hist);
} rq_hist SEC(".maps");

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
	/* 64 bits, clamped and then tested where it indexes: with a 32-bit
	 * slot the compiler tests one copy and indexes with another, zero-
	 * extended, and 6.1's verifier loses the bound between them
	 * ("unbounded memory access"; newer ones keep it). */
	__u64 slot = log2_u64(delta_ns / 1000);

	if (slot >= FL_TRACE_SLOTS)
		slot = FL_TRACE_SLOTS - 1;
	barrier_var(slot);
	if (slot >= FL_TRACE_SLOTS)
		return;
	h->slots[slot]++; /* per CPU: no other writer */
	h->count++;
	h->sum_ns += delta_ns;
}

static __always_inline bool filtering(void)
{
	return cfg.tgid || cfg.has_comm || cfg.has_cgroup;
}

/* --comm against a comm of 16 bytes, 8-byte aligned. The kernel pads a
 * task's comm with NULs (strscpy_pad in __set_task_comm), and cfg.comm is
 * padded too: two 8-byte compares. (cfg stays volatile here: without it the
 * compiler takes the rodata's initial zeros for the value.) */
static __always_inline bool comm_eq(const char *c)
{
	const volatile __u64 *want = (const volatile __u64 *)cfg.comm;

	return ((const __u64 *)c)[0] == want[0] && ((const __u64 *)c)[1] == want[1];
}

/* Is task's comm the --comm? On tp_btf the task is a typed pointer, read in
 * place; otherwise copied out first. */
static __always_inline bool comm_match(struct task_struct *task, int kind)
{
	char comm[FL_TRACE_COMM] __attribute__((aligned(8)));

	if (kind == HK_BTF)
		return comm_eq(task->comm);
	if (bpf_probe_read_kernel(comm, sizeof(comm), &task->comm))
		return false;
	return comm_eq(comm);
}

/* --cgroup for the current task. tp_btf keeps the answer in the task's
 * storage (a move between cgroups forgets it: cgroup_attach_task). */
static __always_inline bool cg_match_current(struct task_ctx *c, int kind)
{
	if (!cfg.has_cgroup)
		return true;
	if (kind != HK_BTF)
		return bpf_current_task_under_cgroup(&cgroup_map, 0) == 1;
	if (!c->cg)
		c->cg = bpf_current_task_under_cgroup(&cgroup_map, 0) == 1 ? 1 : 2;
	return c->cg == 1;
}

/* The current task, or NULL when its tgid or comm is not the one asked
 * for: the tests that need no map. */
static __always_inline struct task_struct *current_if(int kind)
{
	struct task_struct *task = bpf_get_current_task_btf();

	/* On tp_btf the tgid is read in place: no helper call (measured at 5%
	 * of a filtered-out syscall's cost with perf). */
	if (cfg.tgid && kind == HK_BTF && task->tgid != cfg.tgid)
		return NULL;
	if (cfg.tgid && kind != HK_BTF && (bpf_get_current_pid_tgid() >> 32) != cfg.tgid)
		return NULL;
	if (cfg.has_comm && !comm_match(task, kind))
		return NULL;
	return task;
}

/* The current task, when it is one we trace: its storage (created). */
static __always_inline struct task_ctx *traced_current(int kind)
{
	struct task_struct *task = current_if(kind);
	struct task_ctx *c;

	if (!task)
		return NULL;
	c = bpf_task_storage_get(&tasks, task, 0, F_CREATE);
	if (!c || !cg_match_current(c, kind))
		return NULL;
	return c;
}

/* ---- syscalls ---- */

static __always_inline int on_sys_enter(long id, int kind)
{
	struct task_ctx *c;
	__u8 one = 1;

	if (id < 0 || id >= FL_TRACE_SYSCALLS)
		return 0;
	c = traced_current(kind);
	if (!c)
		return 0;
	/* Mark the thread for the run-queue hooks that cannot test it. */
	if (kind != HK_BTF && !c->marked && (cfg.has_cgroup || (kind == HK_TP && cfg.tgid))) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		bpf_map_update_elem(&traced, &tid, &one, BPF_ANY);
		c->marked = 1;
	}
	c->sys_nr = (__u32)id;
	c->sys_ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_sys_exit(int kind)
{
	/* Most threads are not traced: they leave before any map. */
	struct task_struct *task = current_if(kind);
	struct fl_trace_hist *h;
	struct task_ctx *c;
	__u64 delta;
	__u32 nr;

	if (!task)
		return 0;
	c = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!c || !c->sys_ts)
		return 0;
	delta = bpf_ktime_get_ns() - c->sys_ts;
	nr = c->sys_nr;
	c->sys_ts = 0;
	h = bpf_map_lookup_elem(&sys_hist, &nr);
	if (h)
		hist_add(h, delta);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(fl_tr_sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(id, HK_BTF);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fl_tr_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(HK_BTF);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(fl_tr_sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_sys_enter(id, HK_RAW);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(fl_tr_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(HK_RAW);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int fl_tr_sys_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return on_sys_enter(ctx->id, HK_TP);
}

SEC("tracepoint/raw_syscalls/sys_exit")
int fl_tr_sys_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return on_sys_exit(HK_TP);
}

/* A task moved to another cgroup is asked again at its next syscall. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(fl_tr_cgmove_btf, struct cgroup *dst, const char *path, struct task_struct *task)
{
	struct task_ctx *c;

	if (!cfg.has_cgroup)
		return 0;
	c = bpf_task_storage_get(&tasks, task, 0, 0);
	if (c)
		c->cg = 0;
	return 0;
}

/* ---- run queue ---- */

static __always_inline void rq_hist_add(__u64 ts)
{
	struct fl_trace_hist *h;
	__u32 zero = 0;
	__s64 delta;

	delta = bpf_ktime_get_ns() - ts;
	h = bpf_map_lookup_elem(&rq_hist, &zero);
	if (h && delta >= 0)
		hist_add(h, delta);
}

/* tp_btf: the wait in the task's own storage. */
static __always_inline void enqueue_btf(struct task_struct *p)
{
	struct task_ctx *c;

	if (cfg.tgid && p->tgid != cfg.tgid)
		return;
	if (cfg.has_comm && !comm_match(p, HK_BTF))
		return;
	/* Look up, never create: this runs with the scheduler's run-queue
	 * lock held, and an allocation there (memory accounting, a worker to
	 * wake) is what not to do under it; with --port alone it would make
	 * storage for every task that wakes. A task gets its storage at its
	 * first syscall (process context), which is also where its cgroup is
	 * known: a thread that makes none after the trace starts is not
	 * measured. */
	c = bpf_task_storage_get(&tasks, p, 0, 0);
	if (!c || (cfg.has_cgroup && c->cg != 1) || !p->pid)
		return;
	c->rq_ts = bpf_ktime_get_ns();
}

static __always_inline void dequeue_btf(struct task_struct *p)
{
	struct task_ctx *c = bpf_task_storage_get(&tasks, p, 0, 0);
	__u64 ts;

	if (!c || !c->rq_ts)
		return;
	ts = c->rq_ts;
	c->rq_ts = 0;
	rq_hist_add(ts);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(fl_tr_wakeup_btf, struct task_struct *p)
{
	enqueue_btf(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(fl_tr_wakenew_btf, struct task_struct *p)
{
	enqueue_btf(p);
	return 0;
}

/* prev_state is an argument since 5.18: no read of the task. */
SEC("tp_btf/sched_switch")
int BPF_PROG(fl_tr_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	if (prev_state == TASK_RUNNING)
		enqueue_btf(prev);
	dequeue_btf(next);
	return 0;
}

/* raw_tp and tracepoint: by thread id. comm is the task's when the event
 * has it (NULL otherwise); tgid 0 when it has not. */
static __always_inline void enqueue_tid(__u32 tid, __u32 tgid, const char *comm)
{
	__u64 ts, *p;

	if (!tid)
		return;
	if (cfg.has_comm && comm && !comm_eq(comm))
		return;
	if (cfg.tgid && tgid && tgid != cfg.tgid)
		return;
	if ((cfg.has_cgroup || (cfg.tgid && !tgid)) && !bpf_map_lookup_elem(&traced, &tid))
		return;
	ts = bpf_ktime_get_ns();
	p = bpf_map_lookup_elem(&rq_start, &tid);
	if (p)
		*p = ts;
	else
		bpf_map_update_elem(&rq_start, &tid, &ts, BPF_ANY);
}

static __always_inline void dequeue_tid(__u32 tid)
{
	__u64 *tsp = bpf_map_lookup_elem(&rq_start, &tid), ts;

	if (!tsp || !*tsp)
		return;
	ts = *tsp;
	*tsp = 0;
	rq_hist_add(ts);
}

static __always_inline void enqueue_raw(struct task_struct *p)
{
	char comm[FL_TRACE_COMM] __attribute__((aligned(8)));

	if (bpf_probe_read_kernel(comm, sizeof(comm), &p->comm))
		return;
	enqueue_tid(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid), comm);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(fl_tr_wakeup_raw, struct task_struct *p)
{
	enqueue_raw(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(fl_tr_wakenew_raw, struct task_struct *p)
{
	enqueue_raw(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(fl_tr_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (task_state(prev) == TASK_RUNNING)
		enqueue_raw(prev);
	dequeue_tid(BPF_CORE_READ(next, pid));
	return 0;
}

/* A classic tracepoint's context is read only at fixed offsets: its comm is
 * copied out to be compared. */
static __always_inline void enqueue_tp(__u32 tid, const char *ctx_comm)
{
	char comm[FL_TRACE_COMM] __attribute__((aligned(8)));

	if (cfg.has_comm && bpf_probe_read_kernel(comm, sizeof(comm), ctx_comm))
		return;
	enqueue_tid(tid, 0, comm);
}

SEC("tracepoint/sched/sched_wakeup")
int fl_tr_wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	enqueue_tp(ctx->pid, ctx->comm);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup_new")
int fl_tr_wakenew_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	enqueue_tp(ctx->pid, ctx->comm);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int fl_tr_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	long st = ctx->prev_state;

	if (st == TASK_RUNNING || (st & TASK_REPORT_MAX))
		enqueue_tp(ctx->prev_pid, ctx->prev_comm);
	dequeue_tid(ctx->next_pid);
	return 0;
}

#include "trace_net.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
