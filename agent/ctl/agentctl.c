// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agentctl: drives agentd over its control socket. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "client.h"
#include "ctl.h"
#include "inject_cli.h"
#include "log.h"
#include "parse.h"
#include "probe.h"
#include "proto.h"
#include "reconcile.h"
#include "run.h"
#include "supervise.h"
#include "trace_cli.h"

static const char usage[] =
    "Usage: agentctl [--socket PATH] COMMAND [OPTIONS]\n"
    "Drive the Faultline agent (agentd).\n"
    "\n"
    "Commands:\n"
    "  status [--json]                 is the agent up; faults, events\n"
    "  doctor [--json]                 what this kernel allows, and the backend\n"
    "                                  each fault kind will use here\n"
    "  inject drop --dev IF [MATCH] [OPTIONS]\n"
    "                                  drop packets; prints the fault id\n"
    "  inject kill|pause|cpu PROCESSES [OPTIONS]\n"
    "                                  signal, pause or starve processes\n"
    "  inject errno --syscall NAME --errno NAME PROCESSES [OPTIONS]\n"
    "                                  fail a call with an errno\n"
    "  inject syscall-latency --syscall NAME --delay D [--jitter J] PROCESSES\n"
    "                                  hold a supervised process's call\n"
    "  exec [--fault FILE.json ...] [--trap NAME,...] -- CMD ARGS...\n"
    "                                  run CMD under the syscall supervisor\n"
    "  inject latency --dev IF --delay D [MATCH] [OPTIONS]\n"
    "                                  delay packets; prints the fault id\n"
    "  list [--json]                   active faults with their counters\n"
    "  clear ID|--all                  remove faults\n"
    "  run SCENARIO.json [--out DIR]   load + faults on schedule + verdict and report\n"
    "  reconcile --ledger L --receipts R [--events E] [--objectives O] [--out DIR]\n"
    "                                  verdict from files (agentctl reconcile --help)\n"
    "  trace [--pid P] [--comm NAME] [--cgroup PATH] [--port N] [--for D] [--interval D]\n"
    "        [--json] [--no-syscalls] [--metrics ADDR:PORT]\n"
    "                                  live kernel latency histograms (root; agentctl loads\n"
    "                                  them itself): syscalls, run queue, TCP connect and\n"
    "                                  RTT, retransmits, drops; --metrics serves them to\n"
    "                                  Prometheus; --hook tp_btf|raw_tp|tracepoint forces one\n"
    "  trace requests --pid P|--comm NAME --out FILE [--port N] [--for D] [--hook H]\n"
    "                                  per-request kernel stages for reconcile --traces\n"
    "\n"
    "inject drop options:\n"
    "  --dev IF                  device (required)\n"
    "  --netns NAME|PATH|pid:PID device in another network namespace\n"
    "  --ingress | --egress      direction (default ingress)\n"
    "  --proto tcp|udp|icmp|icmp6\n"
    "  --src CIDR  --dst CIDR    IPv4 or IPv6 address or prefix\n"
    "  --sport P[-P]  --dport P[-P]\n"
    "  --prob P                  0..1 or N% (default 1)\n"
    "  --correlation C           0 <= C < 1 or N%: each packet repeats the last one's\n"
    "                            fate with probability C (bursts; average stays P)\n"
    "  --model ge:p=P[,r=P][,h=P][,k=P]\n"
    "                            Gilbert-Elliott bursts (netem's gemodel p r 1-h 1-k):\n"
    "                            p good->bad, r bad->good, h, k deliver in bad, good;\n"
    "                            not with --prob or --correlation\n"
    "  --for DURATION            time to live, e.g. 250ms, 30s, 5m (default: the agent's, 5m)\n"
    "  --name NAME               a label for list and metrics\n"
    "  --backend tcx|tc|xdp      force a backend (default: the best this kernel allows)\n"
    "  --force                   allow protected ports (SSH, the agent's own)\n"
    "  --dry-run                 say what would be attached where; change nothing\n"
    "  --json                    print the agent's answer as JSON\n"
    "\n"
    "inject kill|pause|cpu options (--for, --name, --backend, --dry-run, --json as above):\n"
    "  --pid PID | --comm NAME | --cgroup PATH\n"
    "                            the processes (all that are given must match);\n"
    "                            cpu takes --cgroup alone\n"
    "  --signal NAME             kill: KILL (default), TERM, INT, HUP, QUIT, ...\n"
    "  --quota P                 cpu: share of one CPU, 0 < P <= 100%, e.g. 10%\n"
    "  pause: cgroup v2 freeze for a cgroup, SIGSTOP/SIGCONT for a pid or comm\n"
    "\n"
    "inject errno / syscall-latency options (and --prob, --for, --name, --backend):\n"
    "  --syscall NAME            connect, bind, sendto, socket, openat, write, fsync, ...\n"
    "  --errno NAME              ECONNREFUSED, EIO, ENOSPC, EACCES, ...\n"
    "  --delay D  --jitter J     syscall-latency: hold each call D +- J\n"
    "  --pid PID | --comm NAME | --cgroup PATH   whose calls\n"
    "  --dst CIDR  --dport P[-P]  --proto tcp|udp  errno: the address a socket call names\n"
    "  --path PREFIX             calls on paths (or files) under PREFIX\n"

    "inject latency: the options of drop (--backend nfqueue|edt|netem), and\n"
    "  --delay D                 how long to hold, e.g. 50ms (required, 0..10s)\n"
    "  --jitter D                spread around the delay (at most the delay)\n"
    "  --distribution uniform|normal|pareto   of the spread (default uniform)\n"
    "  --correlation P           0..1 or N%: how much each delay leans on the last\n"
    "  --per packet|connection|request\n"
    "                            what pays the delay once (default: request for\n"
    "                            --proto tcp, else packet)\n"
    "  --queue-len N             packets held at most (default 16384); the rest pass\n"
    "\n"
    "Global: -s, --socket PATH (default $FAULTLINE_SOCKET or " FL_DEFAULT_SOCKET ")\n"
    "Exit status: 0 done, 1 the agent refused, 2 bad usage, 3 no agent.\n"
    "See agentctl(8).\n";

static const char *sock_path;
static int json_out;

static void describe_target(json_t *f, char *buf, size_t len)
{
	json_t *t = json_object_get(f, "target");
	const char *keys[] = {"proto", "src", "dst", "sport", "dport"};
	size_t n;

	if (!json_object_get(t, "dev")) {
		const char *pkeys[] = {"pid", "comm", "cgroup", "path", "dst", "dport"};
		json_t *p = json_object_get(f, "params");
		const char *sc = json_string_value(json_object_get(p, "syscall"));

		n = 0;
		buf[0] = '\0';
		if (sc)
			n = snprintf(buf, len, "%s:%s", sc,
				     json_string_value(json_object_get(p, "errno"))
					 ?: json_string_value(json_object_get(p, "delay")) ?: "?");
		for (size_t i = 0; i < sizeof(pkeys) / sizeof(pkeys[0]) && n < len; i++) {
			json_t *v = json_object_get(t, pkeys[i]);

			if (json_is_string(v))
				n += snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "", pkeys[i],
					      json_string_value(v));
			else if (json_is_integer(v))
				n += snprintf(buf + n, len - n, "%s%s=%lld", n ? " " : "", pkeys[i],
					      (long long)json_integer_value(v));
		}
		return;
	}
	n = snprintf(buf, len, "%s/%s", json_string_value(json_object_get(t, "dev")) ?: "?",
		     json_string_value(json_object_get(t, "direction")) ?: "?");
	if (json_object_get(t, "netns") && n < len)
		n += snprintf(buf + n, len - n, "@%s",
			      json_string_value(json_object_get(t, "netns")));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && n < len; i++) {
		json_t *v = json_object_get(t, keys[i]);

		if (json_is_string(v))
			n += snprintf(buf + n, len - n, " %s=%s", keys[i], json_string_value(v));
		else if (json_is_integer(v))
			n += snprintf(buf + n, len - n, " %s=%lld", keys[i],
				      (long long)json_integer_value(v));
	}
}

/* A latency fault's second line: what it asked for, what it applied. */
static void print_latency(json_t *f)
{
	json_t *p = json_object_get(f, "params"), *a = json_object_get(f, "delay_applied_ms");
	const char *jit = json_string_value(json_object_get(p, "jitter"));

	if (!json_object_get(p, "delay"))
		return;
	printf("     delay %s%s%s%s%s per %s: applied p50 %.3f ms, p99 %.3f ms, max %.3f ms; "
	       "held %lld, overflow %lld\n",
	       json_string_value(json_object_get(p, "delay")) ?: "?", jit ? " +- " : "",
	       jit ? jit : "", jit ? " " : "",
	       jit ? json_string_value(json_object_get(p, "distribution")) ?: "" : "",
	       json_string_value(json_object_get(p, "per")) ?: "?",
	       json_number_value(json_object_get(a, "p50")),
	       json_number_value(json_object_get(a, "p99")),
	       json_number_value(json_object_get(a, "max")),
	       (long long)json_integer_value(json_object_get(f, "held")),
	       (long long)json_integer_value(json_object_get(f, "overflow")));
}

static void print_faults(json_t *faults)
{
	size_t i;
	json_t *f;
	int kw = 5;

	if (!json_array_size(faults)) {
		printf("no active faults\n");
		return;
	}
	/* KIND as wide as the longest kind listed (syscall-latency). */
	json_array_foreach(faults, i, f)
	{
		int n = strlen(json_string_value(json_object_get(f, "kind")) ?: "");

		kw = n > kw ? n : kw;
	}
	printf("%-4s %-*s %-12s %-44s %-6s %-4s %-8s %10s %10s\n", "ID", kw, "KIND", "NAME",
	       "TARGET", "PROB", "VIA", "LEFT", "MATCHED", "INJECTED");
	json_array_foreach(faults, i, f)
	{
		char target[256], left[32], param[24] = "-";
		json_t *chain;
		json_int_t ms = json_integer_value(json_object_get(f, "expires_in_ms"));
		json_t *p = json_object_get(f, "params");

		if (json_object_get(p, "model"))
			snprintf(param, sizeof(param), "ge");
		else if (json_object_get(p, "prob"))
			snprintf(param, sizeof(param), "%g",
				 json_number_value(json_object_get(p, "prob")));
		else if (json_object_get(p, "signal"))
			snprintf(param, sizeof(param), "%s",
				 json_string_value(json_object_get(p, "signal")));
		else if (json_object_get(p, "quota"))
			snprintf(param, sizeof(param), "%g%%",
				 100 * json_number_value(json_object_get(p, "quota")));

		describe_target(f, target, sizeof(target));
		/* Whole seconds past ten: 4m59s reads better than 299.985s. */
		if (ms >= 10000)
			snprintf(left, sizeof(left), "%lldm%02llds", (long long)(ms / 60000),
				 (long long)(ms / 1000 % 60));
		else
			format_duration((uint64_t)ms * 1000000ULL, left, sizeof(left));
		printf("%-4lld %-*s %-12s %-44s %-6s %-4s %-8s %10lld %10lld\n",
		       (long long)json_integer_value(json_object_get(f, "id")), kw,
		       json_string_value(json_object_get(f, "kind")),
		       json_string_value(json_object_get(f, "name")) ?: "-", target, param,
		       json_string_value(json_object_get(f, "backend")), left,
		       (long long)json_integer_value(json_object_get(f, "matched")),
		       (long long)json_integer_value(json_object_get(f, "injected")));
		chain = json_object_get(f, "chain");
		if (chain && json_is_false(json_object_get(chain, "first")))
			printf("     ! %s\n",
			       json_string_value(json_object_get(chain, "note")) ?: "");
		print_latency(f);
	}
}

/* Commands without options but --json. */
static int simple(int argc, char **argv, const char *cmd, json_t **reply)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json_out = 1;
		else
			return ctl_usage_error("%s: unexpected argument '%s'", cmd, argv[i]);
	}
	return ctl_call(sock_path, json_pack("{s:s}", "cmd", cmd), reply);
}

static int cmd_status(int argc, char **argv)
{
	json_t *r = NULL;
	int ret = simple(argc, argv, "status", &r);

	if (ret)
		goto out;
	if (json_out) {
		ctl_print_json(r);
		goto out;
	}
	printf(
	    "agentd running (pid %lld): %lld faults, %lld hooks, %lld events written, %lld lost\n",
	    (long long)json_integer_value(json_object_get(r, "pid")),
	    (long long)json_integer_value(json_object_get(r, "faults")),
	    (long long)json_integer_value(json_object_get(r, "hooks")),
	    (long long)json_integer_value(json_object_get(r, "events_written")),
	    (long long)json_integer_value(json_object_get(r, "events_lost")));
out:
	json_decref(r);
	return ret;
}

static int cmd_doctor(int argc, char **argv)
{
	struct fl_facts f;
	json_t *r = NULL;
	int ret = simple(argc, argv, "doctor", &r);

	if (ret)
		goto out;
	if (json_out) {
		ctl_print_json(json_object_get(r, "doctor"));
	} else if (probe_from_json(json_object_get(r, "doctor"), &f)) {
		fl_err("the agent's fact table is not in a form this agentctl reads");
		ret = EXIT_REFUSED;
	} else {
		probe_print(&f, stdout);
	}
out:
	json_decref(r);
	return ret;
}

static int cmd_list(int argc, char **argv)
{
	json_t *r = NULL;
	int ret = simple(argc, argv, "list", &r);

	if (!ret) {
		if (json_out)
			ctl_print_json(json_object_get(r, "faults"));
		else
			print_faults(json_object_get(r, "faults"));
	}
	json_decref(r);
	return ret;
}

static int cmd_clear(int argc, char **argv)
{
	json_t *req, *r;
	uint64_t id;
	int ret;

	if (argc != 2)
		return ctl_usage_error("clear needs one fault id or --all");
	if (!strcmp(argv[1], "--all"))
		req = json_pack("{s:s,s:b}", "cmd", "clear", "all", 1);
	else if (!parse_u64(argv[1], &id, false) && id >= 1 && id <= UINT32_MAX)
		req = json_pack("{s:s,s:I}", "cmd", "clear", "id", (json_int_t)id);
	else
		return ctl_usage_error("clear: '%s' is not a fault id (see agentctl list)",
				       argv[1]);
	ret = ctl_call(sock_path, req, &r);
	if (!ret) {
		size_t n = json_array_size(json_object_get(r, "cleared"));

		printf("cleared %zu fault%s\n", n, n == 1 ? "" : "s");
	}
	json_decref(r);
	return ret;
}

static int inject_main(int argc, char **argv)
{
	return cmd_inject(sock_path, argc, argv);
}

static int exec_main(int argc, char **argv)
{
	return cmd_exec(sock_path, argc, argv);
}

static int run_main(int argc, char **argv)
{
	return cmd_run(sock_path, argc, argv);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
	    {"status", cmd_status}, {"doctor", cmd_doctor}, {"inject", inject_main},
	    {"list", cmd_list},	    {"clear", cmd_clear},   {"reconcile", cmd_reconcile},
	    {"run", run_main},	    {"exec", exec_main},    {"trace", cmd_trace},
	};
	int i = 1;

	fl_prog = "agentctl";
	sock_path = getenv("FAULTLINE_SOCKET") ?: FL_DEFAULT_SOCKET;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return EXIT_OK;
		} else if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) &&
			   i + 1 < argc) {
			sock_path = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock_path = argv[i] + 9;
			i++;
		} else {
			return ctl_usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		return ctl_usage_error("no command given");
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (!strcmp(cmds[c].name, argv[i]))
			return cmds[c].fn(argc - i, argv + i);
	return ctl_usage_error("unknown command '%s'", argv[i]);
}
