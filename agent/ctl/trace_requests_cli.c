// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agentctl trace requests: per-exchange stage records of the traced
 * processes' TCP client sockets, written as zlib NDJSON for
 * `agentctl reconcile --traces` (docs/tracing.md). Like `agentctl trace`,
 * agentctl holds the programs by their links: nothing outlives it.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "ctl.h"
#include "log.h"
#include "parse.h"
#include "requests.h"
#include "trace_requests_cli.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/* A usage error: one line on stderr, exit status EXIT_USAGE. */
#define bad(fmt, ...) ctl_usage_error("trace requests: " fmt, ##__VA_ARGS__)

struct rq_args {
	struct fl_rq_opts o;
	uint64_t for_ns;
};

static int parse_args(int argc, char **argv, struct rq_args *a)
{
	static const struct option longopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"comm", required_argument, NULL, 'c'},
	    {"port", required_argument, NULL, 'P'},
	    {"for", required_argument, NULL, 'f'},
	    {"out", required_argument, NULL, 'o'},
	    {"hook", required_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, li = -1, seen[128] = {0};
	uint16_t lo, hi;
	uint64_t v;

	a->o.hook = FL_RQ_HOOK_AUTO;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		if (c != '?' && c > 0 && c < 128 && seen[c]++)
			return bad("--%s given twice", li >= 0 ? longopts[li].name : "?");
		switch (c) {
		case 'p':
			if (parse_u64(optarg, &v, false) || !v || v > 0x7fffffff)
				return bad("--pid '%s' is not a process id", optarg);
			a->o.pid = (pid_t)v;
			break;
		case 'c':
			if (!optarg[0] || strlen(optarg) >= 16)
				return bad("--comm '%s': a process name is 1 to 15 bytes", optarg);
			a->o.comm = optarg;
			break;
		case 'P':
			if (parse_port_range(optarg, &lo, &hi) || lo != hi)
				return bad("--port '%s' is not one port (1..65535)", optarg);
			a->o.port = lo;
			break;
		case 'f':
			if (parse_duration_ns(optarg, &a->for_ns) || !a->for_ns)
				return bad("--for '%s': give a duration above 0, e.g. 10s", optarg);
			break;
		case 'o':
			a->o.out = optarg;
			break;
		case 'h':
			a->o.hook = fl_rq_hook_parse(optarg);
			if (a->o.hook < 0)
				return bad("--hook '%s': tp_btf, raw_tp or tracepoint", optarg);
			break;
		default:
			return bad("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!a->o.out)
		return bad("--out FILE is required (the records, zlib NDJSON)");
	if (!a->o.pid && !a->o.comm)
		return bad("give --pid P or --comm NAME: the processes whose requests to trace");
	return 0;
}

int cmd_trace_requests(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct fl_rq_summary s = {0};
	struct rq_args a = {0};
	struct fl_rq *t = NULL;
	int ret, pidfd = -1;
	uint64_t end;
	char err[256];

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	if (a.o.pid) {
		pidfd = (int)syscall(SYS_pidfd_open, a.o.pid, 0);
		if (pidfd < 0 && errno == ESRCH)
			return bad("no process %d", (int)a.o.pid);
	}
	ret = fl_rq_open(&a.o, &t, err, sizeof(err));
	if (ret) {
		fl_err("trace requests: %s", err);
		ret = 1;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "agentctl: tracing requests on %s into %s; Ctrl-C ends\n",
		fl_rq_hook_name(fl_rq_hook(t)), a.o.out);
	end = a.for_ns ? now_mono_ns() + a.for_ns : UINT64_MAX;
	while (!stop && now_mono_ns() < end) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};

		ret = fl_rq_poll(t, 100);
		if (ret < 0) {
			fl_err("trace requests: %s", strerror(-ret));
			break;
		}
		if (pidfd >= 0 && poll(&p, 1, 0) > 0) {
			fprintf(stderr, "agentctl: trace requests: process %d ended\n",
				(int)a.o.pid);
			break;
		}
	}
	ret = fl_rq_finish(t, &s) < 0 || ret < 0 ? 1 : 0;
	fprintf(stderr,
		"agentctl: trace requests: %llu records (%llu still open at the end), %llu lost, "
		"%llu sockets not followed\n",
		(unsigned long long)s.records, (unsigned long long)s.open,
		(unsigned long long)s.lost, (unsigned long long)s.noslot);
	if (s.unread)
		fprintf(
		    stderr,
		    "agentctl: trace requests: %llu sockets of the traced processes could not be "
		    "read at the end (pidfd_getfd refused): their open exchanges are missing\n",
		    (unsigned long long)s.unread);
	if (ret)
		fl_err("trace requests: cannot write %s", a.o.out);
out:
	fl_rq_close(t);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
