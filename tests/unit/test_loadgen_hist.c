// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The histogram against exact percentiles of the same samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <stdbool.h>
#include <cmocka.h>
#include "hist.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* nearest-rank exact percentile */
static uint64_t exact(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static void check_against_exact(uint64_t *v, size_t n)
{
	static const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100};
	struct hist *h = hist_new();
	size_t i;

	assert_non_null(h);
	for (i = 0; i < n; i++)
		hist_record(h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(h->total, n);
	assert_int_equal(h->min, v[0]);
	assert_int_equal(h->max, v[n - 1]);
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t e = exact(v, n, ps[i]), got = hist_percentile(h, ps[i]);

		/* 3 significant digits: never below, at most 1/1024 above */
		if (got < e || (double)(got - e) > (double)e / 1024.0 + 1) {
			print_error("p%g: exact %llu, histogram %llu\n", ps[i],
				    (unsigned long long)e, (unsigned long long)got);
			fail();
		}
	}
	hist_free(h);
}

static void test_uniform_and_lognormal(void **state)
{
	size_t n = 200000, i;
	uint64_t *v = malloc(n * sizeof(*v)), s = 0x1234567;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = rng(&s) % 5000000000ULL; /* 0..5 s */
	check_against_exact(v, n);
	for (i = 0; i < n; i++) {
		/* log-normal-ish: a long tail over 6 decades */
		double u = (double)(rng(&s) % 1000000) / 1e6;

		v[i] = (uint64_t)(20000.0 * exp(u * u * 14.0));
	}
	check_against_exact(v, n);
	free(v);
}

static void test_small_exact_and_clamp(void **state)
{
	struct hist *h = hist_new();
	uint64_t i;

	(void)state;
	/* below 2048 every value has its own bucket */
	for (i = 0; i < 2048; i++) {
		assert_int_equal(hist_lowest(hist_index(i)), i);
		assert_int_equal(hist_highest(hist_index(i)), i);
	}
	/* every index maps back to a range that holds its values */
	for (i = 1; i < 40; i++) {
		uint64_t v = (1ULL << i) + 12345 % (1ULL << i);
		uint32_t k = hist_index(v);

		assert_true(hist_lowest(k) <= v && v <= hist_highest(k));
		assert_true(k < HIST_LEN);
	}
	hist_record(h, UINT64_MAX); /* clamped, not out of bounds */
	assert_int_equal(h->total, 1);
	assert_true(hist_index(UINT64_MAX) < HIST_LEN);
	assert_int_equal(hist_percentile(h, 50), HIST_MAX);
	assert_int_equal(h->max, HIST_MAX);
	hist_free(h);
}

/* Nearest rank in integers: in doubles ceil(99.9 / 100 * 1000) is 1000. */
static void test_exact_rank(void **state)
{
	struct hist *h = hist_new();

	assert_int_equal(hist_rank(99.9, 1000), 999);
	assert_int_equal(hist_rank(99, 100), 99);
	assert_int_equal(hist_rank(50, 3), 2);
	assert_int_equal(hist_rank(100, 7), 7);
	assert_int_equal(hist_rank(0.0001, 7), 1);
	/* 999 values of 1 ms and one of 1 s: p99.9 is the 999th, 1 ms. */
	for (int i = 0; i < 999; i++)
		hist_record(h, 1000000);
	hist_record(h, 1000000000);
	assert_true(hist_percentile(h, 99.9) < 2000000);
	assert_true(hist_percentile(h, 100) >= 999000000);
	hist_free(h);
}

static void test_merge_reset(void **state)
{
	struct hist *a = hist_new(), *b = hist_new();
	uint64_t i;

	(void)state;
	for (i = 1; i <= 1000; i++)
		hist_record(a, i * 1000);
	for (i = 1001; i <= 2000; i++)
		hist_record(b, i * 1000);
	hist_merge(a, b);
	assert_int_equal(a->total, 2000);
	assert_int_equal(a->min, 1000);
	assert_int_equal(a->max, 2000000);
	assert_true(hist_percentile(a, 50) >= 1000000 && hist_percentile(a, 50) <= 1001000);
	hist_reset(a);
	assert_int_equal(a->total, 0);
	assert_int_equal(hist_percentile(a, 99), 0);
	for (i = 0; i < HIST_LEN; i++)
		assert_int_equal(a->counts[i], 0);
	hist_free(a);
	hist_free(b);
}

/* An outage: 980 answers of 1 ms, 20 timeouts at 2 s. p99 is not computed
 * from the survivors: it is >= 2 s, marked as a lower bound; p50 is exact. */
static void test_censored(void **state)
{
	struct hist *h = hist_new(), *m = hist_new();

	(void)state;
	assert_non_null(h);
	for (int i = 0; i < 980; i++)
		hist_record(h, 1000000);
	assert_false(hist_percentile_censored(h, 99));
	hist_record_censored(h, 2000000000ULL, 20);
	assert_int_equal(h->total, 1000);
	assert_int_equal(h->censored, 20);
	assert_true(hist_percentile(h, 99) >= 2000000000ULL);
	assert_true(hist_percentile_censored(h, 99));
	assert_true(hist_percentile_censored(h, 98.5));
	/* rank 980 is the last survivor: exact */
	assert_false(hist_percentile_censored(h, 98));
	assert_true(hist_percentile(h, 98) < 2000000);
	assert_false(hist_percentile_censored(h, 50));
	/* a censored value below the survivors makes every percentile above it a bound */
	hist_record_censored(h, 500000, 1);
	assert_true(hist_percentile_censored(h, 50));
	/* merge and reset carry and clear it */
	hist_merge(m, h);
	assert_int_equal(m->censored, 21);
	assert_int_equal(m->cens_min, 500000);
	hist_reset(m);
	assert_int_equal(m->censored, 0);
	assert_false(hist_percentile_censored(m, 99));
	hist_free(h);
	hist_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uniform_and_lognormal),
	    cmocka_unit_test(test_small_exact_and_clamp),
	    cmocka_unit_test(test_exact_rank),
	    cmocka_unit_test(test_merge_reset),
	    cmocka_unit_test(test_censored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
