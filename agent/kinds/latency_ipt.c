// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The iptables rules of latency faults, one per fault and IP version:
 *   iptables -t mangle -A PREROUTING  -i DEV -m bpf --object-pinned PIN
 *            -m comment --comment faultline-latency:pid=P:fault=F
 *            -j NFQUEUE --queue-num N --queue-bypass
 * (POSTROUTING -o DEV for egress). Appended: a packet the agent lets go
 * (NF_ACCEPT) goes on to the next table, not to the rules after ours, so
 * ours come last and every rule of others in the chain still sees every
 * packet. The comment names the agent that made
 * the rule: a later agent removes the rules whose agent is gone. The rule
 * is found again by its comment (a bpf match cannot be deleted by spec:
 * iptables compares the fd it opened).
 */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "latency_kind.h"
#include "drop.h"
#include "latency_rules.h"
#include "log.h"

extern char **environ;

int lat_run_cmd(char *const argv[], char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	int p[2], status, ret;
	size_t n = 0;
	pid_t pid;

	if (outlen)
		out[0] = '\0';
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (ret) {
		close(p[0]);
		return -ret;
	}
	for (;;) {
		char junk[512];
		ssize_t k = n + 1 < outlen ? read(p[0], out + n, outlen - 1 - n)
					   : read(p[0], junk, sizeof(junk));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (n + 1 < outlen)
			n += k;
	}
	if (outlen)
		out[n] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const char *ipt_bin(int ipv)
{
	return ipv == 6 ? "ip6tables" : "iptables";
}

static const char *chain_of(uint8_t dir)
{
	return dir == FL_DIR_EGRESS ? "POSTROUTING" : "PREROUTING";
}

void lat_rule_comment(char *buf, size_t len, uint32_t fault_id)
{
	snprintf(buf, len, "%s:pid=%d:fault=%u", FL_LAT_COMMENT, (int)getpid(), fault_id);
}

/* "80" or "80:90", for iptables' --dport and --sport. */
static void port_arg(char *buf, size_t len, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u:%u", lo, hi);
}

int lat_rule_add(int ipv, uint8_t dir, const char *dev, const struct fl_match *m, const char *pin,
		 uint16_t qnum, const char *comment, char *err, size_t errlen)
{
	char q[8], out[512], sp[16], dp[16];
	char *argv[32] = {(char *)ipt_bin(ipv),
			  "-w",
			  "5",
			  "-t",
			  "mangle",
			  "-A",
			  (char *)chain_of(dir),
			  dir == FL_DIR_EGRESS ? "-o" : "-i",
			  (char *)dev};
	int n = 9, rc;

	/* The protocol and ports in iptables' own match too: a packet of
	 * another port leaves the rule there, before the BPF selector runs
	 * (a fault that matches nothing then costs the host next to nothing).
	 * The selector still decides for the rest (addresses, --per, the
	 * protected ports). */
	if (m && (m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP)) {
		argv[n++] = "-p";
		argv[n++] = m->proto == IPPROTO_TCP ? "tcp" : "udp";
		if (m->dport_lo || m->dport_hi) {
			port_arg(dp, sizeof(dp), m->dport_lo, m->dport_hi);
			argv[n++] = "--dport";
			argv[n++] = dp;
		}
		if (m->sport_lo || m->sport_hi) {
			port_arg(sp, sizeof(sp), m->sport_lo, m->sport_hi);
			argv[n++] = "--sport";
			argv[n++] = sp;
		}
	}
	{
		char *rest[] = {
		    "-m",	   "bpf",	"--object-pinned", (char *)pin, "-m",
		    "comment",	   "--comment", (char *)comment,   "-j",	"NFQUEUE",
		    "--queue-num", q,		"--queue-bypass",  NULL};

		for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
			argv[n++] = rest[i];
	}

	snprintf(q, sizeof(q), "%u", qnum);
	rc = lat_run_cmd(argv, out, sizeof(out));
	if (!rc)
		return 0;
	out[strcspn(out, "\n")] = '\0';
	if (rc < 0)
		snprintf(err, errlen, "cannot run %s: %s (install iptables)", argv[0],
			 strerror(-rc));
	else
		snprintf(err, errlen, "%s refused the NFQUEUE rule (exit %d): %s", argv[0], rc,
			 out);
	return rc < 0 ? rc : -EIO;
}

/* Rule numbers (1-based) in chain whose comment satisfies keep(); at most
 * max. */
static int find_rules(int ipv, const char *chain, bool (*want)(const char *c, const void *arg),
		      const void *arg, int *nums, int max)
{
	static char out[1 << 16];
	char *argv[] = {(char *)ipt_bin(ipv), "-w", "5", "-t", "mangle", "-S", (char *)chain, NULL};
	char *line, *save = NULL;
	int rule = 0, n = 0, rc = lat_run_cmd(argv, out, sizeof(out));

	if (rc)
		return rc < 0 ? rc : -EIO;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c;

		if (strncmp(line, "-A ", 3))
			continue;
		rule++;
		c = strstr(line, FL_LAT_COMMENT ":");
		if (!c)
			continue;
		c[strcspn(c, " \"")] = '\0';
		if (want(c, arg) && n < max)
			nums[n++] = rule;
	}
	return n;
}

static int delete_nums(int ipv, const char *chain, const int *nums, int n)
{
	int done = 0;

	/* From the last: numbers before it stay valid. */
	for (int i = n - 1; i >= 0; i--) {
		char num[16], out[256];
		char *argv[] = {(char *)ipt_bin(ipv), "-w", "5", "-t", "mangle", "-D",
				(char *)chain,	      num,  NULL};

		snprintf(num, sizeof(num), "%d", nums[i]);
		if (!lat_run_cmd(argv, out, sizeof(out)))
			done++;
		else
			fl_log("cannot delete %s mangle %s rule %d: %s", argv[0], chain, nums[i],
			       out);
	}
	return done;
}

static bool same_comment(const char *c, const void *arg)
{
	return !strcmp(c, arg);
}

int lat_rule_del(int ipv, uint8_t dir, const char *comment)
{
	int nums[16], n = find_rules(ipv, chain_of(dir), same_comment, comment, nums, 16);

	if (n < 0)
		return n;
	if (!n)
		return -ENOENT;
	return delete_nums(ipv, chain_of(dir), nums, n) == n ? 0 : -EIO;
}

/* The agent that wrote the comment is gone (or is not an agentd). */
static bool agent_gone(const char *c, const void *arg)
{
	char path[64], comm[32] = "";
	int pid = 0;
	FILE *f;

	(void)arg;
	if (sscanf(c, FL_LAT_COMMENT ":pid=%d:", &pid) != 1 || pid <= 0)
		return true;
	if (pid == getpid())
		return true; /* a pid reused: nothing of ours exists before init */
	if (kill(pid, 0) && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "agentd") != 0;
}

int lat_rules_cleanup(const char *where)
{
	static const char *const chains[] = {"PREROUTING", "POSTROUTING"};
	int removed = 0;

	for (int ipv = 4; ipv <= 6; ipv += 2)
		for (int i = 0; i < 2; i++) {
			int nums[64], n = find_rules(ipv, chains[i], agent_gone, NULL, nums, 64);

			if (n > 0)
				removed += delete_nums(ipv, chains[i], nums, n);
		}
	if (removed)
		fl_log("removed %d NFQUEUE rule%s left by an earlier agent%s%s", removed,
		       removed == 1 ? "" : "s", *where ? " in netns " : "", where);
	return removed;
}
