// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agentctl trace: live kernel latency histograms, one report per interval
 * (docs/tracing.md). agentctl loads the programs itself and holds them by
 * their links: when it ends, or is killed, nothing stays loaded.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "ctl.h"
#include "log.h"
#include "parse.h"
#include "trace_cli.h"
#include "trace_metrics.h"
#include "trace_requests_cli.h"
#include "tracer.h"

#define DEFAULT_INTERVAL_NS 1000000000ULL

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/* A usage error: one line on stderr, exit status EXIT_USAGE. */
#define bad(fmt, ...) ctl_usage_error("trace: " fmt, ##__VA_ARGS__)

/* Wait until the monotonic time `until`, a signal, or the traced process's
 * end (pidfd readable), answering scrapes on mfd meanwhile. Returns 1 when
 * the process ended. */
static int wait_until(uint64_t until, int pidfd, int mfd, const struct fl_trace_prom *prom)
{
	struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = mfd, .events = POLLIN}};
	uint64_t now;

	while (!stop && (now = now_mono_ns()) < until) {
		int ms = (int)((until - now + 999999) / 1000000);

		if (poll(p, 2, ms) <= 0)
			continue;
		if (p[0].revents)
			return 1;
		if (p[1].revents)
			trace_metrics_serve(mfd, prom);
	}
	return 0;
}

struct trace_args {
	struct fl_trace_opts o;
	uint64_t for_ns, interval_ns;
	int json;
	const char *metrics; /* --metrics ADDR:PORT */
};

static int parse_args(int argc, char **argv, struct trace_args *a)
{
	static const struct option longopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"comm", required_argument, NULL, 'c'},
	    {"cgroup", required_argument, NULL, 'g'},
	    {"port", required_argument, NULL, 'P'},
	    {"for", required_argument, NULL, 'f'},
	    {"interval", required_argument, NULL, 'i'},
	    {"json", no_argument, NULL, 'j'},
	    {"hook", required_argument, NULL, 'h'},
	    {"no-syscalls", no_argument, NULL, 'S'},
	    {"metrics", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	int c, li = -1, seen[128] = {0};
	uint16_t lo, hi;
	uint64_t v;

	a->interval_ns = DEFAULT_INTERVAL_NS;
	a->o.hook = FL_HOOK_AUTO;
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
			a->o.comm = optarg;
			break;
		case 'g':
			a->o.cgroup = optarg;
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
		case 'i':
			if (parse_duration_ns(optarg, &a->interval_ns) ||
			    a->interval_ns < 1000000ULL)
				return bad("--interval '%s': give a duration of at least 1ms, "
					   "e.g. 1s",
					   optarg);
			break;
		case 'j':
			a->json = 1;
			break;
		case 'S':
			a->o.no_syscalls = 1;
			break;
		case 'm':
			a->metrics = optarg;
			break;
		case 'h':
			a->o.hook = fl_trace_hook_parse(optarg);
			if (a->o.hook < 0)
				return bad("--hook '%s': tp_btf, raw_tp or tracepoint", optarg);
			break;
		default:
			return bad("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int emit(struct fl_trace *t, uint64_t from, uint64_t to, int json,
		struct fl_trace_prom *prom)
{
	json_t *doc = fl_trace_read(t, (double)(to - from) / 1e9);

	if (!doc) {
		fl_err("trace: cannot read the trace maps: %s", strerror(errno));
		return -EIO;
	}
	if (prom && fl_trace_prom_add(prom, doc)) {
		fl_err("trace: out of memory for the metrics");
		json_decref(doc);
		return -ENOMEM;
	}
	if (json) {
		json_dumpf(doc, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		fflush(stdout);
	} else {
		fl_trace_print(doc, stdout);
	}
	json_decref(doc);
	return 0;
}

int cmd_trace(int argc, char **argv)
{
	struct trace_args a = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	struct fl_trace *t = NULL;
	struct fl_trace_prom *prom = NULL;
	uint64_t start, last, next, end;
	int ret, pidfd = -1, gone = 0, mfd = -1;
	char err[256];

	if (argc > 1 && !strcmp(argv[1], "requests")) /* per-request records */
		return cmd_trace_requests(argc - 1, argv + 1);
	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	if (fl_trace_check(&a.o, err, sizeof(err)))
		return bad("%s", err);
	if (a.metrics) {
		mfd = trace_metrics_listen(a.metrics, err, sizeof(err));
		if (mfd == -EINVAL)
			return bad("%s", err);
		if (mfd < 0) {
			fl_err("trace: %s", err);
			return 1;
		}
		prom = fl_trace_prom_new();
		if (!prom) {
			fl_err("trace: out of memory");
			ret = 1;
			goto out;
		}
	}
	if (a.o.pid) {
		pidfd = (int)syscall(SYS_pidfd_open, a.o.pid, 0);
		if (pidfd < 0 && errno == ESRCH) {
			ret = bad("no process %d", (int)a.o.pid);
			goto out;
		}
	}
	ret = fl_trace_open(&a.o, &t, err, sizeof(err));
	if (ret) {
		fl_err("trace: %s", err);
		ret = 1;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "agentctl: tracing on %s; Ctrl-C ends\n",
		fl_trace_hook_name(fl_trace_hook(t)));
	if (a.metrics)
		fprintf(stderr, "agentctl: trace metrics on http://%s/metrics\n", a.metrics);
	start = last = now_mono_ns();
	end = a.for_ns ? start + a.for_ns : UINT64_MAX;
	for (next = start + a.interval_ns;; next += a.interval_ns) {
		uint64_t until = next < end ? next : end, now;

		gone = wait_until(until, pidfd, mfd, prom);
		now = now_mono_ns();
		ret = emit(t, last, now, a.json, prom);
		last = now;
		if (ret || stop || gone || now >= end)
			break;
	}
	if (gone)
		fprintf(stderr, "agentctl: trace: process %d ended\n", (int)a.o.pid);
	ret = ret ? 1 : 0;
out:
	fl_trace_close(t);
	fl_trace_prom_free(prom);
	if (mfd >= 0)
		close(mfd);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
