// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"
#include "lg_slo.h"

static int parse_one(const char *s, struct slo_check *c, char *why, size_t whylen)
{
	const char *op = strpbrk(s, "<>");
	char name[32], *end;
	size_t nl;
	const char *v;

	if (!op) {
		snprintf(why, whylen, "SLO '%s' has no < or > (e.g. p99<200ms)", s);
		return -EINVAL;
	}
	nl = (size_t)(op - s);
	if (!nl || nl >= sizeof(name)) {
		snprintf(why, whylen,
			 "SLO '%s' names no metric (p50..p99.99, max, mean, error_rate, rps)", s);
		return -EINVAL;
	}
	memcpy(name, s, nl);
	name[nl] = '\0';
	v = op + 1;
	if (*v == '=') {
		c->op = *op == '<' ? SLO_LE : SLO_GE;
		v++;
	} else {
		c->op = *op == '<' ? SLO_LT : SLO_GT;
	}
	snprintf(c->text, sizeof(c->text), "%s", s);
	if (name[0] == 'p' && name[1]) {
		errno = 0;
		c->pct = strtod(name + 1, &end);
		if (errno || *end || !(c->pct > 0 && c->pct <= 100) || name[1] == '-' ||
		    name[1] == '+' || name[1] == ' ') {
			snprintf(why, whylen, "SLO '%s': bad percentile '%s' (p50, p99, p99.9 ...)",
				 s, name);
			return -EINVAL;
		}
		c->metric = SLO_PCT;
	} else if (!strcmp(name, "max")) {
		c->metric = SLO_MAX;
	} else if (!strcmp(name, "mean")) {
		c->metric = SLO_MEAN;
	} else if (!strcmp(name, "error_rate")) {
		c->metric = SLO_ERROR_RATE;
	} else if (!strcmp(name, "rps")) {
		c->metric = SLO_RPS;
	} else {
		snprintf(why, whylen,
			 "SLO '%s': unknown metric '%s' (p50..p99.99, max, mean, error_rate, rps)",
			 s, name);
		return -EINVAL;
	}
	if (c->metric == SLO_ERROR_RATE) {
		if (parse_prob(v, &c->value)) {
			snprintf(why, whylen, "SLO '%s': bad error rate '%s' (e.g. 0.1%% or 0.001)",
				 s, v);
			return -EINVAL;
		}
	} else if (c->metric == SLO_RPS) {
		errno = 0;
		c->value = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(c->value) || c->value < 0) {
			snprintf(why, whylen, "SLO '%s': bad rate '%s'", s, v);
			return -EINVAL;
		}
	} else {
		uint64_t ns;

		if (parse_duration_ns(v, &ns)) {
			snprintf(why, whylen, "SLO '%s': bad duration '%s' (e.g. 200ms)", s, v);
			return -EINVAL;
		}
		c->value = (double)ns;
	}
	return 0;
}

int slo_parse(const char *s, struct lg_slo *slo, char *why, size_t whylen)
{
	char buf[512], *tok, *save = NULL;
	int err;

	memset(slo, 0, sizeof(*slo));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(why, whylen, "SLO too long");
		return -EINVAL;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (slo->n == SLO_MAX_CHECKS) {
			snprintf(why, whylen, "too many SLO checks (at most %d)", SLO_MAX_CHECKS);
			return -EINVAL;
		}
		err = parse_one(tok, &slo->c[slo->n], why, whylen);
		if (err)
			return err;
		slo->n++;
	}
	if (!slo->n) {
		snprintf(why, whylen, "empty SLO (e.g. 'p99<200ms,error_rate<0.1%%')");
		return -EINVAL;
	}
	return 0;
}

bool slo_eval(const struct slo_check *c, const struct slo_input *in, double *actual)
{
	double v, a;
	uint64_t n = in->ok + in->failed;

	switch (c->metric) {
	case SLO_PCT:
		v = (double)hist_percentile(in->lat, c->pct);
		a = v / 1e6;
		break;
	case SLO_MAX:
		v = (double)(in->lat->total ? in->lat->max : 0);
		a = v / 1e6;
		break;
	case SLO_MEAN:
		v = hist_mean(in->lat);
		a = v / 1e6;
		break;
	case SLO_ERROR_RATE:
		v = n ? (double)in->failed / (double)n : 0;
		a = v * 100;
		break;
	default:
		v = in->rps;
		a = v;
		break;
	}
	if (actual)
		*actual = a;
	switch (c->op) {
	case SLO_LT:
		return v < c->value;
	case SLO_LE:
		return v <= c->value;
	case SLO_GT:
		return v > c->value;
	default:
		return v >= c->value;
	}
}

bool slo_eval_all(const struct lg_slo *slo, const struct slo_input *in)
{
	unsigned i;

	for (i = 0; i < slo->n; i++)
		if (!slo_eval(&slo->c[i], in, NULL))
			return false;
	return true;
}
