/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the probe: what its parts (probe.c, probe_bpf.c, probe_net.c,
 * probe_sys.c, probe_util.c) share. */
#ifndef FL_PROBE_INT_H
#define FL_PROBE_INT_H

#include <stdint.h>
#include <sys/types.h>
#include "probe.h"

/* libbpf 1.1's headers predate tcx (kernel 6.6). */
#define FLP_TCX_INGRESS 46
#define FLP_TCX_EGRESS	47

/* The syscall function kprobe, fentry and fmod_ret hook (as in
 * bpf/probe.bpf.c): a SYSCALL_DEFINEx wrapper, which vmlinux BTF has and
 * the error-injection list allows. */
#if defined(__x86_64__)
#define FLP_SYSCALL "__x64_sys_connect"
#elif defined(__aarch64__)
#define FLP_SYSCALL "__arm64_sys_connect"
#elif defined(__s390x__)
#define FLP_SYSCALL "__s390x_sys_connect"
#else
#define FLP_SYSCALL "sys_connect"
#endif

#define FLP_CGROUP_PREFIX "faultline-probe."
#define FLP_QUEUE_NUM	  65531 /* NFQUEUE number used only inside the probe's netns */
#define FLP_DEADLINE_MS	  10000 /* a hung helper is killed and its facts read "no" */

struct bpf_program;
struct bpf_link;

/* probe_util.c */
void flp_set_ok(struct fl_fact_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A "no" always carries a reason. */
void flp_set_no(struct fl_fact_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void flp_append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double flp_ms_since(uint64_t t0_mono_ns);

/* probe_bpf.c: what a test program was attached with, to undo it. */
struct attached {
	struct bpf_link *link;
	int fds[2];
	int nr_fds;
};
typedef int (*attach_fn)(struct bpf_program *prog, void *arg, struct attached *a);
int flp_attach_auto(struct bpf_program *prog, void *arg, struct attached *a);
int flp_attach_cgroup(struct bpf_program *prog, void *arg,
		      struct attached *a); /* arg: int *cgroup fd */
int flp_attach_uprobe(struct bpf_program *prog, void *arg, struct attached *a);
int flp_attach_kprobe(struct bpf_program *prog, void *arg, struct attached *a);
int flp_attach_tcx(struct bpf_program *prog, void *arg, struct attached *a); /* arg: int *ifindex */
int flp_attach_tc(struct bpf_program *prog, void *arg, struct attached *a);
int flp_attach_xdp(struct bpf_program *prog, void *arg, struct attached *a);
/* Open the probe skeleton with only program name on, load, attach, detach;
 * the outcome (and why not) goes to r. */
void flp_try_prog(struct fl_fact_result *r, const char *name, attach_fn attach, void *arg,
		  const char *what);

/* probe_net.c: the facts the network child finds out; it runs in a forked
 * child and writes them to wfd. */
extern const enum fl_fact flp_net_facts[];
extern const size_t flp_nr_net_facts;
void flp_net_child(int wfd, pid_t parent) __attribute__((noreturn));

/* probe_sys.c */
pid_t flp_seccomp_child(int *rfd);
size_t flp_read_until(int fd, void *buf, size_t len, uint64_t deadline);
void flp_reap_until(pid_t pid, uint64_t deadline);
void flp_scan_mounts(char *cg2, size_t cg2len, char *bpffs, size_t bpflen, char *tracefs,
		     size_t trlen);
void flp_remove_stale_cgroups(const char *cg2);
/* cgroup_freeze (looked for in cgpath, a cgroup of the probe's own; "" if
 * none), cgroup2_cpu and cgroup1_cpu. */
void flp_cgroup_proc_facts(struct fl_facts *f, const char *cgpath);

#endif
