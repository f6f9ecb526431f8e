// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agentctl reconcile: the reconciliation stage alone, on files. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "parse.h"
#include "reconcile.h"

#define MAX_FILES 256

enum { RC_EXIT_PASS = 0, RC_EXIT_FAIL = 1, RC_EXIT_ERROR = 2 };

static const char usage[] =
    "Usage: agentctl reconcile --ledger FILE [--ledger FILE...] --receipts SPEC [...]\n"
    "                          [--events FILE...] [--objectives FILE] [--phases A,B,...]\n"
    "                          [--effects FILE] [--mix FILE] [--out DIR] [--slack DURATION] "
    "[--max-ids N]\n"
    "                          [--title T] [--json] [--traces FILE...] [--trace-top N]\n"
    "Join loadgen ledgers, the service's receipts and agentd event logs; give a verdict.\n"
    "  SPEC: nginx:PATH (log_format faultline '$msec $http_x_request_id $status "
    "$request_time'),\n"
    "        ndjson:PATH ({\"id\":...,\"status\":...,\"ts\":...,\"key\":...} per line) or an "
    "http(s) URL\n"
    "  --objectives FILE  JSON object (docs/scenarios.md, \"objectives\"); default: no "
    "missing,\n"
    "                     duplicates, ghosts or unexplained failures\n"
    "  --phases A,B       names of ledger phases 0, 1, ... (for latency objectives)\n"
    "  --effects FILE     {\"FAULT_ID\": {\"statuses\": [504], \"errors\": [\"timeout\"], "
    "\"grace\": "
    "\"2s\"}}:\n"
    "                     failures a fault is declared to cause (weaker evidence)\n"
    "  --mix FILE         loadgen's mix file: entries' \"value\" sums to the value at risk\n"
    "  --out DIR          writes report.json, report.md, report.html and the id lists\n"
    "  --slack DURATION   time around a request within which a fault event explains it (200ms)\n"
    "  --traces FILE      records of agentctl trace requests: each request's kernel stages\n"
    "  --trace-top N      the slowest N requests in full in the traces section (20)\n"
    "Exit status: 0 pass, 1 fail, 2 error.\n";

static int rc_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "agentctl reconcile: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see agentctl reconcile --help)\n");
	return RC_EXIT_ERROR;
}

static int add(const char **v, size_t *n, const char *s, const char *what)
{
	if (*n >= MAX_FILES) {
		fprintf(stderr, "agentctl reconcile: more than %d %s\n", MAX_FILES, what);
		return -E2BIG;
	}
	v[(*n)++] = s;
	return 0;
}

int cmd_reconcile(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ledger", required_argument, NULL, 'l'},  {"receipts", required_argument, NULL, 'r'},
	    {"events", required_argument, NULL, 'e'},  {"objectives", required_argument, NULL, 'o'},
	    {"phases", required_argument, NULL, 'p'},  {"out", required_argument, NULL, 'O'},
	    {"slack", required_argument, NULL, 's'},   {"max-ids", required_argument, NULL, 'm'},
	    {"title", required_argument, NULL, 't'},   {"json", no_argument, NULL, 'j'},
	    {"effects", required_argument, NULL, 'E'}, {"mix", required_argument, NULL, 'x'},
	    {"traces", required_argument, NULL, 'T'},  {"trace-top", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	const char *ledgers[MAX_FILES], *receipts[MAX_FILES], *events[MAX_FILES], *phases[256];
	const char *traces[MAX_FILES];
	struct rc_inputs in = {.ledgers = ledgers,
			       .receipts = receipts,
			       .events = events,
			       .phases = phases,
			       .traces = traces};
	struct rc_result res;
	char err[512], *phase_buf = NULL;
	json_t *obj = NULL;
	struct rc_declared *decl = NULL;
	bool json_out = false;
	int c, ret = RC_EXIT_ERROR;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (add(ledgers, &in.n_ledgers, optarg, "ledgers"))
				goto out;
			break;
		case 'r':
			if (add(receipts, &in.n_receipts, optarg, "receipts"))
				goto out;
			break;
		case 'e':
			if (add(events, &in.n_events, optarg, "event logs"))
				goto out;
			break;
		case 'o': {
			json_error_t jerr;

			json_decref(obj);
			obj = json_load_file(optarg, JSON_REJECT_DUPLICATES, &jerr);
			if (!obj) {
				fprintf(
				    stderr,
				    "agentctl reconcile: cannot read objectives %s: %s (line %d)\n",
				    optarg, jerr.text, jerr.line);
				goto out;
			}
			break;
		}
		case 'p': {
			char *s, *save = NULL;

			free(phase_buf);
			phase_buf = strdup(optarg);
			if (!phase_buf)
				goto out;
			in.n_phases = 0;
			for (s = strtok_r(phase_buf, ",", &save); s;
			     s = strtok_r(NULL, ",", &save)) {
				if (in.n_phases >= 256) {
					ret = rc_usage("--phases: more than 256 phases%s", "");
					goto out;
				}
				phases[in.n_phases++] = s;
			}
			break;
		}
		case 'O':
			in.out_dir = optarg;
			break;
		case 'T':
			if (add(traces, &in.n_traces, optarg, "trace files"))
				goto out;
			break;
		case 'N': {
			uint64_t v;

			if (parse_u64(optarg, &v, false) || v > 100000) {
				ret =
				    rc_usage("--trace-top: bad number '%s' (0 .. 100000)", optarg);
				goto out;
			}
			in.trace_top = (unsigned)v;
			in.trace_top_set = true;
			break;
		}
		case 'x':
			in.mix = optarg;
			break;
		case 'E':
			free(decl);
			if (rc_declared_load(optarg, &decl, &in.n_declared, err, sizeof(err))) {
				fprintf(stderr, "agentctl reconcile: --effects: %s\n", err);
				goto out;
			}
			in.declared = decl;
			break;
		case 's':
			if (parse_duration_ns(optarg, &in.slack_ns) || !in.slack_ns) {
				ret =
				    rc_usage("--slack: bad duration '%s' (e.g. 200ms, 1s)", optarg);
				goto out;
			}
			break;
		case 'm': {
			uint64_t v;

			if (parse_u64(optarg, &v, true) || !v || v > 10000000) {
				ret = rc_usage("--max-ids: bad number '%s' (1 .. 10M)", optarg);
				goto out;
			}
			in.max_ids = (unsigned)v;
			break;
		}
		case 't':
			in.title = optarg;
			break;
		case 'j':
			json_out = true;
			break;
		case 'h':
			fputs(usage, stdout);
			ret = RC_EXIT_PASS;
			goto out;
		default:
			ret = rc_usage("unknown or incomplete option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		ret = rc_usage("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!in.n_ledgers) {
		ret = rc_usage("no --ledger given%s", "");
		goto out;
	}
	if (!in.n_receipts) {
		ret = rc_usage("no --receipts given%s", "");
		goto out;
	}
	in.objectives = obj;
	c = reconcile(&in, &res, err, sizeof(err));
	if (c < 0) {
		fprintf(stderr, "agentctl reconcile: %s\n", err);
		rc_result_free(&res);
		ret = RC_EXIT_ERROR;
		goto out;
	}
	if (json_out) {
		json_t *j = rc_report_json(&res);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		putchar('\n');
		json_decref(j);
	} else {
		rc_print_summary(&res, in.out_dir, stdout);
	}
	rc_result_free(&res);
	ret = c == 0 ? RC_EXIT_PASS : RC_EXIT_FAIL;
out:
	json_decref(obj);
	free(decl);
	free(phase_buf);
	return ret;
}
