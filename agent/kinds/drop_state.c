// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What a crashed agent's drops leave behind, and its removal. tcx and xdp
 * links die with the agent; a classic tc filter (and a clsact qdisc the
 * agent made for it) stays. Its program stops acting once the heartbeat is
 * stale, and the next agent removes it: it finds the ones recorded in the
 * state file in their namespace by identity (device and inode, so that an
 * agent that ran inside `ip netns exec X` is followed there too), and any
 * of ours in its own namespace by a scan.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "drop_int.h" /* before the skeleton: it needs struct fl_drop_rule */
#include "drop.skel.h"
#include "jsonfield.h"
#include "log.h"
#include "netns.h"
#include "parse.h"
#include "tcnl.h"

void drop_state_save(const char *state_dir)
{
	char path[512];
	int ret;
	json_t *arr = json_array();

	for (struct drop_hook *h = drop_hooks; h; h = h->next) {
		if (h->at.backend != NET_TC)
			continue;
		json_array_append_new(
		    arr, json_pack("{s:s,s:I,s:I,s:s,s:i,s:s,s:b}", "netns", h->netns, "netns_id",
				   (json_int_t)h->netns_ino, "netns_dev", (json_int_t)h->netns_dev,
				   "dev", h->dev, "ifindex", h->at.ifindex, "direction",
				   net_dir_name(h->at.dir), "created_clsact", h->at.clsact_ours));
	}
	snprintf(path, sizeof(path), "%s/tc-hooks.json", state_dir);
	if ((ret = jf_save_atomic(path, arr)))
		fl_log("cannot write %s: %s (a crash now would leave tc filters for the heartbeat "
		       "to disarm, but not remove)",
		       path, strerror(-ret));
	json_decref(arr);
}

/* The heartbeat in the .bss of drop program prog_id; 0 when unreadable. */
static __u64 prog_heartbeat(__u32 prog_id)
{
	__u32 ids[16], key = 0;
	struct bpf_prog_info info = {.nr_map_ids = 16, .map_ids = (__u64)(unsigned long)ids};
	__u32 len = sizeof(info);
	struct drop_bpf__bss bss;
	__u64 beat = 0;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		for (__u32 i = 0; i < info.nr_map_ids && i < 16 && !beat; i++) {
			struct bpf_map_info mi = {};
			__u32 mlen = sizeof(mi);
			int mfd = bpf_map_get_fd_by_id(ids[i]);

			if (mfd < 0)
				continue;
			if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) && strstr(mi.name, ".bss") &&
			    mi.value_size == sizeof(bss) && !bpf_map_lookup_elem(mfd, &key, &bss))
				beat = bss.heartbeat_ns;
			close(mfd);
		}
	}
	close(fd);
	return beat;
}

/* A live agent (a private one beside us, with its own state folder) still
 * beats this program's heartbeat every tick; a dead one's stands still. */
static bool prog_alive(__u32 prog_id)
{
	__u64 beat = prog_heartbeat(prog_id);

	if (!beat || (int64_t)(now_mono_ns() - beat) > (int64_t)FL_HEARTBEAT_STALE_NS)
		return false;
	for (int i = 0; i < 12; i++) {
		usleep(50000);
		if (prog_heartbeat(prog_id) != beat)
			return true;
	}
	return false;
}

static void remove_ours_on(int ifindex, const char *dev)
{
	static const uint32_t parents[] = {BPF_TC_INGRESS, BPF_TC_EGRESS};

	for (int i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = parents[i]);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE_DROP,
				    .priority = FL_TC_PRIO);
		struct tc_filter_info f = {.handle = FL_TC_HANDLE_DROP, .prio = FL_TC_PRIO};
		const char *dir = parents[i] == BPF_TC_INGRESS ? "ingress" : "egress";

		if (bpf_tc_query(&hook, &opts))
			continue;
		f.bpf_id = opts.prog_id;
		snprintf(f.kind, sizeof(f.kind), "bpf");
		if (!net_tc_filter_ours(&f))
			continue;
		if (prog_alive(opts.prog_id)) {
			fl_log("left the tc filter on %s %s alone: another running agent owns it",
			       dev, dir);
			continue;
		}
		opts.prog_id = 0;
		opts.prog_fd = 0;
		opts.flags = 0;
		if (!bpf_tc_detach(&hook, &opts))
			fl_log("removed a tc filter left by an earlier agent on %s %s", dev, dir);
	}
}

/* One recorded attachment, in its namespace if that still exists. */
static void cleanup_recorded(json_t *e)
{
	const char *dev = json_string_value(json_object_get(e, "dev"));
	int ifindex = json_integer_value(json_object_get(e, "ifindex"));
	uint64_t ino = json_integer_value(json_object_get(e, "netns_id"));
	uint64_t nsdev = json_integer_value(json_object_get(e, "netns_dev"));
	int fd, saved = -1;

	if (!dev || !ino)
		return;
	fd = netns_find(nsdev, ino);
	if (fd < 0)
		return; /* the namespace is gone, and its filters with it */
	if (!netns_enter(fd, &saved)) {
		char kind[16];

		remove_ours_on(ifindex, dev);
		if (json_is_true(json_object_get(e, "created_clsact")) &&
		    !tc_clsact_kind(ifindex, kind, sizeof(kind)) && !strcmp(kind, "clsact"))
			net_clsact_remove_if_unused(ifindex, dev);
		netns_leave(saved);
	}
	close(fd);
}

int drop_state_cleanup(const struct kind_env *env)
{
	struct if_nameindex *ifs, *i;
	char path[512];
	json_t *arr, *e;
	size_t k;

	snprintf(path, sizeof(path), "%s/tc-hooks.json", env->state_dir);
	arr = json_load_file(path, 0, NULL);
	json_array_foreach(arr, k, e)
	{
		cleanup_recorded(e);
	}
	json_decref(arr);
	unlink(path);

	/* And anything of ours in the agent's own namespace, state file or not. */
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++)
		remove_ours_on(i->if_index, i->if_name);
	if (ifs)
		if_freenameindex(ifs);
	return 0;
}
