// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The trace's histograms as Prometheus metrics (docs/tracing.md): the
 * interval documents of fl_trace_read added up, and written in the text
 * exposition format (histograms as _bucket{le}, _sum and _count). The totals
 * are those of the intervals reported so far, so a scrape agrees exactly
 * with the sum of the --json documents printed before it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tracer.h"

enum prom_family { PF_SYSCALL, PF_RUNQ, PF_CONNECT, PF_RTT, PF_DROPS, PF_RETRANS, PF_MAX };

static const struct {
	const char *name, *type, *help;
} families[PF_MAX] = {
    [PF_SYSCALL] = {"faultline_trace_syscall_latency_seconds", "histogram",
		    "Syscall latency of the traced processes, per syscall."},
    [PF_RUNQ] = {"faultline_trace_runqueue_latency_seconds", "histogram",
		 "Run-queue latency of the traced threads."},
    [PF_CONNECT] = {"faultline_trace_tcp_connect_latency_seconds", "histogram",
		    "TCP connect latency (SYN_SENT to ESTABLISHED), per port and process name."},
    [PF_RTT] = {"faultline_trace_tcp_rtt_seconds", "histogram",
		"TCP smoothed RTT at each incoming segment, per port and process name."},
    [PF_DROPS] = {"faultline_trace_drops_total", "counter", "Packets dropped, per drop reason."},
    [PF_RETRANS] = {"faultline_trace_tcp_retransmits_total", "counter", "TCP retransmits."},
};

struct prom_series {
	enum prom_family fam;
	char *labels;		/* 'k="v",k="v"' (escaped), "" for none */
	struct fl_trace_hist h; /* a counter uses count only */
};

struct fl_trace_prom {
	struct prom_series *v;
	size_t n;
	uint64_t intervals;
};

struct fl_trace_prom *fl_trace_prom_new(void)
{
	return calloc(1, sizeof(struct fl_trace_prom));
}

void fl_trace_prom_free(struct fl_trace_prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].labels);
	free(p->v);
	free(p);
}

/* Append v to the label set in buf, escaped as the format asks. */
static void label(char *buf, size_t len, const char *k, const char *v)
{
	size_t o = strlen(buf);

	o += snprintf(buf + o, o < len ? len - o : 0, "%s%s=\"", o ? "," : "", k);
	for (; v && *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			buf[o++] = '\\';
			buf[o++] = *v == '\n' ? 'n' : *v;
		} else {
			buf[o++] = *v;
		}
	}
	if (o + 2 < len) {
		buf[o++] = '"';
		buf[o] = '\0';
	}
}

static struct prom_series *series(struct fl_trace_prom *p, enum prom_family f, const char *labels)
{
	struct prom_series *v;

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].fam == f && !strcmp(p->v[i].labels, labels))
			return &p->v[i];
	v = realloc(p->v, (p->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	p->v = v;
	memset(&v[p->n], 0, sizeof(v[p->n]));
	v[p->n].fam = f;
	v[p->n].labels = strdup(labels);
	if (!v[p->n].labels)
		return NULL;
	return &v[p->n++];
}

/* Slot of a bucket from its lower bound: 0, or 2^i for slot i. */
static unsigned slot_of(json_int_t lo)
{
	unsigned i = 0;

	while (lo > 1 && i < FL_TRACE_SLOTS - 1) {
		lo >>= 1;
		i++;
	}
	return i;
}

static int add_hist(struct fl_trace_prom *p, enum prom_family f, const char *labels, json_t *h)
{
	struct prom_series *s = series(p, f, labels);
	json_t *b;
	size_t i;

	if (!s)
		return -ENOMEM;
	s->h.count += json_integer_value(json_object_get(h, "count"));
	s->h.sum_ns += json_integer_value(json_object_get(h, "sum_ns"));
	json_array_foreach(json_object_get(h, "hist"), i, b)
	    s->h.slots[slot_of(json_integer_value(json_object_get(b, "lo")))] +=
	    json_integer_value(json_object_get(b, "count"));
	return 0;
}

static int add_count(struct fl_trace_prom *p, enum prom_family f, const char *labels, json_int_t n)
{
	struct prom_series *s = series(p, f, labels);

	if (!s)
		return -ENOMEM;
	s->h.count += n;
	return 0;
}

int fl_trace_prom_add(struct fl_trace_prom *p, json_t *doc)
{
	char l[160], port[8];
	json_t *r;
	size_t i;
	int ret = 0;

	json_array_foreach(json_object_get(doc, "syscalls"), i, r)
	{
		l[0] = '\0';
		label(l, sizeof(l), "syscall", json_string_value(json_object_get(r, "syscall")));
		ret = ret ?: add_hist(p, PF_SYSCALL, l, r);
	}
	ret = ret ?: add_hist(p, PF_RUNQ, "", json_object_get(doc, "runq"));
	for (int f = PF_CONNECT; f <= PF_RTT; f++) {
		json_array_foreach(json_object_get(doc, f == PF_CONNECT ? "connect" : "rtt"), i, r)
		{
			/* By process name, not pid: pids would make a series per
			 * short-lived client. */
			l[0] = '\0';
			snprintf(port, sizeof(port), "%lld",
				 (long long)json_integer_value(json_object_get(r, "port")));
			label(l, sizeof(l), "port", port);
			label(l, sizeof(l), "comm",
			      json_integer_value(json_object_get(r, "pid"))
				  ? json_string_value(json_object_get(r, "comm"))
				  : "");
			ret = ret ?: add_hist(p, f, l, r);
		}
	}
	json_array_foreach(json_object_get(doc, "drops"), i, r)
	{
		l[0] = '\0';
		label(l, sizeof(l), "reason", json_string_value(json_object_get(r, "reason")));
		ret = ret
			  ?: add_count(p, PF_DROPS, l,
				       json_integer_value(json_object_get(r, "count")));
	}
	ret = ret
		  ?: add_count(p, PF_RETRANS, "",
			       json_integer_value(json_object_get(doc, "retransmits")));
	p->intervals++;
	return ret;
}

static void write_hist(const char *name, const struct prom_series *s, FILE *out)
{
	const char *sep = s->labels[0] ? "," : "";
	uint64_t cum = 0, lo, hi;

	/* Slot i holds whole microseconds in [lo, hi]: every value in it is
	 * below hi + 1 us. The last slot also holds all above: +Inf only. */
	for (unsigned i = 0; i + 1 < FL_TRACE_SLOTS; i++) {
		cum += s->h.slots[i];
		fl_trace_slot_range(i, &lo, &hi);
		fprintf(out, "%s_bucket{%s%sle=\"%.6f\"} %llu\n", name, s->labels, sep,
			(double)(hi + 1) / 1e6, (unsigned long long)cum);
	}
	fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, s->labels, sep,
		(unsigned long long)s->h.count);
	fprintf(out, "%s_sum%s%s%s %.9f\n", name, *sep ? "{" : "", s->labels, *sep ? "}" : "",
		(double)s->h.sum_ns / 1e9);
	fprintf(out, "%s_count%s%s%s %llu\n", name, *sep ? "{" : "", s->labels, *sep ? "}" : "",
		(unsigned long long)s->h.count);
}

void fl_trace_prom_write(const struct fl_trace_prom *p, FILE *out)
{
	for (int f = 0; f < PF_MAX; f++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
			families[f].name, families[f].type);
		for (size_t i = 0; i < p->n; i++) {
			const struct prom_series *s = &p->v[i];

			if (s->fam != (enum prom_family)f)
				continue;
			if (f == PF_DROPS || f == PF_RETRANS)
				fprintf(out, "%s%s%s%s %llu\n", families[f].name,
					s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
					(unsigned long long)s->h.count);
			else
				write_hist(families[f].name, s, out);
		}
	}
	fprintf(out,
		"# HELP faultline_trace_intervals_total Intervals reported (the totals are as of "
		"the last).\n# TYPE faultline_trace_intervals_total counter\n"
		"faultline_trace_intervals_total %llu\n",
		(unsigned long long)p->intervals);
}
