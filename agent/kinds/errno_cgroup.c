// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The errno kind's cgroup backend: one instance of sockerr.bpf.c per fault,
 * its programs for the fault's call attached by bpf links (held by the
 * agent, so they die with it) to the cgroup named, or to the root cgroup
 * when the fault names a pid or a command instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "errno_kind.h"
#include "errno_names.h"
#include "event.h"
#include "log.h"
#include "sockerr.h"
#include "sockerr.skel.h"

#define MAX_PROGS 2

struct sockerr_fault {
	struct sockerr_fault *next;
	struct sockerr_bpf *skel;
	struct bpf_link *links[MAX_PROGS];
	int nlinks;
	char cgroup[512];
};

static struct kind_env cfg;
static struct sockerr_fault *faults;
static uint64_t lost_retired;

int sockerr_init(const struct kind_env *env)
{
	cfg = *env;
	return 0;
}

/* The programs that serve a call. */
static int progs_for(struct sockerr_bpf *k, enum fl_sock_call call, struct bpf_program **p)
{
	switch (call) {
	case FL_SOCK_CONNECT:
		p[0] = k->progs.fl_connect4, p[1] = k->progs.fl_connect6;
		return 2;
	case FL_SOCK_BIND:
		p[0] = k->progs.fl_bind4, p[1] = k->progs.fl_bind6;
		return 2;
	case FL_SOCK_SENDMSG:
		p[0] = k->progs.fl_sendmsg4, p[1] = k->progs.fl_sendmsg6;
		return 2;
	case FL_SOCK_CREATE:
		p[0] = k->progs.fl_sock_create;
		return 1;
	case FL_SOCK_GETSOCKOPT:
		p[0] = k->progs.fl_getsockopt;
		return 1;
	case FL_SOCK_SETSOCKOPT:
		p[0] = k->progs.fl_setsockopt;
		return 1;
	default:
		return 0;
	}
}

static const char *hook_names(enum fl_sock_call call)
{
	switch (call) {
	case FL_SOCK_CONNECT:
		return "cgroup/connect4 and connect6";
	case FL_SOCK_BIND:
		return "cgroup/bind4 and bind6";
	case FL_SOCK_SENDMSG:
		return "cgroup/sendmsg4 and sendmsg6";
	case FL_SOCK_CREATE:
		return "cgroup/sock_create";
	case FL_SOCK_GETSOCKOPT:
		return "cgroup/getsockopt";
	default:
		return "cgroup/setsockopt";
	}
}

/* The cgroup's folder: the path as given when it is under the cgroup2
 * mount already, else below it; the root when the fault names none. */
int errno_cgroup_dir(const struct fl_target *t, char *dir, size_t len, char *err, size_t errlen)
{
	const char *root = cfg.facts->cgroup2_path;
	size_t rl = strlen(root);
	struct stat st;

	if (!*t->cgroup)
		snprintf(dir, len, "%s", root);
	else if (!strncmp(t->cgroup, root, rl) && (t->cgroup[rl] == '/' || !t->cgroup[rl]))
		snprintf(dir, len, "%s", t->cgroup);
	else
		snprintf(dir, len, "%s%s%s", root, t->cgroup[0] == '/' ? "" : "/", t->cgroup);
	if (strstr(dir, "/../") || (strlen(dir) >= 3 && !strcmp(dir + strlen(dir) - 3, "/..")))
		return snprintf(err, errlen, "fault.target.cgroup: '%s' may not hold '..'",
				t->cgroup),
		       -EINVAL;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "no cgroup '%s' (looked for %s; see ls %s)", t->cgroup, dir,
			 root);
		return -ENOENT;
	}
	return 0;
}

int sockerr_check(const struct fl_fault_spec *s, char *err, size_t errlen)
{
	const struct fl_target *t = &s->target;
	char dir[512];

	if (s->kind != FL_KIND_ERRNO) {
		snprintf(err, errlen, "the cgroup backend fails calls; it cannot hold them");
		return -EINVAL;
	}
	if (!fl_syscall_sock_call(s->sys.syscall)) {
		snprintf(err, errlen, "fails socket calls only (%s), not %s", fl_sock_call_names(),
			 s->sys.syscall);
		return -EINVAL;
	}
	if (*t->path) {
		snprintf(err, errlen, "fault.target.path: %s takes no path", s->sys.syscall);
		return -EINVAL;
	}
	if (!cfg.facts->cgroup2_path[0]) {
		snprintf(err, errlen, "no cgroup v2 mount for the cgroup backend");
		return -ENOENT;
	}
	return errno_cgroup_dir(t, dir, sizeof(dir), err, errlen);
}

void errno_fill_common(struct fl_errno_common *c, const struct fl_fault_spec *s, uint32_t fault_id)
{
	c->fault_id = fault_id;
	c->err = s->sys.err;
	c->prob = s->prob >= 1.0 ? 0xffffffffu : (uint32_t)(s->prob * 4294967296.0);
	c->pid = s->target.pid;
	c->agent_pid = getpid();
	c->sysno = s->sys.nr;
	c->has_comm = !!*s->target.comm;
	memcpy(c->comm, s->target.comm, sizeof(c->comm));
}

void errno_read_counters(const struct fl_sockerr_counters *k, struct fl_counters *c)
{
	c->matched = __atomic_load_n(&k->matched, __ATOMIC_RELAXED);
	c->injected = __atomic_load_n(&k->injected, __ATOMIC_RELAXED);
}

static void fill_cfg(struct fl_sockerr_cfg *c, const struct fl_fault_spec *s, uint32_t fault_id)
{
	const struct fl_match *m = &s->target.match;

	errno_fill_common(&c->c, s, fault_id);
	c->family = m->family;
	c->proto = m->proto;
	c->dport_lo = m->dport_lo;
	c->dport_hi = m->dport_hi;
	for (int i = 0; i < 4; i++) {
		c->dst_mask[i] = m->dst_mask[i];
		c->dst[i] = m->dst[i] & m->dst_mask[i];
	}
}

static void fault_free(struct sockerr_fault *f)
{
	for (int i = 0; i < f->nlinks; i++)
		bpf_link__destroy(f->links[i]);
	if (f->skel && f->skel->bss)
		lost_retired +=
		    __atomic_load_n(&f->skel->bss->counters.events_lost, __ATOMIC_RELAXED);
	sockerr_bpf__destroy(f->skel);
	free(f);
}

int sockerr_add(const struct fl_fault_spec *s, uint32_t fault_id, bool dry_run, void **state,
		char *plan, size_t planlen, char *err, size_t errlen)
{
	enum fl_sock_call call = fl_syscall_sock_call(s->sys.syscall);
	struct bpf_program *progs[MAX_PROGS];
	struct sockerr_fault *f = NULL;
	char dir[512];
	int n, cgfd = -1, ret;

	ret = errno_cgroup_dir(&s->target, dir, sizeof(dir), err, errlen);
	if (ret)
		return ret;
	snprintf(plan, planlen, "attach %s programs to the cgroup %s (links held by the agent)",
		 hook_names(call), dir);
	if (dry_run)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	snprintf(f->cgroup, sizeof(f->cgroup), "%s", dir);
	f->skel = sockerr_bpf__open();
	if (!f->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the socket errno program: %s", strerror(-ret));
		goto fail;
	}
	fill_cfg((struct fl_sockerr_cfg *)&f->skel->rodata->cfg, s, fault_id);
	n = progs_for(f->skel, call, progs);
	for (struct bpf_program *p = bpf_object__next_program(f->skel->obj, NULL); p;
	     p = bpf_object__next_program(f->skel->obj, p)) {
		bool used = false;

		for (int i = 0; i < n; i++)
			used |= p == progs[i];
		bpf_program__set_autoload(p, used);
	}
	ret = bpf_map__reuse_fd(f->skel->maps.events, cfg.ringbuf_fd);
	if (!ret)
		ret = sockerr_bpf__load(f->skel);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the socket errno program: %s (agentd -v shows the verifier "
			 "log)",
			 strerror(-ret));
		goto fail;
	}
	cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the cgroup %s: %s", dir, strerror(errno));
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		f->links[i] = bpf_program__attach_cgroup(progs[i], cgfd);
		if (!f->links[i]) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach %s to the cgroup %s: %s",
				 bpf_program__section_name(progs[i]), dir, strerror(errno));
			goto fail;
		}
		f->nlinks++;
	}
	close(cgfd);
	f->next = faults;
	faults = f;
	fl_log("attached %s programs to the cgroup %s", hook_names(call), dir);
	*state = f;
	return 0;
fail:
	if (cgfd >= 0)
		close(cgfd);
	fault_free(f);
	return ret;
}

void sockerr_remove(void *state)
{
	struct sockerr_fault *f = state, **p;

	for (p = &faults; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	fl_log("detached socket errno programs from the cgroup %s", f->cgroup);
	fault_free(f);
}

void sockerr_counters(const void *state, struct fl_counters *c)
{
	errno_read_counters(&((const struct sockerr_fault *)state)->skel->bss->counters, c);
}

uint64_t sockerr_events_lost(void)
{
	uint64_t n = lost_retired;

	for (struct sockerr_fault *f = faults; f; f = f->next)
		n += __atomic_load_n(&f->skel->bss->counters.events_lost, __ATOMIC_RELAXED);
	return n;
}

int sockerr_hooks(void)
{
	int n = 0;

	for (struct sockerr_fault *f = faults; f; f = f->next)
		n += f->nlinks;
	return n;
}
