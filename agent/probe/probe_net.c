// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The network facts, found by a forked child in a network namespace of
 * its own: tcx, tc, xdp, qdiscs, iptables NFQUEUE and xt_bpf. */
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

/* The facts the network child finds out. */
const enum fl_fact flp_net_facts[] = {
    FACT_TCX,	      FACT_TC,	      FACT_XDP,	    FACT_QDISC_FQ,
    FACT_QDISC_NETEM, FACT_QDISC_HTB, FACT_NFQUEUE, FACT_XT_BPF,
};
const size_t flp_nr_net_facts = sizeof(flp_net_facts) / sizeof(flp_net_facts[0]);

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
			flp_set_no(&res[facts[i]], "rtnetlink socket: %s", strerror(errno));
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
			flp_set_no(&res[facts[i]], "RTM_NEWQDISC %s: %s%s%s%s", kinds[i],
				   strerror(-err), *msg ? " (" : "", msg, *msg ? ")" : "");
		else
			flp_set_ok(&res[facts[i]], "root qdisc %s on lo", kinds[i]);
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
void __attribute__((noreturn)) flp_net_child(int wfd, pid_t parent)
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
		for (size_t i = 0; i < flp_nr_net_facts; i++)
			flp_set_no(&res[flp_net_facts[i]],
				   "unshare(CLONE_NEWNET) for a test namespace: %s", strerror(err));
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

	flp_try_prog(&res[FACT_TCX], "flp_tcx", flp_attach_tcx, &ifindex,
		     "tcx ingress and egress links on lo");
	flp_try_prog(&res[FACT_TC], "flp_tc", flp_attach_tc, &ifindex,
		     "cls_bpf direct-action on clsact, lo");
	flp_try_prog(&res[FACT_XDP], "flp_xdp", flp_attach_xdp, &ifindex,
		     "generic (skb) mode on lo");
	try_qdiscs(res, ifindex);

	if (!ipt) {
		flp_set_no(&res[FACT_NFQUEUE], "iptables not found (install iptables)");
		flp_set_no(&res[FACT_XT_BPF], "iptables not found (install iptables)");
		goto report;
	}
	for (int i = 0; i < 2; i++) {
		enum fl_fact fact = i ? FACT_XT_BPF : FACT_NFQUEUE;
		int rc;

		if (pids[i] < 0) {
			flp_set_no(&res[fact], "cannot run %s: %s", ipt, strerror(-pids[i]));
			continue;
		}
		rc = reap(pids[i], rfds[i], out[i], sizeof(out[i]));
		if (rc)
			flp_set_no(&res[fact], "%s %s rule refused (exit %d): %s", variant,
				   i ? "-m bpf" : "-j NFQUEUE", rc, out[i]);
		else if (i)
			flp_set_ok(&res[fact], "%s -m bpf accepted", variant);
	}
	if (res[FACT_NFQUEUE].detail[0]) /* the rule was refused */
		goto report;
	err = nfqueue_bind(FLP_QUEUE_NUM, out[0], sizeof(out[0]));
	if (err)
		flp_set_no(&res[FACT_NFQUEUE],
			   "%s rule accepted, but nfnetlink_queue bind: %s%s%s%s", variant,
			   strerror(-err), *out[0] ? " (" : "", out[0], *out[0] ? ")" : "");
	else
		flp_set_ok(&res[FACT_NFQUEUE], "%s -j NFQUEUE --queue-bypass, nfnetlink_queue bind",
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
