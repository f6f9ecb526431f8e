// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The text rendering of one trace interval (the JSON document is the model). */
#include <stdio.h>
#include <string.h>
#include "tracer.h"

#define STARS	      40
#define HIST_SYSCALLS 3 /* the busiest syscalls get their histogram printed */

static void print_hist(json_t *h, FILE *out)
{
	json_t *b, *hist = json_object_get(h, "hist");
	json_int_t max = 0;
	size_t i;

	json_array_foreach(hist, i, b)
	{
		json_int_t c = json_integer_value(json_object_get(b, "count"));

		if (c > max)
			max = c;
	}
	if (!max)
		return;
	fprintf(out, "  %21s : %-10s distribution\n", "usecs", "count");
	json_array_foreach(hist, i, b)
	{
		json_int_t c = json_integer_value(json_object_get(b, "count"));
		int n = (int)(c * STARS / max);
		char bar[STARS + 1];

		memset(bar, '*', n);
		bar[n] = 0;
		fprintf(out, "  %10lld -> %-8lld : %-10lld |%-*s|\n",
			(long long)json_integer_value(json_object_get(b, "lo")),
			(long long)json_integer_value(json_object_get(b, "hi")), (long long)c,
			STARS, bar);
	}
}

static void print_summary(const char *what, json_t *h, FILE *out)
{
	fprintf(out, "  %-18s %10lld %10.1f %8lld %8lld\n", what,
		(long long)json_integer_value(json_object_get(h, "count")),
		json_real_value(json_object_get(h, "mean_us")),
		(long long)json_integer_value(json_object_get(h, "p50_us")),
		(long long)json_integer_value(json_object_get(h, "p99_us")));
}

/* Connect latency or RTT: one summary line per port and process. */
static void print_tcp(const char *what, json_t *rows, FILE *out)
{
	json_t *r;
	size_t i;

	fprintf(out, " %s:%s\n", what, json_array_size(rows) ? "" : " none");
	if (!json_array_size(rows))
		return;
	fprintf(out, "  %-6s %-8s %-16s %10s %10s %8s %8s\n", "port", "pid", "comm", "count",
		"mean_us", "p50_us", "p99_us");
	json_array_foreach(rows, i, r)
	{
		json_int_t pid = json_integer_value(json_object_get(r, "pid"));
		char spid[24];

		snprintf(spid, sizeof(spid), "%lld", (long long)pid);
		fprintf(out, "  %-6lld %-8s %-16s %10lld %10.1f %8lld %8lld\n",
			(long long)json_integer_value(json_object_get(r, "port")), pid ? spid : "-",
			pid ? json_string_value(json_object_get(r, "comm")) : "-",
			(long long)json_integer_value(json_object_get(r, "count")),
			json_real_value(json_object_get(r, "mean_us")),
			(long long)json_integer_value(json_object_get(r, "p50_us")),
			(long long)json_integer_value(json_object_get(r, "p99_us")));
	}
}

void fl_trace_print(json_t *doc, FILE *out)
{
	json_t *sys = json_object_get(doc, "syscalls"), *rq = json_object_get(doc, "runq"), *s,
	       *drops = json_object_get(doc, "drops"), *d;
	const char *key;
	json_int_t port;
	char whose[32];
	json_t *v;
	size_t i;

	fprintf(out, "%s  %.2fs  hook %s", json_string_value(json_object_get(doc, "time")),
		json_real_value(json_object_get(doc, "interval_s")),
		json_string_value(json_object_get(doc, "hook")));
	json_object_foreach(json_object_get(doc, "filter"), key, v)
	{
		if (json_is_true(v))
			fprintf(out, "  %s", key);
		else if (json_is_string(v))
			fprintf(out, "  %s %s", key, json_string_value(v));
		else
			fprintf(out, "  %s %lld", key, (long long)json_integer_value(v));
	}
	fprintf(out, "\n  %-18s %10s %10s %8s %8s\n", "syscall", "count", "mean_us", "p50_us",
		"p99_us");
	json_array_foreach(sys, i, s)
	    print_summary(json_string_value(json_object_get(s, "syscall")), s, out);
	json_array_foreach(sys, i, s)
	{
		if (i >= HIST_SYSCALLS)
			break;
		fprintf(out, " syscall %s latency:\n",
			json_string_value(json_object_get(s, "syscall")));
		print_hist(s, out);
	}
	print_summary("(run queue)", rq, out);
	fprintf(out, " run-queue latency:\n");
	print_hist(rq, out);
	print_tcp("tcp connect latency", json_object_get(doc, "connect"), out);
	print_tcp("tcp rtt (srtt)", json_object_get(doc, "rtt"), out);
	/* Retransmits and drops are not the traced processes': softirq and
	 * timers make them. Say whose they are. */
	port = json_integer_value(json_object_get(json_object_get(doc, "filter"), "port"));
	if (port)
		snprintf(whose, sizeof(whose), "port %lld", (long long)port);
	else
		snprintf(whose, sizeof(whose), "all ports");
	fprintf(out, " tcp retransmits (%s): %lld\n", whose,
		(long long)json_integer_value(json_object_get(doc, "retransmits")));
	fprintf(out, " drops (%s):%s\n", whose, json_array_size(drops) ? "" : " none");
	if (json_integer_value(json_object_get(doc, "purged")))
		fprintf(out, "  (and %lld buffers purged at socket close)\n",
			(long long)json_integer_value(json_object_get(doc, "purged")));
	json_array_foreach(drops, i, d)
	    fprintf(out, "  %-32s %lld\n", json_string_value(json_object_get(d, "reason")),
		    (long long)json_integer_value(json_object_get(d, "count")));
	fflush(out);
}
