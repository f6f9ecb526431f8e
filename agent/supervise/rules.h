/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The faults a seccomp supervisor (agentctl exec) holds, as agentd pushed
 * them, and the match of one trapped call against them: syscall, pid, comm,
 * and a path read from the target's memory or its file descriptor table.
 * Reading the target's memory races with the target's other threads: fine
 * for testing, never a security boundary (docs/backends.md).
 */
#ifndef FL_SUP_RULES_H
#define FL_SUP_RULES_H

#include <stdint.h>
#include <linux/seccomp.h>
#include <jansson.h>
#include "proto.h"

#define SUP_MAX_RULES 64

struct sup_rule {
	uint32_t id;
	struct fl_fault_spec spec;
	uint64_t matched, injected; /* since the last report */
};

struct sup_rules {
	struct sup_rule r[SUP_MAX_RULES];
	int n;
	uint32_t root; /* agentctl exec's own pid: a fault on it covers the whole tree */
};

/* From a push {"push":"add","id":N,"fault":{...}}; -errno and err on failure. */
int rules_add(struct sup_rules *rs, uint32_t id, json_t *fault, char *err, size_t errlen);
void rules_remove(struct sup_rules *rs, uint32_t id);
/* The first rule that the trapped call n matches, or NULL. listener is
 * used to check that n is still alive after the target's memory was read. */
struct sup_rule *rules_match(struct sup_rules *rs, int listener, const struct seccomp_notif *n);
/* The thread's process (its tgid); 0 when it has gone. */
uint32_t rules_tgid(uint32_t tid);
/* The thread's command name into comm (16 bytes). */
void rules_comm(uint32_t tid, char comm[16]);

#endif
