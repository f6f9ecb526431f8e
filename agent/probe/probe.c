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

/* The facts the network child finds out. */
static const enum fl_fact net_facts[] = {
    FACT_TCX,	      FACT_TC,	      FACT_XDP,	    FACT_QDISC_FQ,
    FACT_QDISC_NETEM, FACT_QDISC_HTB, FACT_NFQUEUE, FACT_XT_BPF,
};
#define NR_NET_FACTS (sizeof(net_facts) / sizeof(net_facts[0]))

const char *fact_name(enum fl_fact fact)
{
	if ((unsigned)fact >= FACT_MAX)
		return "?";
	return fact_names[fact];
}

static void vset(struct fl_fact_result *r, bool ok, const char *fmt, va_list ap)
{
	r->ok = ok;
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
}

static void __attribute__((format(printf, 2, 3)))
set_ok(struct fl_fact_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(r, true, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
set_no(struct fl_fact_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(r, false, fmt, ap);
	va_end(ap);
	if (!r->detail[0]) /* every "no" carries a reason */
		snprintf(r->detail, sizeof(r->detail), "failed");
}

static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static double ms_since(uint64_t t0)
{
	return (now_mono_ns() - t0) / 1e6;
}

/* ---- BPF programs: open, one program on, load, attach ---- */

/* Target of the uprobe test: a function of our own binary. */
__attribute__((noinline, used)) int fl_probe_uprobe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

struct attached {
	struct bpf_link *link;
	int fds[2];
	int nr_fds;
};

typedef int (*attach_fn)(struct bpf_program *prog, void *arg, struct attached *a);

static int link_or_errno(struct bpf_link *link, struct attached *a)
{
	if (!link)
		return errno ? -errno : -EINVAL;
	a->link = link;
	return 0;
}

static int attach_auto(struct bpf_program *prog, void *arg, struct attached *a)
{
	return link_or_errno(bpf_program__attach(prog), a);
}

static int attach_cgroup(struct bpf_program *prog, void *arg, struct attached *a)
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

static int attach_uprobe(struct bpf_program *prog, void *arg, struct attached *a)
{
	char path[PATH_MAX];
	size_t off = 0;
	int err;

	err = self_func_offset((const void *)fl_probe_uprobe_target, path, sizeof(path), &off);
	if (err)
		return err;
	return link_or_errno(bpf_program__attach_uprobe(prog, false, 0, path, off), a);
}

static int attach_kprobe(struct bpf_program *prog, void *arg, struct attached *a)
{
	return link_or_errno(bpf_program__attach_kprobe(prog, false, FLP_SYSCALL), a);
}

/* Both directions: a tcx link held by an fd, gone when it is closed. */
static int attach_tcx(struct bpf_program *prog, void *arg, struct attached *a)
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
static int attach_tc(struct bpf_program *prog, void *arg, struct attached *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = *(int *)arg, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

static int attach_xdp(struct bpf_program *prog, void *arg, struct attached *a)
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

static void try_prog(struct fl_fact_result *r, const char *name, attach_fn attach, void *arg,
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
		set_no(r, "open skeleton: %s", strerror(errno));
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
		set_no(r, "no program %s in the probe object", name);
		goto out;
	}
	err = probe_bpf__load(skel);
	t1 = now_mono_ns();
	if (err) {
		const char *line = log_reason(log);

		set_no(r, "load: %s%s%s", strerror(-err), *line ? "; verifier: " : "", line);
		goto out;
	}
	err = attach(target, arg, &a);
	if (err) {
		set_no(r, "attach: %s", strerror(-err));
		goto out;
	}
	set_ok(r, "%s", what);
out:
	t2 = now_mono_ns();
	release(&a);
	probe_bpf__destroy(skel);
	fl_debug("probe: %s: %s in %.1f ms (load %.1f, attach %.1f, detach %.1f)", name,
		 r->ok ? "ok" : r->detail, ms_since(t0), t1 ? (t1 - t0) / 1e6 : 0,
		 t1 ? (t2 - t1) / 1e6 : 0, ms_since(t2));
}

/* ---- helpers for the network child ---- */

/* Run argv with stdout and stderr into a pipe; *rfd reads them. */
static pid_t spawn(const char *path, char *const argv[], int *rfd)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	pid_t parent = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		sigset_t none;

		/* Dies with the child whose netns it works in. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		/* iptables gets none of the agent's fds (its lock, its socket) */
		syscall(SYS_close_range, 3, ~0U, 0);
		execve(path, argv, envp);
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* Wait for a spawned command; its exit status, and its first output line
 * in out. */
static int reap(pid_t pid, int rfd, char *out, size_t len)
{
	size_t n = 0;
	ssize_t k;
	int status = 0;

	while (n + 1 < len && (k = read(rfd, out + n, len - 1 - n)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += k;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(rfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static const char *find_iptables(char *variant, size_t len)
{
	static const char *const paths[] = {"/usr/sbin/iptables", "/sbin/iptables",
					    "/usr/bin/iptables"};
	char real[PATH_MAX];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (access(paths[i], X_OK))
			continue;
		/* iptables is a link to xtables-nft-multi or xtables-legacy-multi */
		if (!realpath(paths[i], real))
			snprintf(variant, len, "iptables");
		else if (strstr(real, "legacy"))
			snprintf(variant, len, "iptables-legacy");
		else if (strstr(real, "nft"))
			snprintf(variant, len, "iptables-nft");
		else
			snprintf(variant, len, "iptables");
		return paths[i];
	}
	return NULL;
}

/* One netlink request, one ack; the kernel's extended-ack message, if any,
 * goes to msg. */
static int nl_request(struct mnl_socket *nl, struct nlmsghdr *nlh, char *msg, size_t len)
{
	static unsigned int seq;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *h;
	int n;

	msg[0] = '\0';
	nlh->nlmsg_seq = ++seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
			struct nlmsgerr *e;
			struct nlattr *attr;

			if (h->nlmsg_seq != seq || h->nlmsg_pid != portid ||
			    h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(h);
			if (e->error && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
				/* NETLINK_CAP_ACK: the TLVs follow the bare nlmsgerr */
				mnl_attr_for_each(attr, h, sizeof(*e))
				{
					if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
						snprintf(msg, len, "%s", mnl_attr_get_str(attr));
				}
			}
			return e->error;
		}
	}
}

static struct nlmsghdr *qdisc_msg(char *buf, int ifindex, const char *kind)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = RTM_NEWQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_ROOT;
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return nlh;
}

/* A root qdisc of each kind on lo (each replaces the one before). */
static void try_qdiscs(struct fl_fact_result *res, int ifindex)
{
	static const char *const kinds[] = {"fq", "netem", "htb"};
	static const enum fl_fact facts[] = {FACT_QDISC_FQ, FACT_QDISC_NETEM, FACT_QDISC_HTB};
	char buf[MNL_SOCKET_BUFFER_SIZE], msg[120];
	struct mnl_socket *nl;
	int one = 1;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		for (int i = 0; i < 3; i++)
			set_no(&res[facts[i]], "rtnetlink socket: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return;
	}
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	for (int i = 0; i < 3; i++) {
		struct nlmsghdr *nlh = qdisc_msg(buf, ifindex, kinds[i]);
		int err;

		if (facts[i] == FACT_QDISC_NETEM) {
			struct tc_netem_qopt q = {.limit = 1000};

			mnl_attr_put(nlh, TCA_OPTIONS, sizeof(q), &q);
		} else if (facts[i] == FACT_QDISC_HTB) {
			struct tc_htb_glob g = {.version = 3, .rate2quantum = 10, .defcls = 0x10};
			struct nlattr *nest = mnl_attr_nest_start(nlh, TCA_OPTIONS);

			mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(g), &g);
			mnl_attr_nest_end(nlh, nest);
		}
		err = nl_request(nl, nlh, msg, sizeof(msg));
		if (err)
			set_no(&res[facts[i]], "RTM_NEWQDISC %s: %s%s%s%s", kinds[i],
			       strerror(-err), *msg ? " (" : "", msg, *msg ? ")" : "");
		else
			set_ok(&res[facts[i]], "root qdisc %s on lo", kinds[i]);
	}
	mnl_socket_close(nl);
}

/* Bind a netfilter queue the way the nfqueue backend will. */
static int nfqueue_bind(uint16_t num, char *msg, size_t len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET)};
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	int one = 1, err;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(num);
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	err = nl_request(nl, nlh, msg, len);
out:
	mnl_socket_close(nl);
	return err;
}

static int lo_up(void)
{
	struct ifreq ifr = {.ifr_name = "lo"};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
out:
	close(fd);
	return err;
}

/* In the forked child: a fresh netns, try everything there, report res[]
 * on wfd. Never returns. */
static void __attribute__((noreturn)) net_child(int wfd, pid_t parent)
{
	static struct fl_fact_result res[FACT_MAX];
	char variant[32] = "iptables", out[2][200], qnum[8];
	const char *ipt;
	pid_t pids[2] = {-1, -1};
	int rfds[2] = {-1, -1}, ifindex = 1, err;
	size_t off = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (unshare(CLONE_NEWNET)) {
		err = errno;
		for (size_t i = 0; i < NR_NET_FACTS; i++)
			set_no(&res[net_facts[i]], "unshare(CLONE_NEWNET) for a test namespace: %s",
			       strerror(err));
		goto report;
	}
	err = lo_up();
	if (err)
		fl_debug("probe: cannot set lo up in the test netns: %s", strerror(-err));
	ifindex = if_nametoindex("lo") ?: 1;

	/* iptables takes the longest: start it first, look at it last. */
	ipt = find_iptables(variant, sizeof(variant));
	snprintf(qnum, sizeof(qnum), "%d", FLP_QUEUE_NUM);
	if (ipt) {
		/* clang-format off */
		char *nfq[] = {"iptables", "-w", "1", "-A", "OUTPUT", "-o", "lo",
			       "-p", "udp", "--dport", "9",
			       "-j", "NFQUEUE", "--queue-num", qnum, "--queue-bypass", NULL};
		/* classic BPF "ret #0": matches nothing */
		char *xtb[] = {"iptables", "-w", "1", "-A", "OUTPUT", "-o", "lo",
			       "-m", "bpf", "--bytecode", "1,6 0 0 0", "-j", "ACCEPT", NULL};
		/* clang-format on */

		pids[0] = spawn(ipt, nfq, &rfds[0]);
		pids[1] = spawn(ipt, xtb, &rfds[1]);
	}

	try_prog(&res[FACT_TCX], "flp_tcx", attach_tcx, &ifindex,
		 "tcx ingress and egress links on lo");
	try_prog(&res[FACT_TC], "flp_tc", attach_tc, &ifindex,
		 "cls_bpf direct-action on clsact, lo");
	try_prog(&res[FACT_XDP], "flp_xdp", attach_xdp, &ifindex, "generic (skb) mode on lo");
	try_qdiscs(res, ifindex);

	if (!ipt) {
		set_no(&res[FACT_NFQUEUE], "iptables not found (install iptables)");
		set_no(&res[FACT_XT_BPF], "iptables not found (install iptables)");
		goto report;
	}
	for (int i = 0; i < 2; i++) {
		enum fl_fact fact = i ? FACT_XT_BPF : FACT_NFQUEUE;
		int rc;

		if (pids[i] < 0) {
			set_no(&res[fact], "cannot run %s: %s", ipt, strerror(-pids[i]));
			continue;
		}
		rc = reap(pids[i], rfds[i], out[i], sizeof(out[i]));
		if (rc)
			set_no(&res[fact], "%s %s rule refused (exit %d): %s", variant,
			       i ? "-m bpf" : "-j NFQUEUE", rc, out[i]);
		else if (i)
			set_ok(&res[fact], "%s -m bpf accepted", variant);
	}
	if (res[FACT_NFQUEUE].detail[0]) /* the rule was refused */
		goto report;
	err = nfqueue_bind(FLP_QUEUE_NUM, out[0], sizeof(out[0]));
	if (err)
		set_no(&res[FACT_NFQUEUE], "%s rule accepted, but nfnetlink_queue bind: %s%s%s%s",
		       variant, strerror(-err), *out[0] ? " (" : "", out[0], *out[0] ? ")" : "");
	else
		set_ok(&res[FACT_NFQUEUE], "%s -j NFQUEUE --queue-bypass, nfnetlink_queue bind",
		       variant);
report:
	while (off < sizeof(res)) {
		ssize_t k = write(wfd, (char *)res + off, sizeof(res) - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		off += k;
	}
	_exit(0);
}

/* ---- seccomp user notification, in a forked child ---- */

/* The child installs an allow-all filter with a listener (the filter binds
 * it alone) and writes the errno, 0 for success, on *rfd's pipe. The answer
 * comes over a pipe, not the exit status, in case the caller reaps children
 * or ignores SIGCHLD. */
static pid_t seccomp_child(int *rfd)
{
	struct sock_filter insns[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = insns};
	pid_t parent = getpid(), pid;
	int p[2], res = 0;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid) {
		int err = errno;

		close(p[1]);
		if (pid < 0) {
			close(p[0]);
			return -err;
		}
		*rfd = p[0];
		return pid;
	}
	close(p[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		res = errno;
	else if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			 &prog) < 0)
		res = errno ?: EINVAL;
	if (write(p[1], &res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

/* Read exactly len bytes from fd until EOF or deadline; returns the count. */
static size_t read_until(int fd, void *buf, size_t len, uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = ((int64_t)deadline - (int64_t)now_mono_ns()) / 1000000;
		ssize_t k;

		/* past the deadline, still take what is already there */
		k = poll(&p, 1, left > 0 ? (int)left : 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		k = read(fd, (char *)buf + got, len - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	return got;
}

/* Reap pid, killing it if it is still there at deadline (CLOCK_MONOTONIC
 * ns). Its answer came over a pipe already; this only leaves no zombie. */
static void reap_until(pid_t pid, uint64_t deadline)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return; /* reaped, or reaped by someone else */
		if (now_mono_ns() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		usleep(200);
	}
}

/* ---- mounts ---- */

static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The first mount point of each file system type we care about. */
static void scan_mounts(char *cg2, size_t cg2len, char *bpffs, size_t bpflen, char *tracefs,
			size_t trlen)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *sep = strstr(line, " - "), *save, *mnt, *type, *p;
		int i;

		if (!sep)
			continue;
		type = strtok_r(sep + 3, " ", &save);
		if (!type)
			continue;
		/* id parent major:minor root mountpoint ... */
		for (i = 0, p = strtok_r(line, " ", &save), mnt = NULL; p && i < 4; i++)
			p = mnt = strtok_r(NULL, " ", &save);
		if (!mnt || i < 4)
			continue;
		unescape(mnt);
		if (!strcmp(type, "cgroup2") && !cg2[0])
			snprintf(cg2, cg2len, "%s", mnt);
		else if (!strcmp(type, "bpf") && !bpffs[0])
			snprintf(bpffs, bpflen, "%s", mnt);
		else if (!strcmp(type, "tracefs") && !tracefs[0])
			snprintf(tracefs, trlen, "%s", mnt);
	}
	fclose(fp);
}

/* The mount point of a cgroup v1 hierarchy that holds the cpu controller. */
static void cgroup1_cpu_mount(char *dst, size_t len)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	while (fp && fgets(line, sizeof(line), fp)) {
		char *sep = strstr(line, " - "), *save, *p, *mnt = NULL, *opts, *o;
		int i;

		if (!sep)
			continue;
		*sep = '\0';
		if (!(p = strtok_r(sep + 3, " ", &save)) || strcmp(p, "cgroup") ||
		    !strtok_r(NULL, " ", &save) || !(opts = strtok_r(NULL, " \n", &save)))
			continue;
		for (i = 0, p = strtok_r(line, " ", &save); p && i < 4; i++)
			p = mnt = strtok_r(NULL, " ", &save);
		for (o = strtok_r(opts, ",", &save); mnt && o; o = strtok_r(NULL, ",", &save))
			if (!strcmp(o, "cpu")) {
				unescape(mnt);
				snprintf(dst, len, "%s", mnt);
				fclose(fp);
				return;
			}
	}
	if (fp)
		fclose(fp);
}

/* The facts of the process faults: freezing, and where the cpu controller is. */
static void cgroup_proc_facts(struct fl_facts *f, const char *cgpath)
{
	char path[PATH_MAX], line[512] = "", mnt[256] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cgroup.freeze", cgpath);
	if (!f->r[FACT_CGROUP2].ok)
		set_no(&f->r[FACT_CGROUP_FREEZE], "no cgroup v2 mount");
	else if (!*cgpath)
		set_no(&f->r[FACT_CGROUP_FREEZE], "cannot make a cgroup to look for cgroup.freeze");
	else if (access(path, W_OK))
		set_no(&f->r[FACT_CGROUP_FREEZE], "no cgroup.freeze (kernel before 5.2?)");
	else
		set_ok(&f->r[FACT_CGROUP_FREEZE], "cgroup.freeze");

	snprintf(path, sizeof(path), "%s/cgroup.controllers", f->cgroup2_path);
	fp = f->r[FACT_CGROUP2].ok ? fopen(path, "re") : NULL;
	if (fp && !fgets(line, sizeof(line), fp))
		line[0] = '\0';
	if (fp)
		fclose(fp);
	snprintf(path, sizeof(path), " %s", line);
	path[strcspn(path, "\n")] = ' ';
	if (!f->r[FACT_CGROUP2].ok)
		set_no(&f->r[FACT_CGROUP2_CPU], "no cgroup v2 mount");
	else if (!strstr(path, " cpu "))
		set_no(&f->r[FACT_CGROUP2_CPU],
		       "the cpu controller is not in %s/cgroup.controllers (bound to cgroup v1?)",
		       f->cgroup2_path);
	else
		set_ok(&f->r[FACT_CGROUP2_CPU], "cpu.max");

	cgroup1_cpu_mount(mnt, sizeof(mnt));
	if (!*mnt)
		set_no(&f->r[FACT_CGROUP1_CPU], "no cgroup v1 hierarchy with the cpu controller");
	else
		set_ok(&f->r[FACT_CGROUP1_CPU], "%s", mnt);
}

/* Leftovers of a probe that was killed between mkdir and rmdir. */
static void remove_stale_cgroups(const char *cg2)
{
	DIR *d = opendir(cg2);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		long pid;

		if (strncmp(e->d_name, FLP_CGROUP_PREFIX, strlen(FLP_CGROUP_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(FLP_CGROUP_PREFIX), NULL, 10);
		if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
			continue; /* its probe is still running */
		snprintf(path, sizeof(path), "%s/%s", cg2, e->d_name);
		if (rmdir(path) == 0)
			fl_debug("probe: removed stale %s", path);
	}
	closedir(d);
}

/* ---- the whole probe ---- */

/* The uprobe's attach and detach wait for RCU grace periods (130 ms here,
 * half the probe): in a thread of its own, beside the other tests. */
static void *slow_tests(void *arg)
{
	struct fl_facts *f = arg;

	try_prog(&f->r[FACT_UPROBE], "flp_uprobe", attach_uprobe, NULL,
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

	scan_mounts(f->cgroup2_path, sizeof(f->cgroup2_path), bpffs, sizeof(bpffs), tracefs,
		    sizeof(tracefs));

	/* The slow part first, in parallel with the rest. */
	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == 0) {
		pid_t parent = getpid();

		netpid = fork();
		if (netpid == 0) {
			close(pfd[0]);
			net_child(pfd[1], parent);
		}
		err = -errno;
		close(pfd[1]);
		if (netpid < 0)
			fl_debug("probe: fork: %s", strerror(-err));
	}
	secpid = seccomp_child(&secfd);
	/* after the forks: a thread must not be running while we fork */
	slow = pthread_create(&slow_thread, NULL, slow_tests, f) == 0;
	if (!slow)
		slow_tests(f);

	if (bpffs[0])
		set_ok(&f->r[FACT_BPFFS], "%s", bpffs);
	else
		set_no(&f->r[FACT_BPFFS], "not mounted (mount -t bpf bpf /sys/fs/bpf)");
	if (tracefs[0])
		set_ok(&f->r[FACT_TRACEFS], "%s", tracefs);
	else
		set_no(&f->r[FACT_TRACEFS],
		       "not mounted (mount -t tracefs tracefs /sys/kernel/tracing)");

	btf = btf__load_vmlinux_btf();
	if (btf) {
		set_ok(&f->r[FACT_BTF], "/sys/kernel/btf/vmlinux, %u types", btf__type_cnt(btf));
	} else {
		set_no(&f->r[FACT_BTF],
		       "cannot load vmlinux BTF: %s (kernel without CONFIG_DEBUG_INFO_BTF?)",
		       strerror(errno));
	}

	err = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "flp_ringbuf", 0, 0, getpagesize(), NULL);
	if (err >= 0) {
		close(err);
		set_ok(&f->r[FACT_RINGBUF], "map created");
	} else {
		set_no(&f->r[FACT_RINGBUF], "map create: %s", strerror(-err));
	}

	if (!f->cgroup2_path[0]) {
		set_no(&f->r[FACT_CGROUP2], "no cgroup2 file system in /proc/self/mountinfo");
	} else if (statfs(f->cgroup2_path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		set_no(&f->r[FACT_CGROUP2], "%s is not cgroup2", f->cgroup2_path);
	} else {
		set_ok(&f->r[FACT_CGROUP2], "%s", f->cgroup2_path);
		/* A cgroup of our own, empty, so that the test programs touch
		 * no one's traffic; removed below. Where it cannot be made (a
		 * read-only cgroup2), the root: the programs pass everything
		 * and their links go with us. */
		remove_stale_cgroups(f->cgroup2_path);
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
		try_prog(&f->r[FACT_CGROUP_SKB], "flp_cg_skb", attach_cgroup, &cgfd,
			 "cgroup_skb/egress link");
		try_prog(&f->r[FACT_CGROUP_SOCK_ADDR], "flp_connect4", attach_cgroup, &cgfd,
			 "cgroup/connect4 link");
		try_prog(&f->r[FACT_SET_RETVAL], "flp_set_retval", attach_cgroup, &cgfd,
			 "bpf_set_retval in cgroup/connect4");
		try_prog(&f->r[FACT_SOCKOPS], "flp_sockops", attach_cgroup, &cgfd, "sockops link");
		close(cgfd);
	} else {
		const char *why =
		    f->cgroup2_path[0] ? "cannot open a cgroup to test on" : "no cgroup v2 mount";

		set_no(&f->r[FACT_CGROUP_SKB], "%s", why);
		set_no(&f->r[FACT_CGROUP_SOCK_ADDR], "%s", why);
		set_no(&f->r[FACT_SET_RETVAL], "%s", why);
		set_no(&f->r[FACT_SOCKOPS], "%s", why);
	}
	cgroup_proc_facts(f, cgpath);
	if (cgpath[0] && rmdir(cgpath))
		fl_err("probe: cannot remove test cgroup %s: %s", cgpath, strerror(errno));

	try_prog(&f->r[FACT_TRACEPOINT], "flp_tp", attach_auto, NULL, "syscalls:sys_enter_getpid");
	try_prog(&f->r[FACT_RAW_TP], "flp_raw_tp", attach_auto, NULL, "raw_tp sys_enter");
	try_prog(&f->r[FACT_TP_BTF], "flp_tp_btf", attach_auto, NULL, "tp_btf sys_enter");
	try_prog(&f->r[FACT_KPROBE], "flp_kprobe", attach_kprobe, NULL, "kprobe " FLP_SYSCALL);
	if (!f->r[FACT_KPROBE].ok && access("/sys/bus/event_source/devices/kprobe/type", F_OK))
		append(f->r[FACT_KPROBE].detail, sizeof(f->r[FACT_KPROBE].detail),
		       " (no kprobe PMU: kernel without CONFIG_KPROBES?)");
	try_prog(&f->r[FACT_FENTRY], "flp_fentry", attach_auto, NULL, "fentry " FLP_SYSCALL);
	try_prog(&f->r[FACT_FMOD_RET], "flp_fmod_ret", attach_auto, NULL, "fmod_ret " FLP_SYSCALL);
	try_prog(&f->r[FACT_LSM], "flp_lsm", attach_auto, NULL, "lsm socket_connect");
	/* Say so when a "no" comes from a missing BTF target, not the kernel. */
	for (size_t i = 0; btf && i < sizeof(btf_targets) / sizeof(btf_targets[0]); i++) {
		struct fl_fact_result *r = &f->r[btf_targets[i].fact];
		const char *fn = btf_targets[i].func;

		if (!r->ok && btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) < 0)
			append(r->detail, sizeof(r->detail), " (no %s in vmlinux BTF)", fn);
	}
	btf__free(btf);
	if (slow)
		pthread_join(slow_thread, NULL);

	if (secpid < 0) {
		set_no(&f->r[FACT_SECCOMP_NOTIFY], "fork: %s", strerror(-secpid));
	} else {
		int res = -1;

		if (read_until(secfd, &res, sizeof(res), deadline) != sizeof(res))
			set_no(&f->r[FACT_SECCOMP_NOTIFY], "test child gave no answer");
		else if (res == 0)
			set_ok(&f->r[FACT_SECCOMP_NOTIFY], "SECCOMP_FILTER_FLAG_NEW_LISTENER");
		else
			set_no(&f->r[FACT_SECCOMP_NOTIFY],
			       "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %s", strerror(res));
		close(secfd);
		/* with its answer in, the child is exiting */
		reap_until(secpid, res >= 0 ? deadline : 0);
	}

	if (netpid > 0) {
		got = read_until(pfd[0], netres, sizeof(netres), deadline);
		/* with its report in, the child is exiting; without, it hangs */
		reap_until(netpid, got == sizeof(netres) ? deadline : 0);
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	for (size_t i = 0; i < NR_NET_FACTS; i++) {
		enum fl_fact fact = net_facts[i];

		if (got == sizeof(netres) && netres[fact].detail[0])
			f->r[fact] = netres[fact];
		else if (got == sizeof(netres))
			set_no(&f->r[fact], "network test child did not report it");
		else if (netpid < 0)
			set_no(&f->r[fact], "cannot start the network test child");
		else
			set_no(&f->r[fact], "network test child gave no answer within %d ms",
			       FLP_DEADLINE_MS);
	}
	f->elapsed_ms = ms_since(t0);
	fl_debug("probe: done in %.1f ms", f->elapsed_ms);
	return 0;
}
