/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The iptables rules of latency faults (latency_ipt.c); each call works in
 * the calling thread's network namespace. ipv is 4 or 6. */
#ifndef FL_LATENCY_RULES_H
#define FL_LATENCY_RULES_H

#include <stddef.h>
#include <stdint.h>

/* Runs argv (PATH search), its stdout and stderr into out; returns the exit
 * status, or -errno when it could not run. */
int lat_run_cmd(char *const argv[], char *out, size_t outlen);
void lat_rule_comment(char *buf, size_t len, uint32_t fault_id);
struct fl_match;
/* The NFQUEUE rule: dev, the protocol and ports of m (NULL: none) in
 * iptables' own match, then the selector pinned at pin. */
int lat_rule_add(int ipv, uint8_t dir, const char *dev, const struct fl_match *m, const char *pin,
		 uint16_t qnum, const char *comment, char *err, size_t errlen);
int lat_rule_del(int ipv, uint8_t dir, const char *comment);
/* Removes every rule of ours whose agent is gone; returns how many. */
int lat_rules_cleanup(const char *where);

#endif
