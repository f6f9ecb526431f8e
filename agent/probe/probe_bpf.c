// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Trying BPF programs of bpf/probe.bpf.c: open, one program on, load,
 * attach, detach; the result is one fact. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "probe.skel.h"
#include "log.h"
#include "probe.h"
#include "probe_int.h"

/* ---- BPF programs: open, one program on, load, attach ---- */

/* Target of the uprobe test: a function of our own binary. */
__attribute__((noinline, used)) int fl_probe_uprobe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static int link_or_errno(struct bpf_link *link, struct attached *a)
{
	if (!link)
		return errno ? -errno : -EINVAL;
	a->link = link;
	return 0;
}

int flp_attach_auto(struct bpf_program *prog, void *arg, struct attached *a)
{
	return link_or_errno(bpf_program__attach(prog), a);
}

int flp_attach_cgroup(struct bpf_program *prog, void *arg, struct attached *a)
{
	int cgfd = *(int *)arg;

	if (cgfd < 0)
		return -ENOENT;
	return link_or_errno(bpf_program__attach_cgroup(prog, cgfd), a);
}

/* The file and offset of our own uprobe target, from /proc/self/maps: no
 * symbol table needed (agentd may be stripped), no ELF parsing. */
static int self_func_offset(const void *addr, char *path, size_t len, size_t *offset)
{
	uintptr_t want = (uintptr_t)addr;
	char line[PATH_MAX + 128];
	int err = -ENOENT;
	FILE *fp = fopen("/proc/self/maps", "re");

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long start, end, off;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &start, &end, perms, &off, &pos) <
			4 ||
		    !pos)
			continue;
		if (want < start || want >= end || perms[2] != 'x')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (line[pos] != '/' || strstr(line + pos, " (deleted)"))
			snprintf(path, len, "/proc/self/exe"); /* replaced on disk */
		else
			snprintf(path, len, "%s", line + pos);
		*offset = want - start + off;
		err = 0;
		break;
	}
	fclose(fp);
	return err;
}

int flp_attach_uprobe(struct bpf_program *prog, void *arg, struct attached *a)
{
	char path[PATH_MAX];
	size_t off = 0;
	int err;

	err = self_func_offset((const void *)fl_probe_uprobe_target, path, sizeof(path), &off);
	if (err)
		return err;
	return link_or_errno(bpf_program__attach_uprobe(prog, false, 0, path, off), a);
}

int flp_attach_kprobe(struct bpf_program *prog, void *arg, struct attached *a)
{
	return link_or_errno(bpf_program__attach_kprobe(prog, false, FLP_SYSCALL), a);
}

/* Both directions: a tcx link held by an fd, gone when it is closed. */
int flp_attach_tcx(struct bpf_program *prog, void *arg, struct attached *a)
{
	int ifindex = *(int *)arg, types[2] = {FLP_TCX_INGRESS, FLP_TCX_EGRESS};

	for (int i = 0; i < 2; i++) {
		int fd = bpf_link_create(bpf_program__fd(prog), ifindex, types[i], NULL);

		if (fd < 0)
			return fd;
		a->fds[a->nr_fds++] = fd;
	}
	return 0;
}

/* A clsact qdisc and a direct-action cls_bpf filter; they live in the
 * child's netns and die with it. */
int flp_attach_tc(struct bpf_program *prog, void *arg, struct attached *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = *(int *)arg, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int flp_attach_xdp(struct bpf_program *prog, void *arg, struct attached *a)
{
	return bpf_xdp_attach(*(int *)arg, bpf_program__fd(prog), XDP_FLAGS_SKB_MODE, NULL);
}

static void release(struct attached *a)
{
	bpf_link__destroy(a->link);
	for (int i = 0; i < a->nr_fds; i++)
		close(a->fds[i]);
}

/* The reason in a verifier log: its last line that is not a statistic
 * ("processed N insns ...", "verification time ..."). */
static const char *log_reason(char *log)
{
	char *end = log + strlen(log), *line;

	for (;;) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		if (end == log)
			return log;
		line = strrchr(log, '\n');
		line = line ? line + 1 : log;
		if (strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17) &&
		    strncmp(line, "stack depth", 11))
			return line;
		end = line;
		*end = '\0';
	}
}

void flp_try_prog(struct fl_fact_result *r, const char *name, attach_fn attach, void *arg,
		  const char *what)
{
	char log[8192] = "";
	LIBBPF_OPTS(bpf_object_open_opts, opts, .kernel_log_buf = log,
		    .kernel_log_size = sizeof(log));
	struct bpf_program *prog, *target = NULL;
	struct attached a = {0};
	uint64_t t0 = now_mono_ns(), t1 = 0, t2;
	struct probe_bpf *skel;
	int err;

	skel = probe_bpf__open_opts(&opts);
	if (!skel) {
		flp_set_no(r, "open skeleton: %s", strerror(errno));
		return;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		bool on = !strcmp(bpf_program__name(prog), name);

		bpf_program__set_autoload(prog, on);
		if (on)
			target = prog;
	}
	if (!target) {
		flp_set_no(r, "no program %s in the probe object", name);
		goto out;
	}
	err = probe_bpf__load(skel);
	t1 = now_mono_ns();
	if (err) {
		const char *line = log_reason(log);

		flp_set_no(r, "load: %s%s%s", strerror(-err), *line ? "; verifier: " : "", line);
		goto out;
	}
	err = attach(target, arg, &a);
	if (err) {
		flp_set_no(r, "attach: %s", strerror(-err));
		goto out;
	}
	flp_set_ok(r, "%s", what);
out:
	t2 = now_mono_ns();
	release(&a);
	probe_bpf__destroy(skel);
	fl_debug("probe: %s: %s in %.1f ms (load %.1f, attach %.1f, detach %.1f)", name,
		 r->ok ? "ok" : r->detail, flp_ms_since(t0), t1 ? (t1 - t0) / 1e6 : 0,
		 t1 ? (t2 - t1) / 1e6 : 0, flp_ms_since(t2));
}
