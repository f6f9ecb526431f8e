// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The capability probe: what this kernel allows, found by trying.
 *
 * Each BPF hook is tested by opening the probe skeleton, switching off every
 * program but one, loading and attaching it, and detaching again. Network
 * facilities (tcx, tc, xdp, qdiscs, iptables NFQUEUE and xt_bpf) are tried by
 * a forked child in a network namespace of its own, so that whatever it
 * creates dies with it, even if the agent is killed halfway. The child runs
 * while the parent tests the other hooks; everything takes well under a
 * second.
 */
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

static const char *const fact_names[FACT_MAX] = {
    [FACT_BTF] = "btf",
    [FACT_BPFFS] = "bpffs",
    [FACT_TRACEFS] = "tracefs",
    [FACT_RINGBUF] = "ringbuf",
    [FACT_TCX] = "tcx",
    [FACT_TC] = "tc",
    [FACT_XDP] = "xdp",
    [FACT_CGROUP_SKB] = "cgroup_skb",
    [FACT_CGROUP_SOCK_ADDR] = "cgroup_sock_addr",
    [FACT_SET_RETVAL] = "set_retval",
    [FACT_SOCKOPS] = "sockops",
    [FACT_TRACEPOINT] = "tracepoint",
    [FACT_RAW_TP] = "raw_tp",
    [FACT_TP_BTF] = "tp_btf",
    [FACT_UPROBE] = "uprobe",
    [FACT_KPROBE] = "kprobe",
    [FACT_FENTRY] = "fentry",
    [FACT_FMOD_RET] = "fmod_ret",
    [FACT_LSM] = "lsm",
    [FACT_QDISC_FQ] = "qdisc_fq",
    [FACT_QDISC_NETEM] = "qdisc_netem",
    [FACT_QDISC_HTB] = "qdisc_htb",
    [FACT_NFQUEUE] = "nfqueue",
    [FACT_XT_BPF] = "xt_bpf",
    [FACT_CGROUP2] = "cgroup2",
    [FACT_SECCOMP_NOTIFY] = "seccomp_notify",
    [FACT_CGROUP_FREEZE] = "cgroup_freeze",
    [FACT_CGROUP2_CPU] = "cgroup2_cpu",
    [FACT_CGROUP1_CPU] = "cgroup1_cpu",
};

const char *fact_name(enum fl_fact fact)
{
	if ((unsigned)fact >= FACT_MAX)
		return "?";
	return fact_names[fact];
}

/* ---- the whole probe ---- */

/* The uprobe's attach and detach wait for RCU grace periods (130 ms here,
 * half the probe): in a thread of its own, beside the other tests. */
static void *slow_tests(void *arg)
{
	struct fl_facts *f = arg;

	flp_try_prog(&f->r[FACT_UPROBE], "flp_uprobe", flp_attach_uprobe, NULL,
		     "uprobe on a function of our own binary");
	return NULL;
}

/* The kernel functions the BTF-attached tests hook (bpf/probe.bpf.c). */
static const struct {
	enum fl_fact fact;
	const char *func;
} btf_targets[] = {
    {FACT_FENTRY, FLP_SYSCALL},
    {FACT_FMOD_RET, FLP_SYSCALL},
    {FACT_LSM, "bpf_lsm_socket_connect"},
};

int probe_run(struct fl_facts *f)
{
	char bpffs[256] = "", tracefs[256] = "", cgpath[PATH_MAX] = "";
	struct fl_fact_result netres[FACT_MAX];
	uint64_t t0 = now_mono_ns(), deadline = t0 + FLP_DEADLINE_MS * 1000000ull;
	int pfd[2] = {-1, -1}, cgfd = -1, secfd = -1, err;
	pid_t netpid = -1, secpid;
	pthread_t slow_thread;
	bool slow;
	struct utsname u;
	struct statfs sfs;
	struct btf *btf;
	__u32 id = 0;
	size_t got = 0;

	memset(f, 0, sizeof(*f));
	memset(netres, 0, sizeof(netres));
	if (uname(&u) == 0)
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	if (geteuid() != 0)
		return -EPERM;
	/* ENOENT just means "no program loaded anywhere" */
	if (bpf_prog_get_next_id(0, &id) && errno != ENOENT)
		return -errno;

	flp_scan_mounts(f->cgroup2_path, sizeof(f->cgroup2_path), bpffs, sizeof(bpffs), tracefs,
			sizeof(tracefs));

	/* The slow part first, in parallel with the rest. */
	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == 0) {
		pid_t parent = getpid();

		netpid = fork();
		if (netpid == 0) {
			close(pfd[0]);
			flp_net_child(pfd[1], parent);
		}
		err = -errno;
		close(pfd[1]);
		if (netpid < 0)
			fl_debug("probe: fork: %s", strerror(-err));
	}
	secpid = flp_seccomp_child(&secfd);
	/* after the forks: a thread must not be running while we fork */
	slow = pthread_create(&slow_thread, NULL, slow_tests, f) == 0;
	if (!slow)
		slow_tests(f);

	if (bpffs[0])
		flp_set_ok(&f->r[FACT_BPFFS], "%s", bpffs);
	else
		flp_set_no(&f->r[FACT_BPFFS], "not mounted (mount -t bpf bpf /sys/fs/bpf)");
	if (tracefs[0])
		flp_set_ok(&f->r[FACT_TRACEFS], "%s", tracefs);
	else
		flp_set_no(&f->r[FACT_TRACEFS],
			   "not mounted (mount -t tracefs tracefs /sys/kernel/tracing)");

	btf = btf__load_vmlinux_btf();
	if (btf) {
		flp_set_ok(&f->r[FACT_BTF], "/sys/kernel/btf/vmlinux, %u types",
			   btf__type_cnt(btf));
	} else {
		flp_set_no(&f->r[FACT_BTF],
			   "cannot load vmlinux BTF: %s (kernel without CONFIG_DEBUG_INFO_BTF?)",
			   strerror(errno));
	}

	err = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "flp_ringbuf", 0, 0, getpagesize(), NULL);
	if (err >= 0) {
		close(err);
		flp_set_ok(&f->r[FACT_RINGBUF], "map created");
	} else {
		flp_set_no(&f->r[FACT_RINGBUF], "map create: %s", strerror(-err));
	}

	if (!f->cgroup2_path[0]) {
		flp_set_no(&f->r[FACT_CGROUP2], "no cgroup2 file system in /proc/self/mountinfo");
	} else if (statfs(f->cgroup2_path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		flp_set_no(&f->r[FACT_CGROUP2], "%s is not cgroup2", f->cgroup2_path);
	} else {
		flp_set_ok(&f->r[FACT_CGROUP2], "%s", f->cgroup2_path);
		/* A cgroup of our own, empty, so that the test programs touch
		 * no one's traffic; removed below. Where it cannot be made (a
		 * read-only cgroup2), the root: the programs pass everything
		 * and their links go with us. */
		flp_remove_stale_cgroups(f->cgroup2_path);
		snprintf(cgpath, sizeof(cgpath), "%s/" FLP_CGROUP_PREFIX "%d", f->cgroup2_path,
			 getpid());
		if (mkdir(cgpath, 0700) && errno != EEXIST) {
			fl_debug("probe: mkdir %s: %s; testing on the root cgroup", cgpath,
				 strerror(errno));
			cgpath[0] = '\0';
			cgfd = open(f->cgroup2_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else {
			cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (cgfd < 0)
			fl_debug("probe: open cgroup: %s", strerror(errno));
	}
	if (cgfd >= 0) {
		flp_try_prog(&f->r[FACT_CGROUP_SKB], "flp_cg_skb", flp_attach_cgroup, &cgfd,
			     "cgroup_skb/egress link");
		flp_try_prog(&f->r[FACT_CGROUP_SOCK_ADDR], "flp_connect4", flp_attach_cgroup, &cgfd,
			     "cgroup/connect4 link");
		flp_try_prog(&f->r[FACT_SET_RETVAL], "flp_set_retval", flp_attach_cgroup, &cgfd,
			     "bpf_set_retval in cgroup/connect4");
		flp_try_prog(&f->r[FACT_SOCKOPS], "flp_sockops", flp_attach_cgroup, &cgfd,
			     "sockops link");
		close(cgfd);
	} else {
		const char *why =
		    f->cgroup2_path[0] ? "cannot open a cgroup to test on" : "no cgroup v2 mount";

		flp_set_no(&f->r[FACT_CGROUP_SKB], "%s", why);
		flp_set_no(&f->r[FACT_CGROUP_SOCK_ADDR], "%s", why);
		flp_set_no(&f->r[FACT_SET_RETVAL], "%s", why);
		flp_set_no(&f->r[FACT_SOCKOPS], "%s", why);
	}
	flp_cgroup_proc_facts(f, cgpath);
	if (cgpath[0] && rmdir(cgpath))
		fl_err("probe: cannot remove test cgroup %s: %s", cgpath, strerror(errno));

	flp_try_prog(&f->r[FACT_TRACEPOINT], "flp_tp", flp_attach_auto, NULL,
		     "syscalls:sys_enter_getpid");
	flp_try_prog(&f->r[FACT_RAW_TP], "flp_raw_tp", flp_attach_auto, NULL, "raw_tp sys_enter");
	flp_try_prog(&f->r[FACT_TP_BTF], "flp_tp_btf", flp_attach_auto, NULL, "tp_btf sys_enter");
	flp_try_prog(&f->r[FACT_KPROBE], "flp_kprobe", flp_attach_kprobe, NULL,
		     "kprobe " FLP_SYSCALL);
	if (!f->r[FACT_KPROBE].ok && access("/sys/bus/event_source/devices/kprobe/type", F_OK))
		flp_append(f->r[FACT_KPROBE].detail, sizeof(f->r[FACT_KPROBE].detail),
			   " (no kprobe PMU: kernel without CONFIG_KPROBES?)");
	flp_try_prog(&f->r[FACT_FENTRY], "flp_fentry", flp_attach_auto, NULL,
		     "fentry " FLP_SYSCALL);
	flp_try_prog(&f->r[FACT_FMOD_RET], "flp_fmod_ret", flp_attach_auto, NULL,
		     "fmod_ret " FLP_SYSCALL);
	flp_try_prog(&f->r[FACT_LSM], "flp_lsm", flp_attach_auto, NULL, "lsm socket_connect");
	/* Say so when a "no" comes from a missing BTF target, not the kernel. */
	for (size_t i = 0; btf && i < sizeof(btf_targets) / sizeof(btf_targets[0]); i++) {
		struct fl_fact_result *r = &f->r[btf_targets[i].fact];
		const char *fn = btf_targets[i].func;

		if (!r->ok && btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) < 0)
			flp_append(r->detail, sizeof(r->detail), " (no %s in vmlinux BTF)", fn);
	}
	btf__free(btf);
	if (slow)
		pthread_join(slow_thread, NULL);

	if (secpid < 0) {
		flp_set_no(&f->r[FACT_SECCOMP_NOTIFY], "fork: %s", strerror(-secpid));
	} else {
		int res = -1;

		if (flp_read_until(secfd, &res, sizeof(res), deadline) != sizeof(res))
			flp_set_no(&f->r[FACT_SECCOMP_NOTIFY], "test child gave no answer");
		else if (res == 0)
			flp_set_ok(&f->r[FACT_SECCOMP_NOTIFY], "SECCOMP_FILTER_FLAG_NEW_LISTENER");
		else
			flp_set_no(&f->r[FACT_SECCOMP_NOTIFY],
				   "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %s", strerror(res));
		close(secfd);
		/* with its answer in, the child is exiting */
		flp_reap_until(secpid, res >= 0 ? deadline : 0);
	}

	if (netpid > 0) {
		got = flp_read_until(pfd[0], netres, sizeof(netres), deadline);
		/* with its report in, the child is exiting; without, it hangs */
		flp_reap_until(netpid, got == sizeof(netres) ? deadline : 0);
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	for (size_t i = 0; i < flp_nr_net_facts; i++) {
		enum fl_fact fact = flp_net_facts[i];

		if (got == sizeof(netres) && netres[fact].detail[0])
			f->r[fact] = netres[fact];
		else if (got == sizeof(netres))
			flp_set_no(&f->r[fact], "network test child did not report it");
		else if (netpid < 0)
			flp_set_no(&f->r[fact], "cannot start the network test child");
		else
			flp_set_no(&f->r[fact], "network test child gave no answer within %d ms",
				   FLP_DEADLINE_MS);
	}
	f->elapsed_ms = flp_ms_since(t0);
	fl_debug("probe: done in %.1f ms", f->elapsed_ms);
	return 0;
}
