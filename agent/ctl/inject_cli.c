// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agentctl inject: the command line of every fault kind, into the control
 * protocol's fault object (docs/protocol.md), checked here as the agent
 * will check it, then sent. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "ctl.h"
#include "inject_cli.h"
#include "log.h"
#include "parse.h"
#include "proto.h"

/* Which kinds take which inject option: NULL when kind takes option c,
 * else what the option is for (strict: a kill refuses --dport). */
static const char *opt_not_for(int c, const char *kind)
{
	bool proc = !strcmp(kind, "kill") || !strcmp(kind, "pause") || !strcmp(kind, "cpu");
	bool err = !strcmp(kind, "errno"), lat = !strcmp(kind, "syscall-latency");
	bool net_lat = !strcmp(kind, "latency");

	if (c == 'M' && strcmp(kind, "drop"))
		return "for drop only";
	if (c == 'K' && !net_lat && strcmp(kind, "drop"))
		return "for drop and latency only";
	if (strchr("XRQ", c) && !net_lat)
		return "for latency (packets) only";
	if (net_lat) {
		if (strchr("Cea", c))
			return "for errno and syscall-latency only";
		if (strchr("ioc", c))
			return "for process faults (kill, pause, cpu, errno, syscall-latency)";
		if (strchr("gq", c))
			return "for kill or cpu only";
		return NULL;
	}
	if (err || lat) {
		if (strchr("dnIEsSF", c) || (lat && strchr("pDP", c)))
			return "not for calls (a call has one address: --dst, --dport)";
		if ((c == 'e' && !err) || (strchr("lJ", c) && !lat))
			return c == 'e' ? "for errno only" : "for syscall-latency only";
		if (strchr("gq", c))
			return "for kill or cpu only";
		return NULL;
	}
	if (strchr("CelJa", c))
		return "for errno and syscall-latency only";
	if (strchr("dnIEpsDSPrF", c) && proc)
		return "for packet faults (drop), not processes";
	if (strchr("ioc", c) && !proc)
		return "for process faults (kill, pause, cpu, errno, syscall-latency)";
	if (c == 'g' && strcmp(kind, "kill"))
		return "for kill only";
	if (c == 'q' && strcmp(kind, "cpu"))
		return "for cpu only";
	return NULL;
}

int cmd_inject(const char *sock, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dev", required_argument, NULL, 'd'},
	    {"netns", required_argument, NULL, 'n'},
	    {"ingress", no_argument, NULL, 'I'},
	    {"egress", no_argument, NULL, 'E'},
	    {"proto", required_argument, NULL, 'p'},
	    {"src", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'D'},
	    {"sport", required_argument, NULL, 'S'},
	    {"dport", required_argument, NULL, 'P'},
	    {"prob", required_argument, NULL, 'r'},
	    {"for", required_argument, NULL, 'f'},
	    {"name", required_argument, NULL, 'N'},
	    {"backend", required_argument, NULL, 'b'},
	    {"force", no_argument, NULL, 'F'},
	    {"dry-run", no_argument, NULL, 'y'},
	    {"json", no_argument, NULL, 'j'},
	    {"pid", required_argument, NULL, 'i'},
	    {"comm", required_argument, NULL, 'o'},
	    {"cgroup", required_argument, NULL, 'c'},
	    {"signal", required_argument, NULL, 'g'},
	    {"quota", required_argument, NULL, 'q'},
	    {"syscall", required_argument, NULL, 'C'},
	    {"errno", required_argument, NULL, 'e'},
	    {"delay", required_argument, NULL, 'l'},
	    {"jitter", required_argument, NULL, 'J'},
	    {"path", required_argument, NULL, 'a'},
	    {"distribution", required_argument, NULL, 'X'},
	    {"correlation", required_argument, NULL, 'K'},
	    {"per", required_argument, NULL, 'R'},
	    {"queue-len", required_argument, NULL, 'Q'},
	    {"model", required_argument, NULL, 'M'},
	    {},
	};
	json_t *fault, *target, *params, *req, *r = NULL;
	const char *kind;
	uint64_t pid, qlen;
	int li = 0;
	struct fl_fault_spec spec;
	bool seen[256] = {};
	char err[512];
	int c, ret, dry_run = 0, json_out = 0;

	if (argc < 2 || argv[1][0] == '-')
		return ctl_usage_error(
		    "inject needs a fault kind: drop, latency, kill, pause, cpu, errno, "
		    "syscall-latency");
	kind = argv[1];
	fault = json_pack("{s:s}", "kind", kind);
	target = json_object();
	params = json_object();
	json_object_set_new(fault, "target", target);
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		const char *key = NULL, *not_for = opt_not_for(c, kind);
		json_t *obj = target;

		if (not_for) {
			json_decref(fault);
			json_decref(params);
			return ctl_usage_error("inject %s: --%s is %s", kind, longopts[li].name,
					       not_for);
		}
		/* "Last one wins" would hide a typo in a long command line. */
		if (c > 0 && c < 256 && c != '?' && seen[c]) {
			const struct option *o = longopts;

			while (o->name && o->val != c)
				o++;
			json_decref(fault);
			json_decref(params);
			return ctl_usage_error("inject: --%s given twice", o->name ?: "?");
		}
		if (c > 0 && c < 256)
			seen[c] = true;
		switch (c) {
		case 'd':
			key = "dev";
			break;
		case 'n':
			key = "netns";
			break;
		case 'I':
		case 'E':
			if (json_object_get(target, "direction")) {
				json_decref(fault);
				json_decref(params);
				return ctl_usage_error("inject: give --ingress or --egress, once");
			}
			json_object_set_new(target, "direction",
					    json_string(c == 'I' ? "ingress" : "egress"));
			break;
		case 'p':
			key = "proto";
			break;
		case 's':
			key = "src";
			break;
		case 'D':
			key = "dst";
			break;
		case 'S':
			key = "sport";
			break;
		case 'P':
			key = "dport";
			break;
		case 'r':
			key = "prob";
			obj = params;
			break;
		case 'f':
			key = "duration";
			obj = fault;
			break;
		case 'N':
			key = "name";
			obj = fault;
			break;
		case 'b':
			key = "backend";
			obj = fault;
			break;
		case 'F':
			json_object_set_new(fault, "force", json_true());
			break;
		case 'y':
			dry_run = 1;
			break;
		case 'j':
			json_out = 1;
			break;
		case 'i':
			if (parse_u64(optarg, &pid, false) || !pid || pid > INT32_MAX) {
				json_decref(fault);
				json_decref(params);
				return ctl_usage_error("inject: --pid '%s' is not a process id",
						       optarg);
			}
			json_object_set_new(target, "pid", json_integer((json_int_t)pid));
			break;
		case 'o':
			key = "comm";
			break;
		case 'c':
			key = "cgroup";
			break;
		case 'g':
			key = "signal";
			obj = params;
			break;
		case 'q':
			key = "quota";
			obj = params;
			break;
		case 'C':
			key = "syscall";
			obj = params;
			break;
		case 'e':
			key = "errno";
			obj = params;
			break;
		case 'l':
			key = "delay";
			obj = params;
			break;
		case 'J':
			key = "jitter";
			obj = params;
			break;
		case 'a':
			key = "path";
			break;
		case 'X':
		case 'K':
		case 'R':
		case 'M':
			key = c == 'X'	 ? "distribution"
			      : c == 'K' ? "correlation"
			      : c == 'M' ? "model"
					 : "per";
			obj = params;
			break;
		case 'Q':
			if (parse_u64(optarg, &qlen, true) || qlen > INT32_MAX) {
				json_decref(fault);
				json_decref(params);
				return ctl_usage_error(
				    "inject: --queue-len '%s' is not a number of "
				    "packets",
				    optarg);
			}
			json_object_set_new(params, "queue_len", json_integer((json_int_t)qlen));
			break;
		default:
			json_decref(fault);
			json_decref(params);
			return ctl_usage_error("inject: unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
		if (key)
			json_object_set_new(obj, key, json_string(optarg));
	}
	if (optind < argc) {
		json_decref(fault);
		json_decref(params);
		return ctl_usage_error("inject: unexpected argument '%s'", argv[optind]);
	}
	if (json_object_size(params))
		json_object_set(fault, "params", params);
	json_decref(params);
	/* The agent checks again; checking here gives the same words sooner. */
	if (fault_spec_from_json(fault, &spec, err, sizeof(err))) {
		json_decref(fault);
		fl_err("%s", err);
		return EXIT_USAGE;
	}
	if (*spec.sys.warning)
		fl_err("warning: %s", spec.sys.warning);
	req = json_pack("{s:s,s:o}", "cmd", "inject", "fault", fault);
	if (dry_run)
		json_object_set_new(req, "dry_run", json_true());
	ret = ctl_call(sock, req, &r);
	if (ret)
		goto out;
	if (json_out)
		ctl_print_json(r);
	else if (dry_run)
		printf("dry run: would %s; via %s for %s\n",
		       json_string_value(json_object_get(r, "plan")),
		       json_string_value(json_object_get(r, "backend")),
		       json_string_value(json_object_get(r, "duration")));
	else
		printf("%lld\n", (long long)json_integer_value(
				     json_object_get(json_object_get(r, "fault"), "id")));
out:
	json_decref(r);
	return ret;
}
