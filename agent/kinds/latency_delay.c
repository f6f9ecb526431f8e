// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The delays of a latency fault: one draw per delayed packet, from the
 * fault's distribution around its delay, leaning on the previous draw by
 * its correlation; and the histogram of the delays actually applied.
 *
 *   uniform  delay - jitter .. delay + jitter
 *   normal   mean delay, standard deviation jitter, cut to delay +- 4 jitter
 *            (and at 0)
 *   pareto   mean delay, standard deviation jitter, shape 3 (a heavy tail
 *            above the delay, nothing below delay - 0.58 jitter), cut at
 *            delay + 8 jitter
 * Correlation c: uniform and pareto draw u = c u' + (1 - c) v from the
 * last u' and a fresh v (netem's way: the spread narrows as c grows);
 * normal draws z = c z' + sqrt(1 - c^2) n, which keeps its spread.
 */
#include <math.h>
#include "latency_kind.h"

#define PARETO_SHAPE 3.0
#define PARETO_MEAN  1.5		/* of Pareto(shape 3, scale 1) */
#define PARETO_SD    0.8660254037844386 /* sqrt(3/4) */

uint64_t lat_max_delay_ns(const struct fl_latency_params *p)
{
	if (!p->jitter_ns)
		return p->delay_ns;
	switch (p->dist) {
	case FL_DIST_NORMAL:
		return p->delay_ns + 4 * p->jitter_ns;
	case FL_DIST_PARETO:
		return p->delay_ns + 8 * p->jitter_ns;
	default:
		return p->delay_ns + p->jitter_ns;
	}
}

void lat_rng_seed(struct lat_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ULL;
	r->have_last = false;
}

/* xorshift64*, top 53 bits. */
double lat_rng_u01(struct lat_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (double)((r->s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static double normal01(struct lat_rng *r)
{
	double u1 = lat_rng_u01(r), u2 = lat_rng_u01(r);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

static double correlated_u(struct lat_rng *r, double c)
{
	double u = lat_rng_u01(r);

	if (c > 0 && r->have_last)
		u = c * r->last_u + (1.0 - c) * u;
	r->last_u = u;
	r->have_last = true;
	return u;
}

uint64_t lat_sample_ns(struct lat_rng *r, const struct fl_latency_params *p)
{
	double d = (double)p->delay_ns, j = (double)p->jitter_ns, c = p->correlation, v, z;

	if (!p->jitter_ns)
		return p->delay_ns;
	switch (p->dist) {
	case FL_DIST_NORMAL:
		z = normal01(r);
		if (c > 0 && r->have_last)
			z = c * r->last_z + sqrt(1.0 - c * c) * z;
		r->last_z = z;
		r->have_last = true;
		if (z > 4)
			z = 4;
		if (z < -4)
			z = -4;
		v = d + j * z;
		break;
	case FL_DIST_PARETO:
		z = (pow(1.0 - correlated_u(r, c), -1.0 / PARETO_SHAPE) - PARETO_MEAN) / PARETO_SD;
		if (z > 8)
			z = 8;
		v = d + j * z;
		break;
	default:
		v = d - j + 2.0 * j * correlated_u(r, c);
		break;
	}
	if (v < 0)
		v = 0;
	if (v > (double)lat_max_delay_ns(p))
		v = (double)lat_max_delay_ns(p);
	return (uint64_t)(v + 0.5);
}

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < LAT_HIST_SUB)
		return v;
	e = 63 - __builtin_clzll(v); /* >= 7 */
	return (e - 6) * LAT_HIST_SUB + ((v >> (e - 7)) & (LAT_HIST_SUB - 1));
}

/* The middle of bucket i. */
static uint64_t bucket_value(unsigned i)
{
	unsigned e, sub;

	if (i < LAT_HIST_SUB)
		return i;
	e = i / LAT_HIST_SUB + 6;
	sub = i % LAT_HIST_SUB;
	return ((uint64_t)(LAT_HIST_SUB + sub) << (e - 7)) + ((1ULL << (e - 7)) >> 1);
}

void lat_hist_add(struct lat_hist *h, uint64_t v)
{
	unsigned i = bucket_of(v);

	if (i >= LAT_HIST_BUCKETS)
		i = LAT_HIST_BUCKETS - 1;
	__atomic_fetch_add(&h->b[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->n, 1, __ATOMIC_RELAXED);
	if (v > __atomic_load_n(&h->max, __ATOMIC_RELAXED))
		__atomic_store_n(&h->max, v, __ATOMIC_RELAXED);
}

uint64_t lat_hist_quantile(const struct lat_hist *h, double q)
{
	uint64_t n = __atomic_load_n(&h->n, __ATOMIC_RELAXED), want, seen = 0;
	uint64_t max = __atomic_load_n(&h->max, __ATOMIC_RELAXED);

	if (!n)
		return 0;
	want = (uint64_t)ceil(q * (double)n);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < LAT_HIST_BUCKETS; i++) {
		seen += __atomic_load_n(&h->b[i], __ATOMIC_RELAXED);
		if (seen >= want) {
			uint64_t v = bucket_value(i);

			return v > max ? max : v;
		}
	}
	return max;
}

/* The standard normal quantile, by bisection on erfc (exact enough for a
 * table of 256). */
static double normal_quantile(double u)
{
	double lo = -8, hi = 8;

	for (int i = 0; i < 60; i++) {
		double mid = (lo + hi) / 2;

		if (0.5 * erfc(-mid / M_SQRT2) < u)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

void lat_dist_table(const struct fl_latency_params *p, int32_t *t, int n)
{
	for (int i = 0; i < n; i++) {
		double u = (i + 0.5) / n, z;

		switch (p->dist) {
		case FL_DIST_NORMAL:
			z = normal_quantile(u);
			z = z > 4 ? 4 : z < -4 ? -4 : z;
			break;
		case FL_DIST_PARETO:
			z = (pow(1.0 - u, -1.0 / PARETO_SHAPE) - PARETO_MEAN) / PARETO_SD;
			z = z > 8 ? 8 : z;
			break;
		default:
			z = 2.0 * u - 1.0;
			break;
		}
		t[i] = (int32_t)lround(z * FL_LAT_DIST_ONE);
	}
}
