/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the drop kind: a hook is one instance of drop.bpf.c on one
 * (network namespace, device, direction, backend); faults are rule slots in
 * it. Shared by kinds/drop.c and kinds/drop_state.c only. */
#ifndef FL_DROP_INT_H
#define FL_DROP_INT_H

#include <net/if.h>
#include <stdint.h>
#include "attach.h"
#include "drop.h"
#include "kind.h"
#include "proto.h"

struct drop_bpf;

struct drop_hook {
	struct drop_hook *next;
	char netns[FL_NETNS_LEN];      /* as the fault named it */
	uint64_t netns_dev, netns_ino; /* its identity, found again after a crash */
	int netns_fd;
	char dev[IF_NAMESIZE];
	struct net_attach at;
	struct drop_bpf *skel;
	uint32_t used;	 /* bitmap of rule slots */
	char chain[160]; /* the last description of its place in the chain */
};

/* Every hook the drop kind holds. */
extern struct drop_hook *drop_hooks;

/* Record the classic tc hooks in state_dir/tc-hooks.json: they outlive the
 * agent, and the next one removes them (drop_state.c). */
void drop_state_save(const char *state_dir);
int drop_state_cleanup(const struct kind_env *env);

#endif
