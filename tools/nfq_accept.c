// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * nfq_accept: the floor of a user-space packet path, for
 * tools/bench_latency.sh. It binds one NFQUEUE queue, copies 128 bytes of
 * each packet (as the agent does), and accepts every packet at once, one
 * verdict per packet, from a blocking recv: no timer, no flow table, no
 * events. What the agent's 0 ms fault costs beyond this is the agent's;
 * what this costs is the kernel's queue round trip.
 *
 *   nfq_accept QUEUE_NUM READY_FILE
 *
 * READY_FILE is created once the queue is bound; SIGTERM or SIGINT ends it
 * (the iptables rule, the caller's, has --queue-bypass).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static volatile sig_atomic_t stop;
static uint16_t queue_num;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int send_cfg(struct mnl_socket *nl, int what)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);

	if (what < 0) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 128);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
	} else {
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, what);
	}
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct mnl_socket *nl = data;
	struct nlattr *attr[NFQA_MAX + 1] = {};
	struct nfqnl_msg_packet_hdr *ph;
	char buf[256];
	struct nlmsghdr *v;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	v = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(v, ntohl(ph->packet_id), NF_ACCEPT);
	mnl_socket_sendto(nl, v, v->nlmsg_len);
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	static char buf[0x10000];
	struct sigaction sa = {.sa_handler = on_signal};
	struct mnl_socket *nl;
	unsigned long qnum;
	char *end;
	FILE *ready;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: nfq_accept QUEUE_NUM READY_FILE\n");
		return 2;
	}
	errno = 0;
	qnum = strtoul(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || qnum > 65535) {
		fprintf(stderr, "nfq_accept: '%s' is not a queue number 0-65535\n", argv[1]);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: recv returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_accept: netlink");
		goto out;
	}
	queue_num = (uint16_t)qnum;
	if (send_cfg(nl, NFQNL_CFG_CMD_BIND) || send_cfg(nl, -1)) {
		perror("nfq_accept: bind the queue");
		goto out;
	}
	ready = fopen(argv[2], "w");
	if (!ready) {
		perror(argv[2]);
		goto out;
	}
	fclose(ready);
	while (!stop) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("nfq_accept: recv");
			goto out;
		}
		mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(nl), on_packet, nl);
	}
	ret = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}
