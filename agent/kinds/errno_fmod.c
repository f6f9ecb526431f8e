// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The errno kind's fmod_ret backend: one instance of syserr.bpf.c per fault,
 * attached (a link held by the agent) to the syscall's entry function. For
 * kernels that allow fmod_ret on syscalls (CONFIG_FUNCTION_ERROR_INJECTION
 * and tracing programs); the build machines refuse it at load, so this is
 * exercised by the kernel matrix, not by the tests here. It matches pid,
 * comm, cgroup and an absolute path a call names; a relative path, or the
 * file behind a descriptor, is left to the seccomp backend.
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
#include "syserr.skel.h"

#if defined(__x86_64__)
#define SYS_PREFIX "__x64_sys_"
#elif defined(__aarch64__)
#define SYS_PREFIX "__arm64_sys_"
#else
#define SYS_PREFIX "__se_sys_"
#endif

struct fmod_fault {
	struct fmod_fault *next;
	struct syserr_bpf *skel;
	struct bpf_link *link;
};

static struct kind_env cfg;
static struct fmod_fault *faults;
static uint64_t lost_retired;

void fmod_init(const struct kind_env *env)
{
	cfg = *env;
}

int fmod_check(const struct fl_fault_spec *s, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;

	if (s->kind != FL_KIND_ERRNO) {
		snprintf(err, errlen, "fails calls; it cannot hold them");
		return -EINVAL;
	}
	if (t->match.family || t->match.dport_lo || t->match.proto) {
		snprintf(err, errlen, "matches no addresses or ports (the cgroup backend does)");
		return -EINVAL;
	}
	if (*t->path && fl_syscall_path_arg(s->sys.syscall) < 0) {
		snprintf(err, errlen,
			 "matches a path a call names, not the file behind a descriptor");
		return -EINVAL;
	}
	if (strlen(t->path) >= FL_SYSERR_PATH) {
		snprintf(err, errlen, "matches path prefixes of up to %d bytes",
			 FL_SYSERR_PATH - 1);
		return -EINVAL;
	}
	if (!*t->cgroup && !t->pid && !*t->comm) {
		snprintf(err, errlen,
			 "needs a cgroup, a pid or a comm (a fault on every process of the host is "
			 "refused)");
		return -EINVAL;
	}
	return 0;
}

static void fill_cfg(struct fl_syserr_cfg *c, const struct fl_fault_spec *s, uint32_t fault_id)
{
	const struct fl_target *t = &s->target;

	c->fault_id = fault_id;
	c->err = s->sys.err;
	c->prob = s->prob >= 1.0 ? 0xffffffffu : (uint32_t)(s->prob * 4294967296.0);
	c->pid = t->pid;
	c->agent_pid = getpid();
	c->sysno = s->sys.nr;
	c->has_comm = !!*t->comm;
	memcpy(c->comm, t->comm, sizeof(c->comm));
	c->has_cgroup = !!*t->cgroup;
	c->path_arg = *t->path ? fl_syscall_path_arg(s->sys.syscall) : -1;
	c->path_len = strlen(t->path);
	memcpy(c->path, t->path, c->path_len);
}

static void fault_free(struct fmod_fault *f)
{
	bpf_link__destroy(f->link);
	if (f->skel && f->skel->bss)
		lost_retired +=
		    __atomic_load_n(&f->skel->bss->counters.events_lost, __ATOMIC_RELAXED);
	syserr_bpf__destroy(f->skel);
	free(f);
}

int fmod_add(const struct fl_fault_spec *s, uint32_t fault_id, bool dry_run, void **state,
	     char *plan, size_t planlen, char *err, size_t errlen)
{
	char fn[64], dir[512];
	struct fmod_fault *f;
	int ret, cgfd = -1;
	__u32 zero = 0;

	snprintf(fn, sizeof(fn), SYS_PREFIX "%s", s->sys.syscall);
	if (*s->target.cgroup) {
		ret = errno_cgroup_dir(&s->target, dir, sizeof(dir), err, errlen);
		if (ret)
			return ret;
	}
	snprintf(plan, planlen, "attach an fmod_ret program to %s (a link held by the agent)", fn);
	if (dry_run)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->skel = syserr_bpf__open();
	if (!f->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the syscall errno program: %s", strerror(-ret));
		goto fail;
	}
	fill_cfg((struct fl_syserr_cfg *)&f->skel->rodata->cfg, s, fault_id);
	ret = bpf_program__set_attach_target(f->skel->progs.fl_sys_errno, 0, fn);
	if (!ret)
		ret = bpf_map__reuse_fd(f->skel->maps.events, cfg.ringbuf_fd);
	if (!ret)
		ret = syserr_bpf__load(f->skel);
	if (ret) {
		snprintf(
		    err, errlen,
		    "cannot load an fmod_ret program on %s: %s (it must allow error injection; "
		    "agentd -v shows the verifier log)",
		    fn, strerror(-ret));
		goto fail;
	}
	if (*s->target.cgroup) {
		cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ret = cgfd < 0 ? -errno
			       : bpf_map__update_elem(f->skel->maps.cgroup, &zero, sizeof(zero),
						      &cgfd, sizeof(cgfd), 0);
		if (cgfd >= 0)
			close(cgfd);
		if (ret) {
			snprintf(err, errlen, "cannot use the cgroup %s: %s", dir, strerror(-ret));
			goto fail;
		}
	}
	f->link = bpf_program__attach_trace(f->skel->progs.fl_sys_errno);
	if (!f->link) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach to %s: %s", fn, strerror(-ret));
		goto fail;
	}
	f->next = faults;
	faults = f;
	fl_log("attached an fmod_ret program to %s", fn);
	*state = f;
	return 0;
fail:
	fault_free(f);
	return ret;
}

void fmod_remove(void *state)
{
	struct fmod_fault *f = state, **p;

	for (p = &faults; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	fault_free(f);
}

void fmod_counters(const void *state, struct fl_counters *c)
{
	const struct fmod_fault *f = state;

	c->matched = __atomic_load_n(&f->skel->bss->counters.matched, __ATOMIC_RELAXED);
	c->injected = __atomic_load_n(&f->skel->bss->counters.injected, __ATOMIC_RELAXED);
}

uint64_t fmod_events_lost(void)
{
	uint64_t n = lost_retired;

	for (struct fmod_fault *f = faults; f; f = f->next)
		n += __atomic_load_n(&f->skel->bss->counters.events_lost, __ATOMIC_RELAXED);
	return n;
}

int fmod_hooks(void)
{
	int n = 0;

	for (struct fmod_fault *f = faults; f; f = f->next)
		n++;
	return n;
}
