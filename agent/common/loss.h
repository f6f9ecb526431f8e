/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A drop's loss model beyond independent draws: the params "correlation"
 * and "model" (docs/protocol.md), and the two-state chain the drop program
 * runs for both (bpf/drop.h, struct fl_loss_chain). One definition of the
 * "ge:p=..,r=..,h=..,k=.." format, for the agent and agentctl alike.
 *
 * Gilbert-Elliott in netem's convention (tc-netem(8), `loss gemodel p r 1-h
 * 1-k`): p = P(Good -> Bad), r = P(Bad -> Good), h = P(deliver | Bad),
 * k = P(deliver | Good); defaults r = 1 - p, h = 0, k = 1, as in tc.
 * Correlation c with prob q: each packet repeats the previous packet's fate
 * with probability c, else draws afresh with q; the chain p = (1-c) q,
 * r = (1-c)(1-q), h = 0, k = 1. The average stays q (netem's own loss
 * correlation does not keep it).
 */
#ifndef FL_LOSS_H
#define FL_LOSS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "drop.h"

#define FL_LOSS_MODEL_LEN 96

enum fl_loss_kind {
	FL_LOSS_NONE = 0,   /* independent draws with prob */
	FL_LOSS_CORRELATED, /* prob and correlation */
	FL_LOSS_GE,	    /* Gilbert-Elliott */
};

struct fl_loss_params {
	uint8_t kind;		       /* enum fl_loss_kind */
	double correlation;	       /* correlated: 0 < c < 1 */
	double p, r, h, k;	       /* ge */
	char model[FL_LOSS_MODEL_LEN]; /* ge: the model string as given */
};

/* From a drop's params object (already checked for unknown keys; prob
 * parsed into prob). Refuses, naming the field: a model or a correlation
 * out of range, a correlation with prob 1, a model with prob or with a
 * correlation. */
int loss_from_json(json_t *params, double prob, struct fl_loss_params *l, char *err, size_t errlen);
/* Parse "ge:p=1%,r=30%,h=0,k=100%" into l (kind, p, r, h, k, model). */
int loss_parse_model(const char *s, struct fl_loss_params *l, char *err, size_t errlen);
/* Adds "correlation" or "model" to a drop's params object. */
void loss_to_json(const struct fl_loss_params *l, json_t *params);

/* The chain the program runs for l; false for independent draws. */
bool loss_chain(const struct fl_loss_params *l, double prob, struct fl_loss_chain *c);
/* What the chain promises in the long run: the share of packets dropped and
 * the mean length of a run of consecutive drops (0 when it never drops). */
void loss_expect(const struct fl_loss_chain *c, double *loss, double *mean_run);

#endif
