/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A log-linear latency histogram in the manner of HdrHistogram: values in
 * nanoseconds from 0 to 2^43-1 (about 2.4 hours), 3 significant digits
 * (2048 linear sub-buckets per power of two), fixed memory (about 272 KiB).
 * Recording is a count-leading-zeros, a shift and an add.
 */
#ifndef LG_HIST_H
#define LG_HIST_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define HIST_SUB_HALF_BITS 10
#define HIST_SUB_HALF	   (1u << HIST_SUB_HALF_BITS) /* 1024 */
#define HIST_BUCKETS	   33
#define HIST_LEN	   ((HIST_BUCKETS + 1) * HIST_SUB_HALF)
#define HIST_MAX	   ((1ULL << 43) - 1)

struct hist {
	uint64_t total;
	uint64_t min, max;
	uint64_t sum;	 /* ns; for the mean */
	uint32_t lo, hi; /* lowest and highest index touched (for cheap merges) */
	/* Censored values: requests that gave up (timed out) at the recorded
	 * value; their true latency is that or more. Counted in total too. */
	uint64_t censored;
	uint64_t cens_min; /* the lowest censored value, UINT64_MAX if none */
	uint64_t counts[HIST_LEN];
};

static inline uint32_t hist_index(uint64_t v)
{
	uint32_t b;

	if (v > HIST_MAX)
		v = HIST_MAX;
	b = 64 - __builtin_clzll(v | (2 * HIST_SUB_HALF - 1)) - (HIST_SUB_HALF_BITS + 1);
	return ((b + 1) << HIST_SUB_HALF_BITS) + (uint32_t)(v >> b) - HIST_SUB_HALF;
}

/* n values equal to v at once (merging histograms from elsewhere). */
static inline void hist_record_n(struct hist *h, uint64_t v, uint64_t n)
{
	uint32_t i;

	if (!n)
		return;
	if (v > HIST_MAX)
		v = HIST_MAX;
	i = hist_index(v);
	h->counts[i] += n;
	h->total += n;
	h->sum += v * n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	if (i < h->lo)
		h->lo = i;
	if (i > h->hi)
		h->hi = i;
}

/* One value; out of range values are counted at the top. With n = 1 known
 * at compile time the inlined hist_record_n is the single-value path. */
static inline void hist_record(struct hist *h, uint64_t v)
{
	hist_record_n(h, v, 1);
}

/* n requests that gave up at v: their latency is v or more. */
static inline void hist_record_censored(struct hist *h, uint64_t v, uint64_t n)
{
	if (!n)
		return;
	hist_record_n(h, v, n);
	h->censored += n;
	if (v < h->cens_min)
		h->cens_min = v;
}

struct hist *hist_new(void);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);
/* dst += src */
void hist_merge(struct hist *dst, const struct hist *src);
/* Lowest and highest value that share index i. */
uint64_t hist_lowest(uint32_t i);
uint64_t hist_highest(uint32_t i);
/* The nearest rank of percentile p among n values, exact: p99.9 of 1000
 * values is the 999th (a ceiling computed in integers, not in doubles). */
uint64_t hist_rank(double p, uint64_t n);
/* Value at percentile p (0 < p <= 100): the highest value equivalent to the
 * nearest-rank sample, never above the largest recorded value. 0 if empty. */
uint64_t hist_percentile(const struct hist *h, double p);
/* True if the value at percentile p is only a lower bound: a censored value
 * is at or below it, so the true percentile may be higher. Exact otherwise
 * (censored values above it can only move further up). */
bool hist_percentile_censored(const struct hist *h, double p);
double hist_mean(const struct hist *h);

#endif
