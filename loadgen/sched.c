// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"
#include "lg_sched.h"

static const char *const kind_names[] = {
    [PROF_CONSTANT] = "constant", [PROF_RAMP] = "ramp", [PROF_STEP] = "step",
    [PROF_SPIKE] = "spike",	  [PROF_SOAK] = "soak", [PROF_STRESS] = "stress",
};

const char *profile_name(enum lg_profile_kind k)
{
	return kind_names[k];
}

static int parse_rate(const char *s, double *r)
{
	uint64_t v;
	char *end;
	double d;

	if (!parse_u64(s, &v, true)) {
		*r = (double)v;
		return *r > 0 ? 0 : -ERANGE;
	}
	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(d) || *s == '-' || *s == '+')
		return -EINVAL;
	if (d <= 0)
		return -ERANGE;
	*r = d;
	return 0;
}

int profile_parse(const char *spec, double rate, struct lg_profile *p, char *why, size_t whylen)
{
	char buf[256], *args, *kv, *save = NULL;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(why, whylen, "profile spec too long");
		return -EINVAL;
	}
	strcpy(buf, spec);
	args = strchr(buf, ':');
	if (args)
		*args++ = '\0';
	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(buf, kind_names[i]))
			break;
	if (i == sizeof(kind_names) / sizeof(kind_names[0])) {
		snprintf(why, whylen,
			 "unknown profile '%s' (constant, ramp, step, spike, soak, stress)", buf);
		return -EINVAL;
	}
	p->kind = (enum lg_profile_kind)i;
	p->rate = rate;
	p->factor = 10;
	p->for_ns = 5000000000ULL;
	p->at_ns = 10000000000ULL;
	p->every_ns = 10000000000ULL;
	p->over_ns = 60000000000ULL;
	if (p->kind == PROF_STEP || p->kind == PROF_STRESS) {
		p->by = rate;
		p->every_ns = p->kind == PROF_STRESS ? 5000000000ULL : 10000000000ULL;
	}
	if (p->kind == PROF_RAMP && args && strstr(args, "->")) {
		/* shorthand: ramp:100->500[:60s] */
		char *arrow = strstr(args, "->"), *colon = strchr(arrow, ':');

		*arrow = '\0';
		if (colon)
			*colon = '\0';
		if (parse_rate(args, &p->rate) || parse_rate(arrow + 2, &p->to) ||
		    (colon && parse_duration_ns(colon + 1, &p->over_ns))) {
			snprintf(why, whylen,
				 "profile ramp: expected ramp:FROM->TO[:OVER], e.g. "
				 "ramp:100->500:60s");
			return -EINVAL;
		}
		args = NULL;
	}
	for (kv = args ? strtok_r(args, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *k = kv, *v;
		int err = 0;

		if (!eq) {
			snprintf(why, whylen, "profile %s: '%s' is not key=value", buf, kv);
			return -EINVAL;
		}
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(k, "rate") || !strcmp(k, "base") || !strcmp(k, "from"))
			err = parse_rate(v, &p->rate);
		else if (!strcmp(k, "to") && p->kind == PROF_RAMP)
			err = parse_rate(v, &p->to);
		else if (!strcmp(k, "by") && (p->kind == PROF_STEP || p->kind == PROF_STRESS))
			err = parse_rate(v, &p->by);
		else if (!strcmp(k, "factor") && p->kind == PROF_SPIKE)
			err = parse_rate(v, &p->factor);
		else if (!strcmp(k, "over") && p->kind == PROF_RAMP)
			err = parse_duration_ns(v, &p->over_ns);
		else if (!strcmp(k, "every") && (p->kind == PROF_STEP || p->kind == PROF_STRESS))
			err = parse_duration_ns(v, &p->every_ns);
		else if (!strcmp(k, "at") && p->kind == PROF_SPIKE)
			err = parse_duration_ns(v, &p->at_ns);
		else if (!strcmp(k, "for") && p->kind == PROF_SPIKE)
			err = parse_duration_ns(v, &p->for_ns);
		else if (!strcmp(k, "steps") && p->kind == PROF_STEP) {
			uint64_t n;

			err = parse_u64(v, &n, false);
			if (!err && (n == 0 || n > 100000))
				err = -ERANGE;
			p->steps = (uint32_t)n;
		} else {
			snprintf(why, whylen, "profile %s: unknown key '%s'", buf, k);
			return -EINVAL;
		}
		if (err) {
			snprintf(why, whylen,
				 "profile %s: bad value for %s: '%s' (positive number%s)", buf, k,
				 v,
				 strcmp(k, "over") && strcmp(k, "every") && strcmp(k, "at") &&
					 strcmp(k, "for")
				     ? ""
				     : " with unit, e.g. 10s");
			return -EINVAL;
		}
	}
	if (p->rate <= 0) {
		snprintf(why, whylen, "profile %s needs a rate: --rate R or %s:%s=R", buf, buf,
			 p->kind == PROF_SPIKE ? "base"
			 : p->kind == PROF_STEP || p->kind == PROF_STRESS || p->kind == PROF_RAMP
			     ? "from"
			     : "rate");
		return -EINVAL;
	}
	if (p->kind == PROF_RAMP && p->to <= 0) {
		snprintf(why, whylen,
			 "profile ramp needs to=R (e.g. ramp:from=100,to=500,over=60s)");
		return -EINVAL;
	}
	if (p->kind == PROF_STEP || p->kind == PROF_STRESS) {
		if (p->by <= 0)
			p->by = p->rate;
	}
	if ((p->kind == PROF_RAMP && !p->over_ns) ||
	    ((p->kind == PROF_STEP || p->kind == PROF_STRESS) && !p->every_ns) ||
	    (p->kind == PROF_SPIKE && !p->for_ns)) {
		snprintf(why, whylen, "profile %s: durations must be above 0", buf);
		return -EINVAL;
	}
	return 0;
}

double profile_rate(const struct lg_profile *p, uint64_t t, uint32_t *phase)
{
	uint64_t n;

	*phase = 0;
	switch (p->kind) {
	case PROF_RAMP:
		if (t >= p->over_ns) {
			*phase = 1;
			return p->to;
		}
		return p->rate + (p->to - p->rate) * ((double)t / (double)p->over_ns);
	case PROF_STEP:
	case PROF_STRESS:
		n = t / p->every_ns;
		if (p->kind == PROF_STEP && p->steps && n >= p->steps)
			n = p->steps - 1;
		*phase = n > 255 ? 255 : (uint32_t)n;
		return p->rate + p->by * (double)n;
	case PROF_SPIKE:
		if (t < p->at_ns)
			return p->rate;
		if (t < p->at_ns + p->for_ns) {
			*phase = 1;
			return p->rate * p->factor;
		}
		*phase = 2;
		return p->rate;
	default:
		return p->rate;
	}
}

void sched_init(struct lg_sched *s, const struct lg_profile *p, enum lg_arrival a, double share,
		uint64_t start_ns, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->prof = p;
	s->arrival = a;
	s->share = share;
	s->start = start_ns;
	s->rng = seed | 1;
	/* threads start spread over the first interval, not all at once */
	s->next = 0;
	profile_rate(p, 0, &s->phase);
	sched_advance(s);
	s->next *= rng_unit(&s->rng);
}

/* The next time after t (ns) at which the rate changes; a ramp is taken in
 * 1 ms pieces. */
static double next_change(const struct lg_profile *p, double t)
{
	double e;

	switch (p->kind) {
	case PROF_RAMP:
		if (t >= (double)p->over_ns)
			return INFINITY;
		e = (floor(t / 1e6) + 1) * 1e6;
		return e < (double)p->over_ns ? e : (double)p->over_ns;
	case PROF_STEP:
	case PROF_STRESS:
		e = floor(t / (double)p->every_ns) + 1;
		if (p->kind == PROF_STEP && p->steps && e >= p->steps)
			return INFINITY;
		return e * (double)p->every_ns;
	case PROF_SPIKE:
		if (t < (double)p->at_ns)
			return (double)p->at_ns;
		if (t < (double)(p->at_ns + p->for_ns))
			return (double)(p->at_ns + p->for_ns);
		return INFINITY;
	default:
		return INFINITY;
	}
}

/*
 * A time change of a unit-rate process: the next arrival comes when the
 * integral of the rate since the last one reaches 1 (uniform) or an
 * exponential draw (Poisson). Where the rate changes inside a gap, the
 * gap is split, so that a spike or a step starts exactly on time.
 */
void sched_advance(struct lg_sched *s)
{
	double w = s->arrival == ARRIVAL_POISSON ? -log(rng_unit(&s->rng)) : 1.0;
	double t = s->next;
	uint32_t phase;
	unsigned guard;

	for (guard = 0; guard < 100000000; guard++) {
		double r = profile_rate(s->prof, (uint64_t)t, &phase) * s->share / 1e9;
		double b = next_change(s->prof, t);

		if (isinf(b) || r * (b - t) >= w) {
			t += w / r;
			break;
		}
		w -= r * (b - t);
		t = b;
	}
	s->next = t;
	profile_rate(s->prof, (uint64_t)s->next, &s->phase);
}
