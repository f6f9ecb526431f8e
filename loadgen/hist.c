// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"

struct hist *hist_new(void)
{
	struct hist *h = calloc(1, sizeof(*h));

	if (h) {
		h->lo = HIST_LEN;
		hist_reset(h);
	}
	return h;
}

void hist_free(struct hist *h)
{
	free(h);
}

void hist_reset(struct hist *h)
{
	/* only the touched range holds counts */
	if (h->total && h->lo <= h->hi && h->hi < HIST_LEN)
		memset(&h->counts[h->lo], 0, (h->hi - h->lo + 1) * sizeof(h->counts[0]));
	h->total = 0;
	h->sum = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->lo = HIST_LEN;
	h->hi = 0;
	h->censored = 0;
	h->cens_min = UINT64_MAX;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	uint32_t i;

	if (!src->total)
		return;
	for (i = src->lo; i <= src->hi; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	if (src->lo < dst->lo)
		dst->lo = src->lo;
	if (src->hi > dst->hi)
		dst->hi = src->hi;
	dst->censored += src->censored;
	if (src->cens_min < dst->cens_min)
		dst->cens_min = src->cens_min;
}

uint64_t hist_lowest(uint32_t i)
{
	int b = (int)(i >> HIST_SUB_HALF_BITS) - 1;
	uint64_t sub = (i & (HIST_SUB_HALF - 1)) + HIST_SUB_HALF;

	if (b < 0) {
		b = 0;
		sub -= HIST_SUB_HALF;
	}
	return sub << b;
}

uint64_t hist_highest(uint32_t i)
{
	int b = (int)(i >> HIST_SUB_HALF_BITS) - 1;

	if (b < 0)
		b = 0;
	return hist_lowest(i) + (1ULL << b) - 1;
}

uint64_t hist_rank(double p, uint64_t n)
{
	/* p in millionths of a percent, so that 99.9 is 99900000 exactly and
	 * the rank an integer ceiling: p99.9 of 1000 values is the 999th,
	 * where ceil(99.9 / 100 * 1000) in doubles is the 1000th */
	uint64_t pm = (uint64_t)llround((p > 100 ? 100 : p < 0 ? 0 : p) * 1e6);
	unsigned __int128 x = (unsigned __int128)pm * n + 100000000 - 1;
	uint64_t rank = (uint64_t)(x / 100000000);

	return rank < 1 ? 1 : rank > n ? n : rank;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;
	uint32_t i;

	if (!h->total)
		return 0;
	rank = hist_rank(p, h->total);
	for (i = h->lo; i <= h->hi; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = hist_highest(i);

			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total ? (double)h->sum / (double)h->total : 0;
}

bool hist_percentile_censored(const struct hist *h, double p)
{
	if (!h->censored)
		return false;
	/* compare in bucket terms: the percentile is the highest value of its bucket */
	return hist_index(h->cens_min) <= hist_index(hist_percentile(h, p));
}
