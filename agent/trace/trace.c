// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Loading and attaching the trace programs on the best hook this kernel has. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace.h"
#include "trace.skel.h"
#include "trace_int.h"
#include "tracer.h"

static const char *const hook_prefix[FL_HOOK_MAX] = {
    [FL_HOOK_TP_BTF] = "tp_btf/",
    [FL_HOOK_RAW_TP] = "raw_tp/",
    [FL_HOOK_TRACEPOINT] = "tracepoint/",
};

static const char *const hook_name[FL_HOOK_MAX] = {
    [FL_HOOK_TP_BTF] = "tp_btf",
    [FL_HOOK_RAW_TP] = "raw_tp",
    [FL_HOOK_TRACEPOINT] = "tracepoint",
};

const char *fl_trace_hook_name(enum fl_trace_hook h)
{
	return h < FL_HOOK_MAX ? hook_name[h] : "?";
}

int fl_trace_hook_parse(const char *name)
{
	for (int h = 0; h < FL_HOOK_MAX; h++)
		if (!strcmp(name, hook_name[h]))
			return h;
	return -EINVAL;
}

enum fl_trace_hook fl_trace_hook(const struct fl_trace *t)
{
	return t->hook;
}

int fl_trace_check(const struct fl_trace_opts *o, char *err, size_t len)
{
	struct stat st;

	if (o->pid < 0 || (o->pid > 0 && kill(o->pid, 0) && errno == ESRCH)) {
		snprintf(err, len, "no process %d", (int)o->pid);
		return -ESRCH;
	}
	if (o->comm && (!o->comm[0] || strlen(o->comm) >= FL_TRACE_COMM)) {
		snprintf(err, len, "--comm '%s': a process name is 1 to %d bytes", o->comm,
			 FL_TRACE_COMM - 1);
		return -EINVAL;
	}
	if (o->cgroup && (stat(o->cgroup, &st) || !S_ISDIR(st.st_mode))) {
		snprintf(err, len, "--cgroup '%s': no such cgroup directory", o->cgroup);
		return -ENOENT;
	}
	return 0;
}

/* Quiet libbpf while hooks are tried: a refused hook is expected. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (getenv("FL_TRACE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void set_cfg(struct trace_bpf *s, const struct fl_trace_opts *o, enum fl_trace_hook h)
{
	struct fl_trace_cfg *c = (struct fl_trace_cfg *)&s->rodata->cfg;

	c->tgid = o->pid;
	c->port = o->port;
	c->has_cgroup = o->cgroup != NULL;
	c->classic = h == FL_HOOK_TRACEPOINT;
	if (o->comm) {
		c->has_comm = 1;
		strncpy(c->comm, o->comm, sizeof(c->comm) - 1);
	}
}

/* Open, keep only hook h's programs, load, fill the cgroup map, attach. */
static int try_hook(struct fl_trace *t, const struct fl_trace_opts *o, enum fl_trace_hook h)
{
	struct bpf_program *p;
	__u32 zero = 0;
	int err;

	t->skel = trace_bpf__open();
	if (!t->skel)
		return -errno;
	set_cfg(t->skel, o, h);
	bpf_object__for_each_program(p, t->skel->obj)
	{
		const char *sec = bpf_program__section_name(p);

		bool on = !strncmp(sec, hook_prefix[h], strlen(hook_prefix[h]));

		/* raw_syscalls puts every syscall of the machine on the
		 * tracepoint's slow path, traced or not: only when asked. */
		if (o->no_syscalls && (strstr(sec, "sys_enter") || strstr(sec, "sys_exit")))
			on = false;
		bpf_program__set_autoload(p, on);
	}
	err = trace_bpf__load(t->skel);
	if (err)
		goto fail;
	if (t->cgfd >= 0 &&
	    bpf_map_update_elem(bpf_map__fd(t->skel->maps.cgroup_map), &zero, &t->cgfd, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	err = trace_bpf__attach(t->skel);
	if (err)
		goto fail;
	t->hook = h;
	return 0;
fail:
	trace_bpf__destroy(t->skel);
	t->skel = NULL;
	return err < 0 ? err : -EINVAL;
}

int fl_trace_open(const struct fl_trace_opts *o, struct fl_trace **out, char *err, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	struct fl_trace *t;
	int ret = -ENOMEM, h;

	*out = NULL;
	ret = fl_trace_check(o, err, len);
	if (ret)
		goto out;
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		snprintf(err, len, "out of memory");
		goto out;
	}
	t->cgfd = -1;
	t->opts = *o;
	t->ncpu = libbpf_num_possible_cpus();
	if (t->ncpu <= 0) {
		ret = t->ncpu ?: -EINVAL;
		snprintf(err, len, "cannot count the CPUs: %s", strerror(-ret));
		goto fail;
	}
	if (o->cgroup) {
		t->cgfd = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (t->cgfd < 0) {
			ret = -errno;
			snprintf(err, len, "--cgroup '%s': %s", o->cgroup, strerror(-ret));
			goto fail;
		}
	}
	for (h = 0; h < FL_HOOK_MAX; h++) {
		if (o->hook != FL_HOOK_AUTO && h != o->hook)
			continue;
		ret = try_hook(t, o, h);
		if (!ret)
			break;
	}
	if (ret) {
		snprintf(err, len,
			 "cannot load the trace programs on %s: %s (run as root; "
			 "FL_TRACE_DEBUG=1 shows libbpf's log)",
			 o->hook == FL_HOOK_AUTO ? "tp_btf, raw_tp or a tracepoint"
						 : fl_trace_hook_name(o->hook),
			 strerror(-ret));
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &t->opened);
	*out = t;
	ret = 0;
	goto out;
fail:
	fl_trace_close(t);
out:
	libbpf_set_print(old);
	return ret;
}

void fl_trace_close(struct fl_trace *t)
{
	if (!t)
		return;
	trace_bpf__destroy(t->skel);
	if (t->cgfd >= 0)
		close(t->cgfd);
	free(t->prev_sys);
	free(t->prev_net);
	free(t->prev_conn.v);
	free(t->prev_rtt.v);
	trace_reasons_free(t);
	free(t);
}
