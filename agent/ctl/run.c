// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agentctl run SCENARIO: start loadgen, apply each fault at its time
 * through agentd, collect the ledger, the fault events and the receipts,
 * reconcile, write the report, print the verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "client.h"
#include "log.h"
#include "reconcile.h"
#include "registry.h"
#include "run.h"
#include "run_trace.h"
#include "scenario.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void dur_arg(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000));
}

/* A device, or the processes a process fault names. */
static const char *target_name(const struct fl_target *t, char *buf, size_t len)
{
	if (*t->dev)
		return t->dev;
	snprintf(buf, len, "%s%s%s%s", *t->cgroup ? "cgroup " : "", t->cgroup,
		 *t->cgroup && *t->comm ? " " : "", *t->comm ? t->comm : "");
	if (t->pid)
		snprintf(buf + strlen(buf), len - strlen(buf), "%spid %u", *buf ? " " : "", t->pid);
	return buf;
}

/* A kill's restart command, detached (its own session, reparented to init
 * by a double fork: it is the service now, not part of the run); its output
 * goes to DIR/restart-I.log. */
static void restart(const struct sc_fault *sf, int i, const char *out_dir, uint64_t t)
{
	char *argv[65] = {}, log[PATH_MAX + 32];
	size_t k, n = json_array_size(sf->restart);
	pid_t pid;
	int status = 0;

	for (k = 0; k < n && k < 64; k++)
		argv[k] = (char *)json_string_value(json_array_get(sf->restart, k));
	snprintf(log, sizeof(log), "%s/restart-%d.log", out_dir, i);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		setsid();
		if (fork() != 0)
			_exit(0);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (pid < 0)
		fl_err("faults[%d]: cannot start the restart %s: %s", i, argv[0], strerror(errno));
	else
		printf("  %6.2f s  faults[%d]: restarted with %s (output in %s)\n", t / 1e9, i,
		       argv[0], log);
	fflush(stdout);
}

/* Where loadgen is: beside this agentctl, else on PATH. */
static void find_loadgen(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(out, len, "%s/loadgen", dirname(self));
		if (!access(out, X_OK))
			return;
	}
	snprintf(out, len, "loadgen");
}

static pid_t start_loadgen(const struct scenario *sc, const char *loadgen, const char *out_dir,
			   uint64_t run_id)
{
	const struct sc_load *l = &sc->load;
	char a[16][PATH_MAX], log[PATH_MAX + 16];
	char *argv[48];
	int n = 0, k = 0, fd;
	pid_t pid;

#define ARG(s)	  (argv[n++] = (char *)(s))
#define ARGF(...) (snprintf(a[k], sizeof(a[k]), __VA_ARGS__), argv[n++] = a[k++])
	ARG(loadgen);
	ARG(sc->url);
	ARG("--duration");
	ARGF("%llums", (unsigned long long)(l->duration_ns / 1000000));
	if (l->rate) {
		ARG("--rate");
		ARGF("%g", l->rate);
	}
	if (*l->profile) {
		ARG("--profile");
		ARG(l->profile);
	}
	if (*l->arrival) {
		ARG("--arrival");
		ARG(l->arrival);
	}
	if (l->users) {
		ARG("--users");
		ARGF("%u", l->users);
		if (l->think_ns) {
			ARG("--think");
			dur_arg(a[k], sizeof(a[k]), l->think_ns);
			ARG(a[k++]);
		}
	}
	if (l->connections) {
		ARG("-c");
		ARGF("%u", l->connections);
	}
	if (l->threads) {
		ARG("-t");
		ARGF("%u", l->threads);
	}
	if (l->timeout_ns) {
		ARG("--timeout");
		dur_arg(a[k], sizeof(a[k]), l->timeout_ns);
		ARG(a[k++]);
	}
	if (*l->mix) {
		ARG("--mix");
		ARG(l->mix);
	}
	ARG("--run-id");
	ARGF("%016llx", (unsigned long long)run_id);
	ARG("--ledger");
	ARGF("%s/ledger.bin.gz", out_dir);
	ARG("--interval-log");
	ARGF("%s/intervals.ndjson", out_dir);
	ARG("--json");
	ARGF("%s/loadgen.json", out_dir);
	argv[n] = NULL;
#undef ARG
#undef ARGF

	pid = fork();
	if (pid)
		return pid;
	snprintf(log, sizeof(log), "%s/loadgen.log", out_dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int inject(const char *sock, struct sc_fault *f, uint32_t *id, char *err, size_t errlen)
{
	json_t *reply;
	int ret = client_call(sock, json_pack("{s:s,s:O}", "cmd", "inject", "fault", f->fault),
			      &reply, err, errlen);

	if (!ret)
		*id = json_integer_value(json_object_get(json_object_get(reply, "fault"), "id"));
	json_decref(reply);
	return ret;
}

/* 0, or -errno with the agent's reason in err. A fault that ran its time
 * is gone already; that is fine. */
static int clear(const char *sock, uint32_t id, char *err, size_t errlen)
{
	json_t *reply;
	int ret = client_call(sock, json_pack("{s:s,s:i}", "cmd", "clear", "id", (int)id), &reply,
			      err, errlen);

	if (ret == -EREMOTEIO && strstr(err, "no fault with id"))
		ret = 0;
	json_decref(reply);
	return ret;
}

/* A fault the run could not inject or clear: the run is not what the
 * scenario said, so it fails (exit 2) and the report says which and why. */
#define MAX_RUN_ERRORS (2 * SC_MAX_FAULTS)
struct run_errors {
	char msg[MAX_RUN_ERRORS][256];
	const char *p[MAX_RUN_ERRORS];
	size_t n;
};

static void run_error(struct run_errors *e, const char *fmt, ...)
{
	va_list ap;

	if (e->n >= MAX_RUN_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg[e->n], sizeof(e->msg[e->n]), fmt, ap);
	va_end(ap);
	fl_err("%s", e->msg[e->n]);
	e->p[e->n] = e->msg[e->n];
	e->n++;
}

static int agent_event_log(const char *sock, char *path, size_t len, char *err, size_t errlen)
{
	json_t *reply;
	int ret = client_call(sock, json_pack("{s:s}", "cmd", "status"), &reply, err, errlen);

	if (!ret)
		snprintf(path, len, "%s",
			 json_string_value(json_object_get(reply, "event_log")) ?: "");
	json_decref(reply);
	return ret;
}

/* Copy the records of this run's faults (and the agent's reports of lost
 * events since the run began) from the agent's event log into the run's
 * own: the agent's log holds every run it served. */
static int extract_events(const char *src, const char *dst, const uint32_t *ids, int n,
			  uint64_t since_wall, char *err, size_t errlen)
{
	gzFile in = gzopen(src, "rb"), out = NULL;
	char line[65536];
	int ret = 0;

	if (!in) {
		snprintf(err, errlen, "cannot read the agent's event log %.300s: %s", src,
			 strerror(errno ? errno : ENOMEM));
		return -EIO;
	}
	out = gzopen(dst, "wb");
	if (!out) {
		snprintf(err, errlen, "cannot write %.300s: %s", dst,
			 strerror(errno ? errno : ENOMEM));
		ret = -EIO;
		goto done;
	}
	/* The agent's log ends where it last flushed; a torn last line is
	 * skipped by the JSON parse. */
	while (gzgets(in, line, sizeof(line))) {
		json_t *r = json_loads(line, 0, NULL);
		json_t *id = json_object_get(r, "fault_id");
		const char *type = json_string_value(json_object_get(r, "type"));
		bool keep = false;

		if (json_is_integer(id)) {
			for (int i = 0; i < n && !keep; i++)
				keep = ids[i] && ids[i] == json_integer_value(id);
		} else if (type && !strcmp(type, "lost")) {
			keep = (uint64_t)json_integer_value(json_object_get(r, "wall_ns")) >=
			       since_wall;
		}
		if (keep)
			gzputs(out, line);
		json_decref(r);
	}
	if (gzclose(out) != Z_OK) {
		snprintf(err, errlen, "cannot write %.300s", dst);
		ret = -EIO;
	}
done:
	gzclose(in);
	return ret;
}

static const char run_usage[] =
    "Usage: agentctl run SCENARIO.json [--out DIR] [--loadgen PATH]\n"
    "Run a scenario: load, faults on schedule, reconciliation, report.\n"
    "Exit status: 0 pass, 1 fail, 2 error. See docs/scenarios.md.\n";

int cmd_run(const char *sock, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"loadgen", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	char out_dir[PATH_MAX] = "", loadgen[PATH_MAX] = "", events[PATH_MAX], err[512];
	char run_events[PATH_MAX + 32], traces[PATH_MAX + 32] = "";
	pid_t tracer = -1;
	uint32_t ids[SC_MAX_FAULTS] = {};
	bool restarted[SC_MAX_FAULTS] = {};
	char what[320];
	struct sigaction sa = {.sa_handler = on_signal};
	struct rc_result res = {};
	struct rc_declared decl[SC_MAX_FAULTS];
	size_t n_decl = 0;
	struct run_errors rerr = {0};
	struct scenario sc;
	uint64_t t0, run_id, start_wall;
	int c, status = 0, next = 0, ret = 2;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			snprintf(out_dir, sizeof(out_dir), "%s", optarg);
			break;
		case 'l':
			snprintf(loadgen, sizeof(loadgen), "%s", optarg);
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "%s", run_usage);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fl_err("run needs one scenario file (see agentctl run --help)");
		return 2;
	}
	if (scenario_load(argv[optind], &sc, err, sizeof(err))) {
		fl_err("%s: %s", argv[optind], err);
		return 2;
	}
	if (!*out_dir)
		snprintf(out_dir, sizeof(out_dir), "faultline-%s-%ld", sc.name, (long)time(NULL));
	if (mkdir(out_dir, 0755) && errno != EEXIST) {
		fl_err("cannot create %s: %s", out_dir, strerror(errno));
		goto out;
	}
	if (!*loadgen)
		find_loadgen(loadgen, sizeof(loadgen));
	if (agent_event_log(sock, events, sizeof(events), err, sizeof(err))) {
		fl_err("%s", err);
		goto out;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	run_id = now_wall_ns() ^ ((uint64_t)getpid() << 40);
	printf("scenario %s: %d faults over %.1f s; output in %s\n", sc.name, sc.nfaults,
	       sc.load.duration_ns / 1e9, out_dir);
	fflush(stdout);
	if (sc.trace) {
		/* Before loadgen, to see its first connects; a minute beyond
		 * the load at most. */
		tracer = run_trace_start(out_dir, loadgen, sc.load.duration_ns + 60000000000ULL,
					 traces, sizeof(traces), err, sizeof(err));
		if (tracer < 0) {
			run_error(&rerr, "trace: %s", err);
			traces[0] = '\0';
		}
	}
	t0 = now_mono_ns();
	start_wall = now_wall_ns();
	pid = start_loadgen(&sc, loadgen, out_dir, run_id);
	if (pid < 0) {
		fl_err("cannot start loadgen: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		uint64_t t = now_mono_ns() - t0;
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (stop_signal) {
			fl_err("interrupted: stopping the load, clearing faults, writing what "
			       "there is");
			kill(pid, SIGINT);
			stop_signal = 0;
			next = sc.nfaults; /* inject nothing more */
		}
		while (next < sc.nfaults && sc.faults[next].at_ns <= t) {
			if (inject(sock, &sc.faults[next], &ids[next], err, sizeof(err)))
				run_error(&rerr, "faults[%d] (%s on %s) could not be injected: %s",
					  next, fl_kind_name(sc.faults[next].spec.kind),
					  target_name(&sc.faults[next].spec.target, what, sizeof(what)),
					  err);
			else
				printf(
				    "  %6.2f s  fault %u: %s on %s\n", t / 1e9, ids[next],
				    fl_kind_name(sc.faults[next].spec.kind),
				    target_name(&sc.faults[next].spec.target, what, sizeof(what)));
			fflush(stdout);
			next++;
		}
		for (int i = 0; i < next; i++)
			if (ids[i] && sc.faults[i].restart && !restarted[i] &&
			    t >= sc.faults[i].at_ns + sc.faults[i].restart_after_ns) {
				restart(&sc.faults[i], i, out_dir, t);
				restarted[i] = true;
			}
		poll(NULL, 0, 10);
	}
	/* The load ended (or was interrupted) first: what was killed comes back. */
	for (int i = 0; i < next; i++)
		if (ids[i] && sc.faults[i].restart && !restarted[i])
			restart(&sc.faults[i], i, out_dir, now_mono_ns() - t0);
	for (int i = 0; i < sc.nfaults; i++) {
		if (ids[i] && clear(sock, ids[i], err, sizeof(err)))
			run_error(&rerr, "faults[%d] (fault %u) could not be cleared: %s", i,
				  ids[i], err);
		if (ids[i] && sc.faults[i].has_effects) {
			decl[n_decl] = sc.faults[i].effects;
			decl[n_decl++].fault_id = ids[i];
		}
	}
	if (tracer > 0 && run_trace_stop(tracer, out_dir, err, sizeof(err))) {
		run_error(&rerr, "trace: %s", err);
		traces[0] = '\0';
	}
	tracer = -1;
	/* loadgen exits 0 or 1 (its own SLO) with a full ledger; 2 is an error. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fl_err("loadgen failed (%s %d); see %s/loadgen.log",
		       WIFEXITED(status) ? "exit" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), out_dir);
		goto out;
	}
	usleep(600 * 1000); /* two agent ticks: the event log is flushed */
	snprintf(run_events, sizeof(run_events), "%s/events.ndjson.gz", out_dir);
	if (extract_events(events, run_events, ids, sc.nfaults, start_wall, err, sizeof(err))) {
		fl_err("%s", err);
		goto out;
	}

	{
		char ledger[PATH_MAX + 32];
		const char *ledgers[] = {ledger}, *receipts[] = {sc.receipts},
			   *evs[] = {run_events}, *trs[] = {traces};
		const char *phases[SC_MAX_PHASES];
		struct rc_inputs in = {
		    .ledgers = ledgers,
		    .n_ledgers = 1,
		    .receipts = receipts,
		    .n_receipts = 1,
		    .events = evs,
		    .n_events = 1,
		    .objectives = sc.objectives,
		    .phases = phases,
		    .n_phases = sc.nphases,
		    .out_dir = out_dir,
		    .title = sc.name,
		    .declared = decl,
		    .n_declared = n_decl,
		    .run_errors = rerr.p,
		    .mix = sc.load.mix[0] ? sc.load.mix : NULL,
		    .n_run_errors = rerr.n,
		    .traces = trs,
		    .n_traces = traces[0] ? 1 : 0,
		};

		snprintf(ledger, sizeof(ledger), "%s/ledger.bin.gz", out_dir);
		for (int i = 0; i < sc.nphases; i++)
			phases[i] = sc.phases[i].name;
		ret = reconcile(&in, &res, err, sizeof(err));
		if (ret < 0) {
			fl_err("reconcile: %s", err);
			ret = 2;
			goto out;
		}
		rc_print_summary(&res, out_dir, stdout);
		if (rerr.n)
			ret = 2; /* the run was not the scenario: no verdict stands */
	}
out:
	if (tracer > 0)
		run_trace_stop(tracer, out_dir, err, sizeof(err));
	rc_result_free(&res);
	scenario_free(&sc);
	return ret;
}
