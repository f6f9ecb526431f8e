/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Inside the errno and syscall-latency kinds (kinds/errno.c): the backends
 * each kind dispatches to. cgroup: socket calls failed by cgroup v2 hooks
 * (errno_cgroup.c, bpf/sockerr.bpf.c). fmod_ret and lsm: any call (lsm:
 * those its hooks cover), where the kernel allows them (errno_sys.c).
 * seccomp: any call of a process that
 * `agentctl exec` supervises (seccomp_kind.c in agentd; the supervisor
 * itself is agent/supervise/).
 */
#ifndef FL_ERRNO_KIND_H
#define FL_ERRNO_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kind.h"

/* cgroup backend */
int sockerr_init(const struct kind_env *env);
int sockerr_check(const struct fl_fault_spec *s, char *err, size_t errlen);
int sockerr_add(const struct fl_fault_spec *s, uint32_t fault_id, bool dry_run, void **state,
		char *plan, size_t planlen, char *err, size_t errlen);
void sockerr_remove(void *state);
void sockerr_counters(const void *state, struct fl_counters *c);
uint64_t sockerr_events_lost(void);
int sockerr_hooks(void);

/* The cgroup a target names, as a folder: below the cgroup2 mount, or
 * the root when it names none; -ENOENT with err when it does not exist. */
int errno_cgroup_dir(const struct fl_target *t, char *dir, size_t len, char *err, size_t errlen);

/* What every errno program's configuration begins with, from the fault;
 * and the counters of one (bpf/sockerr.h). */
struct fl_errno_common;
struct fl_sockerr_counters;
void errno_fill_common(struct fl_errno_common *c, const struct fl_fault_spec *s, uint32_t fault_id);
void errno_read_counters(const struct fl_sockerr_counters *k, struct fl_counters *c);

/* fmod_ret and lsm backends (errno_sys.c, bpf/syserr.bpf.c, bpf/lsmerr.bpf.c) */
void sysbpf_init(const struct kind_env *env);
int sysbpf_check(const struct fl_fault_spec *s, bool lsm, char *err, size_t errlen);
int sysbpf_add(const struct fl_fault_spec *s, bool lsm, uint32_t fault_id, bool dry_run,
	       void **state, char *plan, size_t planlen, char *err, size_t errlen);
void sysbpf_remove(void *state);
void sysbpf_counters(const void *state, struct fl_counters *c);
uint64_t sysbpf_events_lost(void);
int sysbpf_hooks(void);

/* seccomp backend (agentd's side of the supervisors) */
int seccomp_check(const struct fl_fault_spec *s, char *err, size_t errlen);
int seccomp_add(const struct fl_fault_spec *s, uint32_t fault_id, bool dry_run, void **state,
		char *plan, size_t planlen, char *err, size_t errlen);
void seccomp_remove(void *state);
void seccomp_counters(const void *state, struct fl_counters *c);
void seccomp_describe(const void *state, json_t *fault);
int seccomp_hooks(void);

#endif
