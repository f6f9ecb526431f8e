// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* loadgen: an HTTP load generator with open and closed models and a ledger
 * of every request. See docs/loadgen.1. Exit: 0 pass, 1 SLO broken, 2 error. */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>
#include "log.h"
#include "parse.h"
#include "lg_report.h"
#include "lg_run.h"

#define EXIT_PASS	  0
#define EXIT_SLO	  1
#define EXIT_ERROR	  2
#define MAX_HDRS	  64
#define DEFAULT_MAX_CONNS 1024 /* the open model's pool ceiling without --max-connections */

static struct lg_run *the_run;

static void on_signal(int sig)
{
	(void)sig;
	if (the_run)
		run_stop(the_run);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: loadgen URL [-c CONNS] [-t THREADS] [--rate R [--arrival uniform|poisson] | "
	    "--users N [--think D]]\n"
	    "               [--duration D | --requests N] [--profile SPEC] [--mix FILE] [-H "
	    "HEADER]... [-X METHOD]\n"
	    "               [--body FILE] [--timeout D] [--ledger FILE] [--interval-log FILE] "
	    "[--json FILE]\n"
	    "               [--slo 'p99<200ms,error_rate<0.1%%'] [--id-header NAME] [--engine "
	    "fast|curl]\n"
	    "               [--run-id HEX] [--instance N] [--max-connections N] [--model "
	    "open|wrk2] "
	    "[-k] [-q]\n"
	    "       loadgen --dump-ledger FILE | --verify-ledger FILE | --merge SUMMARY.json...\n"
	    "profiles: constant | ramp:from=R,to=R,over=D (or ramp:R->R:D) | "
	    "step:from=R,by=R,every=D[,steps=N]\n"
	    "          spike:base=R,factor=F,at=D,for=D | soak[:rate=R] | "
	    "stress:from=R,by=R,every=D (needs --slo)\n"
	    "exit: 0 pass, 1 SLO broken, 2 error. man loadgen for the rest.\n");
}

enum {
	OPT_RATE = 256,
	OPT_ARRIVAL,
	OPT_USERS,
	OPT_THINK,
	OPT_DURATION,
	OPT_REQUESTS,
	OPT_PROFILE,
	OPT_MIX,
	OPT_BODY,
	OPT_TIMEOUT,
	OPT_LEDGER,
	OPT_JSON,
	OPT_SLO,
	OPT_ID_HEADER,
	OPT_ENGINE,
	OPT_RUN_ID,
	OPT_INSTANCE,
	OPT_IVAL,
	OPT_DUMP,
	OPT_VERIFY,
	OPT_BENCH_HIST,
	OPT_PROGRESS,
	OPT_MERGE,
	OPT_MAX_CONNS,
	OPT_MODEL,
};

static const struct option opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"header", required_argument, NULL, 'H'},
    {"method", required_argument, NULL, 'X'},
    {"insecure", no_argument, NULL, 'k'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"rate", required_argument, NULL, OPT_RATE},
    {"arrival", required_argument, NULL, OPT_ARRIVAL},
    {"users", required_argument, NULL, OPT_USERS},
    {"think", required_argument, NULL, OPT_THINK},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"mix", required_argument, NULL, OPT_MIX},
    {"body", required_argument, NULL, OPT_BODY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"ledger", required_argument, NULL, OPT_LEDGER},
    {"interval-log", required_argument, NULL, OPT_IVAL},
    {"json", required_argument, NULL, OPT_JSON},
    {"slo", required_argument, NULL, OPT_SLO},
    {"id-header", required_argument, NULL, OPT_ID_HEADER},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"run-id", required_argument, NULL, OPT_RUN_ID},
    {"instance", required_argument, NULL, OPT_INSTANCE},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"dump-ledger", required_argument, NULL, OPT_DUMP},
    {"verify-ledger", required_argument, NULL, OPT_VERIFY},
    {"bench-hist", no_argument, NULL, OPT_BENCH_HIST},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
    {"model", required_argument, NULL, OPT_MODEL},
    {NULL, 0, NULL, 0},
};

static int parse_count(const char *opt, const char *v, uint64_t max, uint64_t *out)
{
	if (parse_u64(v, out, true) || *out == 0 || *out > max) {
		fl_err("bad %s '%s': expected a whole number from 1 to %llu", opt, v,
		       (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

static int parse_dur(const char *opt, const char *v, bool allow_zero, uint64_t *out)
{
	if (parse_duration_ns(v, out) || (!allow_zero && *out == 0)) {
		fl_err("bad %s '%s': expected a duration such as 250ms, 10s, 5m%s", opt, v,
		       allow_zero ? "" : " (above 0)");
		return -EINVAL;
	}
	return 0;
}

/* "-" when unknown (family 0, or a version-1 ledger) */
static void addr_text(unsigned family, const __u8 *a, char *buf, size_t len)
{
	if ((family != AF_INET && family != AF_INET6) ||
	    !inet_ntop((int)family, a, buf, (socklen_t)len))
		snprintf(buf, len, "-");
}

static int dump_ledger(const char *path, bool verify_only)
{
	struct fl_ledger_reader *r;
	struct fl_ledger_hdr h;
	struct fl_ledger_rec rec;
	uint64_t n = 0, max_seq = 0, counts[FL_OUT_MAX];
	char id[FL_REQ_ID_LEN], msg[256], la[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN];
	int err;

	err = fl_ledger_open(path, &r, &h);
	if (err) {
		fl_err("cannot read ledger %s: %s", path,
		       err == -EPROTO ? "not a loadgen ledger (or another version)"
				      : strerror(-err));
		return EXIT_ERROR;
	}
	if (!verify_only)
		printf(
		    "# id\tphase\tsched_wall_ns\tsched_ns\tsent_ns\tdone_ns\tlatency_ns\toutcome\t"
		    "status\terr\tlocal_port\tconn\tbytes_out\tbytes_in\tmix\tflags\tsock_"
		    "cookie\tlocal_addr\tpeer_addr\tpeer_port\n");
	while ((err = fl_ledger_next(r, &rec)) == 1) {
		n++;
		if (rec.seq + 1 > max_seq)
			max_seq = rec.seq + 1;
		if (verify_only)
			continue;
		fl_req_id_format(id, sizeof(id), rec.run_id, rec.instance, rec.seq);
		addr_text(rec.family, rec.local_addr, la, sizeof(la));
		addr_text(rec.family, rec.peer_addr, pa, sizeof(pa));
		printf("%s\t%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\t%u\t%d\t%u\t%u\t%u\t%u\t%u\t%u\t%"
		       "llu\t%s\t%s\t%u\n",
		       id, rec.phase, (unsigned long long)rec.sched_wall_ns,
		       (unsigned long long)rec.sched_ns, (unsigned long long)rec.sent_ns,
		       (unsigned long long)rec.done_ns, (unsigned long long)rec.latency_ns,
		       fl_outcome_name(rec.outcome), rec.status, rec.err, rec.local_port, rec.conn,
		       rec.bytes_out, rec.bytes_in, rec.mix, rec.flags,
		       (unsigned long long)rec.sock_cookie, la, pa, rec.peer_port);
	}
	fl_ledger_close(r);
	if (err < 0) {
		fl_err("ledger %s is truncated or corrupt after %llu records", path,
		       (unsigned long long)n);
		return EXIT_ERROR;
	}
	if (!verify_only)
		return fflush(stdout) ? EXIT_ERROR : EXIT_PASS;
	err = ledger_verify(path, max_seq, counts, msg, sizeof(msg));
	printf("%s: %llu records; %s\n", path, (unsigned long long)n, msg);
	return err ? EXIT_ERROR : EXIT_PASS;
}

static void bench_hist(void)
{
	struct hist *h = hist_new();
	uint64_t t0, t1, n = 100000000, x = 88172645463325252ULL, i;

	if (!h)
		return;
	t0 = now_mono_ns();
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		hist_record(h, (x & 0xfffff) + 20000);
	}
	t1 = now_mono_ns();
	printf("hist_record: %.2f ns per value (%llu values, includes a xorshift)\n",
	       (double)(t1 - t0) / n, (unsigned long long)h->total);
	hist_free(h);
}

/* Every connection is a descriptor: raise the soft limit if need be. The
 * default pool ceiling (*conns, not given by the user) shrinks to fit. */
static int fd_budget(unsigned *conns, unsigned floor, bool given)
{
	struct rlimit rl;
	rlim_t need;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (!given && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)*conns + 64)
		*conns = rl.rlim_max > (rlim_t)floor + 64 ? (unsigned)(rl.rlim_max - 64) : floor;
	need = (rlim_t)*conns + 64;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fl_err("%u connections need %llu open files, the hard limit is %llu (raise ulimit "
		       "-n)",
		       *conns, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fl_err("%u connections need %llu open files: %s (raise ulimit -n)", *conns,
		       (unsigned long long)need, strerror(errno));
		return -errno;
	}
	return 0;
}

static int resolve(struct lg_config *c)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc;

	rc = getaddrinfo(c->url.host, c->url.port, &hints, &res);
	if (rc) {
		fl_err("cannot resolve '%s': %s", c->url.host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	c->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int main(int argc, char **argv)
{
	static struct lg_config cfg;
	static struct lg_run run;
	const char *hdrs[MAX_HDRS];
	struct req_opts ro = {.id_header = "X-Request-Id"};
	const char *profile = NULL, *engine = NULL, *slo = NULL;
	double rate = 0;
	bool have_conns = false, have_threads = false, force_progress = false;
	bool have_max = false, wrk2 = false;
	uint64_t v;
	char why[512], ival_buf[4096];
	struct lg_summary sum;
	int opt, err, rc = EXIT_ERROR;

	fl_prog = "loadgen";
	cfg.conns = 32;
	cfg.timeout_ns = 10000000000ULL;
	cfg.arrival = ARRIVAL_UNIFORM;
	cfg.progress = isatty(STDOUT_FILENO) ? PROGRESS_TTY : PROGRESS_LINES;
	ro.hdrs = hdrs;
	while ((opt = getopt_long(argc, argv, "c:t:H:X:kqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_count("-c", optarg, 100000, &v))
				return EXIT_ERROR;
			cfg.conns = (unsigned)v;
			have_conns = true;
			break;
		case 't':
			if (parse_count("-t", optarg, 1024, &v))
				return EXIT_ERROR;
			cfg.threads = (unsigned)v;
			have_threads = true;
			break;
		case 'H':
			if (ro.nhdrs == MAX_HDRS) {
				fl_err("too many -H headers (at most %d)", MAX_HDRS);
				return EXIT_ERROR;
			}
			hdrs[ro.nhdrs++] = optarg;
			break;
		case 'X':
			ro.method = optarg;
			break;
		case 'k':
			cfg.insecure = true;
			break;
		case 'q':
			cfg.progress = PROGRESS_NONE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_PASS;
		case OPT_RATE: {
			char *end;

			errno = 0;
			rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(rate) || rate <= 0 ||
			    rate > 1e8) {
				fl_err("bad --rate '%s': expected requests per second above 0",
				       optarg);
				return EXIT_ERROR;
			}
			break;
		}
		case OPT_ARRIVAL:
			if (!strcmp(optarg, "uniform")) {
				cfg.arrival = ARRIVAL_UNIFORM;
			} else if (!strcmp(optarg, "poisson")) {
				cfg.arrival = ARRIVAL_POISSON;
			} else {
				fl_err("bad --arrival '%s': uniform or poisson", optarg);
				return EXIT_ERROR;
			}
			break;
		case OPT_USERS:
			if (parse_count("--users", optarg, 100000, &v))
				return EXIT_ERROR;
			cfg.users = (unsigned)v;
			break;
		case OPT_THINK:
			if (parse_dur("--think", optarg, true, &cfg.think_ns))
				return EXIT_ERROR;
			break;
		case OPT_DURATION:
			if (parse_dur("--duration", optarg, false, &cfg.duration_ns))
				return EXIT_ERROR;
			break;
		case OPT_REQUESTS:
			if (parse_count("--requests", optarg, UINT64_MAX / 2, &cfg.requests))
				return EXIT_ERROR;
			break;
		case OPT_PROFILE:
			profile = optarg;
			break;
		case OPT_MIX:
			ro.mix_file = optarg;
			break;
		case OPT_BODY:
			ro.body_file = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_dur("--timeout", optarg, false, &cfg.timeout_ns))
				return EXIT_ERROR;
			break;
		case OPT_LEDGER:
			cfg.ledger_path = optarg;
			break;
		case OPT_IVAL:
			cfg.interval_path = optarg;
			break;
		case OPT_JSON:
			cfg.json_path = optarg;
			break;
		case OPT_SLO:
			slo = optarg;
			break;
		case OPT_ID_HEADER:
			ro.id_header = optarg;
			break;
		case OPT_ENGINE:
			engine = optarg;
			break;
		case OPT_RUN_ID: {
			char *end;

			errno = 0;
			cfg.run_id = strtoull(optarg, &end, 16);
			if (errno || end == optarg || *end || strlen(optarg) > 16 ||
			    *optarg == '-' || *optarg == '+') {
				fl_err("bad --run-id '%s': expected up to 16 hex digits", optarg);
				return EXIT_ERROR;
			}
			break;
		}
		case OPT_INSTANCE:
			if (parse_u64(optarg, &v, false) || v > UINT32_MAX) {
				fl_err("bad --instance '%s': expected 0..4294967295", optarg);
				return EXIT_ERROR;
			}
			cfg.instance = (uint32_t)v;
			break;
		case OPT_PROGRESS:
			force_progress = true;
			break;
		case OPT_DUMP:
			return dump_ledger(optarg, false);
		case OPT_VERIFY:
			return dump_ledger(optarg, true);
		case OPT_BENCH_HIST:
			bench_hist();
			return EXIT_PASS;
		case OPT_MAX_CONNS:
			if (parse_count("--max-connections", optarg, 100000, &v))
				return EXIT_ERROR;
			cfg.max_conns = (unsigned)v;
			have_max = true;
			break;
		case OPT_MODEL:
			if (!strcmp(optarg, "wrk2")) {
				wrk2 = true;
			} else if (strcmp(optarg, "open")) {
				fl_err(
				    "bad --model '%s': open (a population of clients, the default) "
				    "or wrk2 (a fixed pool of -c connections that requests queue "
				    "for)",
				    optarg);
				return EXIT_ERROR;
			}
			break;
		case OPT_MERGE:
			if (optind >= argc) {
				fl_err("--merge needs the --json summaries to merge");
				return EXIT_ERROR;
			}
			return report_merge(argv + optind, argc - optind) ? EXIT_ERROR : EXIT_PASS;
		default:
			fprintf(stderr, "loadgen: bad option; loadgen --help for usage\n");
			return EXIT_ERROR;
		}
	}
	if (optind != argc - 1) {
		fl_err(optind == argc ? "no URL given (e.g. loadgen http://127.0.0.1:8080/ -d 10s)"
				      : "one URL only; unexpected '%s'",
		       argv[optind + 1 < argc ? optind + 1 : optind]);
		return EXIT_ERROR;
	}
	cfg.url_text = argv[optind];
	if (url_parse(cfg.url_text, &cfg.url, why, sizeof(why))) {
		fl_err("%s", why);
		return EXIT_ERROR;
	}
	if (force_progress && cfg.progress == PROGRESS_NONE)
		cfg.progress = PROGRESS_LINES;
	/* the model */
	if (rate && cfg.users) {
		fl_err("--rate (open model) and --users (closed model) exclude each other");
		return EXIT_ERROR;
	}
	if (cfg.think_ns && !cfg.users) {
		fl_err("--think needs --users (the closed model)");
		return EXIT_ERROR;
	}
	if (profile && cfg.users) {
		fl_err("--profile sets the rate of the open model; it does not go with --users");
		return EXIT_ERROR;
	}
	if (profile) {
		if (profile_parse(profile, rate, &cfg.prof, why, sizeof(why))) {
			fl_err("%s", why);
			return EXIT_ERROR;
		}
		cfg.open = true;
	} else if (rate) {
		cfg.prof.kind = PROF_CONSTANT;
		cfg.prof.rate = rate;
		cfg.open = true;
	}
	if (cfg.users) {
		if (have_conns && cfg.conns != cfg.users) {
			fl_err("--users N opens N connections; -c %u disagrees", cfg.conns);
			return EXIT_ERROR;
		}
		cfg.conns = cfg.users;
	}
	if (wrk2 && !cfg.open) {
		fl_err("--model wrk2 is a way of running the open model: give --rate or --profile");
		return EXIT_ERROR;
	}
	if (have_max && (!cfg.open || wrk2)) {
		fl_err("--max-connections is the ceiling of the open model's growing pool; %s",
		       wrk2 ? "--model wrk2 keeps the -c connections it starts with"
			    : "the closed model keeps its -c connections (or --users)");
		return EXIT_ERROR;
	}
	cfg.fixed_pool = wrk2;
	if (cfg.open && !wrk2) {
		if (!have_max)
			cfg.max_conns =
			    cfg.conns > DEFAULT_MAX_CONNS ? cfg.conns : DEFAULT_MAX_CONNS;
		if (cfg.max_conns < cfg.conns) {
			fl_err("--max-connections %u is below -c %u (the pool it starts with)",
			       cfg.max_conns, cfg.conns);
			return EXIT_ERROR;
		}
	} else {
		cfg.max_conns = cfg.conns;
	}
	if (!have_threads)
		cfg.threads = cfg.conns < 2 ? 1 : 2;
	if (cfg.threads > cfg.conns) {
		fl_err("-t %u is more threads than connections (%u)", cfg.threads, cfg.conns);
		return EXIT_ERROR;
	}
	if (!cfg.duration_ns && !cfg.requests)
		cfg.duration_ns = cfg.prof.kind == PROF_SOAK ? 3600000000000ULL : 10000000000ULL;
	if (slo) {
		if (slo_parse(slo, &cfg.slo, why, sizeof(why))) {
			fl_err("%s", why);
			return EXIT_ERROR;
		}
		cfg.have_slo = true;
	}
	if (cfg.prof.kind == PROF_STRESS && !cfg.have_slo) {
		fl_err("profile stress runs until the SLO breaks: give --slo (e.g. 'p99<100ms')");
		return EXIT_ERROR;
	}
	if (!engine) {
		cfg.engine = cfg.url.https ? ENGINE_CURL : ENGINE_FAST;
	} else if (!strcmp(engine, "fast")) {
		if (cfg.url.https) {
			fl_err(
			    "the fast engine speaks plain http://; use --engine curl for https://");
			return EXIT_ERROR;
		}
		cfg.engine = ENGINE_FAST;
	} else if (!strcmp(engine, "curl")) {
		cfg.engine = ENGINE_CURL;
	} else {
		fl_err("bad --engine '%s': fast or curl", engine);
		return EXIT_ERROR;
	}
	if (!cfg.run_id) {
		while (!cfg.run_id)
			if (getrandom(&cfg.run_id, sizeof(cfg.run_id), 0) != sizeof(cfg.run_id))
				cfg.run_id = now_wall_ns() ^ ((uint64_t)getpid() << 32);
	}
	if (cfg.ledger_path && !cfg.interval_path) {
		snprintf(ival_buf, sizeof(ival_buf), "%s.intervals.jsonl", cfg.ledger_path);
		cfg.interval_path = ival_buf;
	}
	if (reqs_build(&cfg.reqs, &cfg.url, &ro, why, sizeof(why))) {
		fl_err("%s", why);
		return EXIT_ERROR;
	}
	if (resolve(&cfg) || fd_budget(&cfg.max_conns, cfg.conns, have_max))
		goto cleanup;
	if (cfg.json_path) {
		/* find out now, not after the run, that the summary has nowhere to go */
		FILE *f = fopen(cfg.json_path, "w");

		if (!f) {
			fl_err("cannot write JSON summary %s: %s", cfg.json_path, strerror(errno));
			goto cleanup;
		}
		fclose(f);
	}
	signal(SIGPIPE, SIG_IGN);
	err = run_init(&run, &cfg);
	if (err) {
		fl_err("cannot set up the run: %s", strerror(-err));
		goto cleanup;
	}
	the_run = &run;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	err = run_exec(&run);
	if (err && !run.end_mono) {
		/* nothing ran: the reason is on stderr already */
		rc = EXIT_ERROR;
		goto done;
	}
	if (cfg.ledger_path && !err) {
		uint64_t counts[FL_OUT_MAX], n = 0;
		unsigned k;

		for (k = 0; k < FL_OUT_MAX; k++)
			n += run.cnt.out[k];
		run.ledger_check = ledger_verify(cfg.ledger_path, n, counts, run.ledger_msg,
						 sizeof(run.ledger_msg));
		for (k = 0; k < FL_OUT_MAX && !run.ledger_check; k++) {
			if (counts[k] != run.cnt.out[k]) {
				snprintf(run.ledger_msg, sizeof(run.ledger_msg),
					 "conservation BROKEN: %llu '%s' records, %llu counted",
					 (unsigned long long)counts[k], fl_outcome_name(k),
					 (unsigned long long)run.cnt.out[k]);
				run.ledger_check = 1;
			}
		}
	}
	summary_compute(&run, &sum);
	report_text(&run, &sum);
	if (cfg.json_path && report_json(&run, &sum, cfg.json_path) && !err)
		err = -EIO;
	if (err || run.ledger_check) {
		if (run.ledger_check)
			fl_err("%s", run.ledger_msg);
		rc = EXIT_ERROR;
	} else {
		rc = sum.slo_pass ? EXIT_PASS : EXIT_SLO;
	}
done:
	the_run = NULL;
	run_free(&run);
cleanup:
	reqs_free(&cfg.reqs);
	return rc;
}
