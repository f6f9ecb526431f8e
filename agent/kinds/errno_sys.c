// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The errno kind's backends for any syscall of any process, where the
 * kernel allows them: fmod_ret (bpf/syserr.bpf.c, attached to the
 * syscall's entry function; needs CONFIG_FUNCTION_ERROR_INJECTION and
 * tracing programs) and lsm (bpf/lsmerr.bpf.c, BPF LSM hooks, for the calls
 * a hook covers). One program instance per fault, attached with a link the
 * agent holds. Both match pid, comm, cgroup and a path; what they cannot
 * match (addresses, the file behind a descriptor for fmod_ret, ...) they
 * refuse, so the order goes on to seccomp. The build machines refuse both
 * at load: they run in the kernel matrix, not in the tests here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "errno_kind.h"
#include "errno_names.h"
#include "event.h"
#include "log.h"
#include "sockerr.h"
#include "syserr.h"
#include "lsmerr.skel.h"
#include "syserr.skel.h"

#if defined(__x86_64__)
#define SYS_PREFIX "__x64_sys_"
#elif defined(__aarch64__)
#define SYS_PREFIX "__arm64_sys_"
#else
#define SYS_PREFIX "__se_sys_"
#endif

#define MAY_WRITE 2
#define MAY_READ  4

/* The calls an LSM hook covers, and whether it can match a path. */
static const struct {
	const char *call, *prog;
	uint8_t mask;
	bool path;
} lsm_calls[] = {
    {"open", "fl_file_open", 0, true},
    {"openat", "fl_file_open", 0, true},
    {"openat2", "fl_file_open", 0, true},
    {"creat", "fl_file_open", 0, true},
    {"read", "fl_file_permission", MAY_READ, false},
    {"readv", "fl_file_permission", MAY_READ, false},
    {"pread64", "fl_file_permission", MAY_READ, false},
    {"write", "fl_file_permission", MAY_WRITE, false},
    {"writev", "fl_file_permission", MAY_WRITE, false},
    {"pwrite64", "fl_file_permission", MAY_WRITE, false},
    {"mmap", "fl_mmap_file", 0, true},
    {"socket", "fl_socket_create", 0, false},
    {"connect", "fl_socket_connect", 0, false},
    {"bind", "fl_socket_bind", 0, false},
    {"execve", "fl_bprm_check", 0, true},
    {"execveat", "fl_bprm_check", 0, true},
};

struct sys_fault {
	struct sys_fault *next;
	bool lsm;
	struct syserr_bpf *fmod;
	struct lsmerr_bpf *lsmk;
	struct fl_sockerr_counters *counters; /* in the loaded program's .bss */
	struct bpf_link *link;
};

static struct kind_env cfg;
static struct sys_fault *faults;
static uint64_t lost_retired;

void sysbpf_init(const struct kind_env *env)
{
	cfg = *env;
}

static int lsm_row(const char *call)
{
	for (size_t i = 0; i < sizeof(lsm_calls) / sizeof(lsm_calls[0]); i++)
		if (!strcmp(lsm_calls[i].call, call))
			return i;
	return -1;
}

int sysbpf_check(const struct fl_fault_spec *s, bool lsm, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	int row = lsm_row(s->sys.syscall);

	if (s->kind != FL_KIND_ERRNO)
		return snprintf(err, errlen, "fails calls; it cannot hold them"), -EINVAL;
	if (t->match.family || t->match.dport_lo || t->match.proto)
		return snprintf(err, errlen,
				"matches no addresses or ports (the cgroup backend does)"),
		       -EINVAL;
	if (lsm && row < 0)
		return snprintf(err, errlen, "no LSM hook covers %s", s->sys.syscall), -EINVAL;
	if (*t->path && (lsm ? !lsm_calls[row].path : fl_syscall_path_arg(s->sys.syscall) < 0))
		return snprintf(err, errlen, "cannot match the path of %s", s->sys.syscall),
		       -EINVAL;
	if (strlen(t->path) >= FL_SYSERR_PATH)
		return snprintf(err, errlen, "matches path prefixes of up to %d bytes",
				FL_SYSERR_PATH - 1),
		       -EINVAL;
	if (!*t->cgroup && !t->pid && !*t->comm)
		return snprintf(err, errlen,
				"needs a cgroup, a pid or a comm (a fault on every process of the "
				"host is refused)"),
		       -EINVAL;
	return 0;
}

static void fill_cfg(struct fl_syserr_cfg *c, const struct fl_fault_spec *s, uint32_t fault_id,
		     int row)
{
	const struct fl_target *t = &s->target;

	errno_fill_common(&c->c, s, fault_id);
	c->has_cgroup = !!*t->cgroup;
	/* fmod_ret: the argument to read; lsm: only whether to match (0). */
	c->path_arg = !*t->path ? -1 : row >= 0 ? 0 : fl_syscall_path_arg(s->sys.syscall);
	c->lsm_mask = row >= 0 ? lsm_calls[row].mask : 0;
	c->path_len = strlen(t->path);
	memcpy(c->path, t->path, c->path_len);
}

static void fault_free(struct sys_fault *f)
{
	bpf_link__destroy(f->link);
	if (f->counters)
		lost_retired += __atomic_load_n(&f->counters->events_lost, __ATOMIC_RELAXED);
	syserr_bpf__destroy(f->fmod);
	lsmerr_bpf__destroy(f->lsmk);
	free(f);
}

/* Open, configure and load this backend's program; its program in *prog. */
static int load(struct sys_fault *f, const struct fl_fault_spec *s, uint32_t fault_id,
		const char *target, struct bpf_program **prog, struct bpf_map **cgmap)
{
	int row = f->lsm ? lsm_row(s->sys.syscall) : -1, ret;
	struct bpf_object *obj;
	struct bpf_map *events;

	if (f->lsm) {
		f->lsmk = lsmerr_bpf__open();
		if (!f->lsmk)
			return -errno;
		obj = f->lsmk->obj;
		fill_cfg((struct fl_syserr_cfg *)&f->lsmk->rodata->cfg, s, fault_id, row);
		*prog = bpf_object__find_program_by_name(obj, lsm_calls[row].prog);
		events = f->lsmk->maps.events;
		*cgmap = f->lsmk->maps.cgroup;
	} else {
		f->fmod = syserr_bpf__open();
		if (!f->fmod)
			return -errno;
		obj = f->fmod->obj;
		fill_cfg((struct fl_syserr_cfg *)&f->fmod->rodata->cfg, s, fault_id, -1);
		*prog = f->fmod->progs.fl_sys_errno;
		events = f->fmod->maps.events;
		*cgmap = f->fmod->maps.cgroup;
		ret = bpf_program__set_attach_target(*prog, 0, target);
		if (ret)
			return ret;
	}
	for (struct bpf_program *p = bpf_object__next_program(obj, NULL); p;
	     p = bpf_object__next_program(obj, p))
		bpf_program__set_autoload(p, p == *prog);
	ret = bpf_map__reuse_fd(events, cfg.ringbuf_fd);
	if (!ret)
		ret = f->lsm ? lsmerr_bpf__load(f->lsmk) : syserr_bpf__load(f->fmod);
	if (!ret)
		f->counters = f->lsm ? &f->lsmk->bss->counters : &f->fmod->bss->counters;
	return ret;
}

int sysbpf_add(const struct fl_fault_spec *s, bool lsm, uint32_t fault_id, bool dry_run,
	       void **state, char *plan, size_t planlen, char *err, size_t errlen)
{
	struct bpf_program *prog = NULL;
	struct bpf_map *cgmap = NULL;
	char target[64], dir[512];
	struct sys_fault *f;
	int ret, cgfd;
	__u32 zero = 0;

	if (lsm)
		snprintf(target, sizeof(target), "the LSM hook %s",
			 lsm_calls[lsm_row(s->sys.syscall)].prog + 3);
	else
		snprintf(target, sizeof(target), SYS_PREFIX "%s", s->sys.syscall);
	if (*s->target.cgroup) {
		ret = errno_cgroup_dir(&s->target, dir, sizeof(dir), err, errlen);
		if (ret)
			return ret;
	}
	snprintf(plan, planlen, "attach %s program to %s (a link held by the agent)",
		 lsm ? "a BPF LSM" : "an fmod_ret", target);
	if (dry_run)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->lsm = lsm;
	ret = load(f, s, fault_id, target, &prog, &cgmap);
	if (ret) {
		snprintf(err, errlen, "cannot load %s program for %s: %s (agentd -v shows why)",
			 lsm ? "a BPF LSM" : "an fmod_ret", s->sys.syscall, strerror(-ret));
		goto fail;
	}
	if (*s->target.cgroup) {
		cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ret = cgfd < 0 ? -errno
			       : bpf_map__update_elem(cgmap, &zero, sizeof(zero), &cgfd,
						      sizeof(cgfd), 0);
		if (cgfd >= 0)
			close(cgfd);
		if (ret) {
			snprintf(err, errlen, "cannot use the cgroup %s: %s", dir, strerror(-ret));
			goto fail;
		}
	}
	f->link = lsm ? bpf_program__attach_lsm(prog) : bpf_program__attach_trace(prog);
	if (!f->link) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach to %s: %s", target, strerror(-ret));
		goto fail;
	}
	f->next = faults;
	faults = f;
	fl_log("attached %s program to %s", lsm ? "a BPF LSM" : "an fmod_ret", target);
	*state = f;
	return 0;
fail:
	fault_free(f);
	return ret;
}

void sysbpf_remove(void *state)
{
	struct sys_fault *f = state, **p;

	for (p = &faults; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	fault_free(f);
}

void sysbpf_counters(const void *state, struct fl_counters *c)
{
	errno_read_counters(((const struct sys_fault *)state)->counters, c);
}

uint64_t sysbpf_events_lost(void)
{
	uint64_t n = lost_retired;

	for (struct sys_fault *f = faults; f; f = f->next)
		n += __atomic_load_n(&f->counters->events_lost, __ATOMIC_RELAXED);
	return n;
}

int sysbpf_hooks(void)
{
	int n = 0;

	for (struct sys_fault *f = faults; f; f = f->next)
		n++;
	return n;
}
