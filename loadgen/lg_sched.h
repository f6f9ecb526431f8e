/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* When requests leave: load profiles (rate over time) and arrival processes. */
#ifndef LG_SCHED_H
#define LG_SCHED_H

#include <stdbool.h>
#include <stdint.h>

enum lg_profile_kind {
	PROF_CONSTANT,
	PROF_RAMP,   /* ramp:from=100,to=500,over=60s */
	PROF_STEP,   /* step:from=100,by=100,every=10s[,steps=5] */
	PROF_SPIKE,  /* spike:base=100,factor=10,at=10s,for=5s */
	PROF_SOAK,   /* soak[:rate=100] — constant, long; default duration 1h */
	PROF_STRESS, /* stress:from=100,by=100,every=5s — until the SLO breaks */
};

struct lg_profile {
	enum lg_profile_kind kind;
	double rate;   /* constant, soak: the rate; spike: base */
	double to;     /* ramp: final rate */
	double by;     /* step, stress: increment */
	double factor; /* spike */
	uint64_t over_ns, every_ns, at_ns, for_ns;
	uint32_t steps; /* step: number of steps (0: unbounded) */
};

/* Parses SPEC; default_rate is --rate (0 if not given). On error returns
 * -EINVAL and writes a one-line reason to why. */
int profile_parse(const char *spec, double default_rate, struct lg_profile *p, char *why,
		  size_t whylen);
/* Total requests/s at t_ns after the start, and the phase (step number,
 * spike: 0 before, 1 during, 2 after). */
double profile_rate(const struct lg_profile *p, uint64_t t_ns, uint32_t *phase);
const char *profile_name(enum lg_profile_kind k);

enum lg_arrival { ARRIVAL_UNIFORM, ARRIVAL_POISSON };

static inline uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* uniform in (0, 1] */
static inline double rng_unit(uint64_t *s)
{
	return ((rng_next(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* The open-model schedule of one load thread: share is its part of the
 * total rate (1 / threads). */
struct lg_sched {
	const struct lg_profile *prof;
	enum lg_arrival arrival;
	double share;
	double next;	/* ns after start, of the next scheduled request */
	uint64_t start; /* CLOCK_MONOTONIC of the run start */
	uint64_t rng;
	uint32_t phase; /* phase of the next request */
};

void sched_init(struct lg_sched *s, const struct lg_profile *p, enum lg_arrival a, double share,
		uint64_t start_ns, uint64_t seed);
/* Monotonic time of the next scheduled request. */
static inline uint64_t sched_peek(const struct lg_sched *s)
{
	return s->start + (uint64_t)s->next;
}
void sched_advance(struct lg_sched *s);

#endif
