// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tcnl.h"

struct dump_ctx {
	int ifindex;
	int count;
	void (*filter_cb)(const struct tc_filter_info *f, void *arg);
	void *arg;
	char *qdisc_kind;
	int kind_len;
};

static int bpf_opts_cb(const struct nlattr *a, void *data)
{
	struct tc_filter_info *f = data;

	if (mnl_attr_get_type(a) == TCA_BPF_ID && !mnl_attr_validate(a, MNL_TYPE_U32))
		f->bpf_id = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, TCA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = {};
	const char *kind;

	if (tcm->tcm_ifindex != c->ifindex)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*tcm), attr_cb, tb);
	kind = tb[TCA_KIND] ? mnl_attr_get_str(tb[TCA_KIND]) : "";
	if (c->qdisc_kind) {
		if (tcm->tcm_parent == TC_H_INGRESS)
			snprintf(c->qdisc_kind, c->kind_len, "%s", kind);
		return MNL_CB_OK;
	}
	/* A dump lists each filter chain head once without a handle; skip it. */
	if (!tcm->tcm_handle)
		return MNL_CB_OK;
	c->count++;
	if (c->filter_cb) {
		struct tc_filter_info f = {
		    .handle = tcm->tcm_handle,
		    .prio = TC_H_MAJ(tcm->tcm_info) >> 16,
		};

		snprintf(f.kind, sizeof(f.kind), "%s", kind);
		if (tb[TCA_OPTIONS] && !strcmp(kind, "bpf"))
			mnl_attr_parse_nested(tb[TCA_OPTIONS], bpf_opts_cb, &f);
		c->filter_cb(&f, c->arg);
	}
	return MNL_CB_OK;
}

static int dump(uint16_t type, int ifindex, uint32_t parent, struct dump_ctx *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	unsigned int seq = time(NULL), portid;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, ret, seq, portid, msg_cb, c);
		if (ret <= MNL_CB_STOP) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

int tc_filters(int ifindex, uint32_t parent, void (*cb)(const struct tc_filter_info *f, void *arg),
	       void *arg)
{
	struct dump_ctx c = {.ifindex = ifindex, .filter_cb = cb, .arg = arg};
	int ret = dump(RTM_GETTFILTER, ifindex, parent, &c);

	return ret < 0 ? ret : c.count;
}

int tc_clsact_kind(int ifindex, char *kind, int len)
{
	struct dump_ctx c = {.ifindex = ifindex, .qdisc_kind = kind, .kind_len = len};

	*kind = '\0';
	return dump(RTM_GETQDISC, ifindex, 0, &c);
}
