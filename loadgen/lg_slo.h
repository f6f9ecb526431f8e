/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Service level objectives: "p99<200ms,error_rate<0.1%,rps>=1000". */
#ifndef LG_SLO_H
#define LG_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hist.h"

enum slo_metric { SLO_PCT, SLO_MAX, SLO_MEAN, SLO_ERROR_RATE, SLO_RPS };
enum slo_op { SLO_LT, SLO_LE, SLO_GT, SLO_GE };

struct slo_check {
	enum slo_metric metric;
	enum slo_op op;
	double pct;   /* SLO_PCT: 99.9 for p99.9 */
	double value; /* ns for latencies, a fraction for error_rate, requests/s */
	char text[48];
};

#define SLO_MAX_CHECKS 16
struct lg_slo {
	unsigned n;
	struct slo_check c[SLO_MAX_CHECKS];
};

struct slo_input {
	const struct hist *lat;
	uint64_t ok;	 /* responses counted as success */
	uint64_t failed; /* everything else that was sent and ended (incl. timeouts) */
	double rps;
};

int slo_parse(const char *s, struct lg_slo *slo, char *why, size_t whylen);
/* Evaluates one check: true if it holds. *actual gets the measured value
 * in the unit people read (ms, %, requests/s). */
bool slo_eval(const struct slo_check *c, const struct slo_input *in, double *actual);
/* True if every check holds. */
bool slo_eval_all(const struct lg_slo *slo, const struct slo_input *in);

#endif
