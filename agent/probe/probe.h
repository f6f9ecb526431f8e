/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What this kernel allows, found out by trying: loading and attaching tiny
 * programs, creating qdiscs and rules in a throwaway network namespace.
 * Nothing here is assumed from the kernel version.
 */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

enum fl_fact {
	FACT_BTF,	       /* /sys/kernel/btf/vmlinux readable */
	FACT_BPFFS,	       /* bpffs mounted (agentd mounts it when missing) */
	FACT_TRACEFS,	       /* tracefs mounted */
	FACT_RINGBUF,	       /* BPF ring buffer map */
	FACT_TCX,	       /* tcx link (BPF_TCX_INGRESS/EGRESS) attaches */
	FACT_TC,	       /* classic cls_bpf direct-action filter on clsact */
	FACT_XDP,	       /* xdp program attaches (generic mode) */
	FACT_CGROUP_SKB,       /* cgroup_skb ingress/egress */
	FACT_CGROUP_SOCK_ADDR, /* cgroup/connect4 etc. */
	FACT_SET_RETVAL,       /* bpf_set_retval from a cgroup hook */
	FACT_SOCKOPS,
	FACT_TRACEPOINT, /* classic tracepoint via perf_event */
	FACT_RAW_TP,
	FACT_TP_BTF,
	FACT_UPROBE, /* uprobe/USDT */
	FACT_KPROBE,
	FACT_FENTRY,
	FACT_FMOD_RET, /* fmod_ret on a syscall (error injection) */
	FACT_LSM,
	FACT_QDISC_FQ,
	FACT_QDISC_NETEM,
	FACT_QDISC_HTB,
	FACT_NFQUEUE,	     /* iptables -j NFQUEUE + nfnetlink_queue */
	FACT_XT_BPF,	     /* iptables -m bpf */
	FACT_CGROUP2,	     /* cgroup v2 mount point */
	FACT_SECCOMP_NOTIFY, /* SECCOMP_FILTER_FLAG_NEW_LISTENER */
	FACT_CGROUP_FREEZE,  /* cgroup.freeze in cgroup v2 (kernel 5.2+) */
	FACT_CGROUP2_CPU,    /* the cpu controller on cgroup v2 (cpu.max) */
	FACT_CGROUP1_CPU,    /* a cgroup v1 hierarchy with the cpu controller; detail: its mount */
	FACT_MAX,
};

struct fl_fact_result {
	bool ok;
	char detail[160]; /* the reason for a "no", or what was found (a path, a version) */
};

struct fl_facts {
	struct fl_fact_result r[FACT_MAX];
	double elapsed_ms; /* how long probing took */
	char kernel[65];   /* uname -r */
	char cgroup2_path[256];
};

/* Fill *f by trying each facility. Returns 0, or a negative errno when the
 * probe could not run at all (not root, no bpf syscall). Forks helper
 * processes (one in a throwaway network namespace): call it before starting
 * threads. libbpf's own messages go wherever the caller's libbpf_set_print
 * sends them. */
int probe_run(struct fl_facts *f);

const char *fact_name(enum fl_fact fact); /* "tcx", "qdisc_fq", ... */

/* Backend choice per fault kind, in the order of kinds/registry.c; the
 * first one this kernel allows. Returns NULL and sets *why when none can serve. */
const char *probe_backend_for(const struct fl_facts *f, const char *kind, char *why, size_t len);
bool probe_backend_ok(const struct fl_facts *f, const char *kind, const char *backend, char *why,
		      size_t len);

/* {"kernel":..,"elapsed_ms":..,"cgroup2_path":..,"facts":{name:{ok,detail}},
 *  "backends":{kind:{backend|null,why,order:[..]}}}; "why" says why the
 * backends before the chosen one (or all, when none) cannot serve. */
json_t *probe_to_json(const struct fl_facts *f);
/* The inverse for the facts (what agentctl receives); backends are derived
 * from them again. Facts missing from the object read as "no". Returns 0 or
 * -EINVAL. */
int probe_from_json(json_t *obj, struct fl_facts *f);
/* The table `agentctl doctor` prints: every fact with its reason, then the
 * backend each fault kind will use here. */
void probe_print(const struct fl_facts *f, FILE *out);

#endif
