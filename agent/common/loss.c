// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A drop's loss model: parse, print, and the chain the program runs (loss.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "loss.h"
#include "parse.h"
#include "proto.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

#define MODEL_FORM "ge:p=P[,r=P][,h=P][,k=P] with P like 1%% or 0.01"

/* A value of the model: 0..1 or N%, and not finer than the 32-bit draw. */
static int model_value(char key, const char *v, double *out, char *err, size_t errlen)
{
	int e = parse_prob(v, out);

	if (e == -ERANGE)
		FAIL("fault.params.model: %c=%s is outside 0..1", key, v);
	if (e)
		FAIL("fault.params.model: %c='%s' is not a probability (0.3 or 30%%)", key, v);
	if (*out > 0 && *out < FL_PROB_RESOLUTION)
		FAIL("fault.params.model: %c=%s is below the resolution of the random draw "
		     "(2^-32)",
		     key, v);
	return 0;
}

int loss_parse_model(const char *s, struct fl_loss_params *l, char *err, size_t errlen)
{
	static const char keys[] = "prhk";
	double *vals[] = {&l->p, &l->r, &l->h, &l->k};
	bool seen[4] = {};
	char buf[FL_LOSS_MODEL_LEN], *item, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		FAIL("fault.params.model: longer than %zu characters", sizeof(buf) - 1);
	if (strncmp(s, "ge:", 3))
		FAIL("fault.params.model: '%s' is not a loss model (known: " MODEL_FORM ")", s);
	snprintf(buf, sizeof(buf), "%s", s + 3);
	if (!*buf || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,") || *buf == ',')
		FAIL("fault.params.model: '%s' is not of the form " MODEL_FORM, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		const char *k = strchr(keys, item[0]);
		int i = k && item[0] ? (int)(k - keys) : -1;

		if (i < 0 || item[1] != '=')
			FAIL("fault.params.model: '%s' is not p=, r=, h= or k= (" MODEL_FORM ")",
			     item);
		if (seen[i])
			FAIL("fault.params.model: %c given twice", item[0]);
		seen[i] = true;
		if (model_value(item[0], item + 2, vals[i], err, errlen))
			return -EINVAL;
	}
	if (!seen[0])
		FAIL("fault.params.model: p missing (P(good -> bad), like ge:p=1%%,r=30%%)");
	/* tc-netem's defaults: r = 1 - p (independent loss p), h = 0, k = 1. */
	if (!seen[1])
		l->r = 1 - l->p;
	if (!seen[2])
		l->h = 0;
	if (!seen[3])
		l->k = 1;
	l->kind = FL_LOSS_GE;
	snprintf(l->model, sizeof(l->model), "%s", s);
	return 0;
}

int loss_from_json(json_t *p, double prob, struct fl_loss_params *l, char *err, size_t errlen)
{
	json_t *m = json_object_get(p, "model"), *c = json_object_get(p, "correlation");

	memset(l, 0, sizeof(*l));
	if (m && c)
		FAIL("fault.params.correlation: not with a model (the model's p and r make its "
		     "bursts)");
	if (m && json_object_get(p, "prob"))
		FAIL("fault.params.prob: not with a model (the model sets the loss: p, r, h, k)");
	if (m && !json_is_string(m))
		FAIL("fault.params.model: must be a string like \"ge:p=1%%,r=30%%,h=0,k=100%%\"");
	if (m)
		return loss_parse_model(json_string_value(m), l, err, errlen);
	if (!c)
		return 0;
	if (json_is_number(c)) {
		l->correlation = json_number_value(c);
		if (!(l->correlation >= 0 && l->correlation <= 1))
			FAIL("fault.params.correlation: %g is outside 0..1", l->correlation);
	} else if (json_is_string(c)) {
		int e = parse_prob(json_string_value(c), &l->correlation);

		if (e == -ERANGE)
			FAIL("fault.params.correlation: '%s' is outside 0..1",
			     json_string_value(c));
		if (e)
			FAIL("fault.params.correlation: '%s' is not a fraction (0.25 or 25%%)",
			     json_string_value(c));
	} else {
		FAIL("fault.params.correlation: must be a number 0..1 or a string like \"25%%\"");
	}
	if (l->correlation >= 1)
		FAIL("fault.params.correlation: 1 would repeat the first packet's fate forever; "
		     "use below 1");
	if (prob >= 1)
		FAIL("fault.params.correlation: needs a prob below 1 (with prob 1 every packet is "
		     "dropped)");
	if (l->correlation > 0 && l->correlation < FL_PROB_RESOLUTION)
		FAIL("fault.params.correlation: %g is below the resolution of the random draw "
		     "(2^-32); use 0 or more",
		     l->correlation);
	l->kind = l->correlation > 0 ? FL_LOSS_CORRELATED : FL_LOSS_NONE;
	return 0;
}

void loss_to_json(const struct fl_loss_params *l, json_t *params)
{
	if (l->kind == FL_LOSS_GE)
		json_object_set_new(params, "model", json_string(l->model));
	else if (l->kind == FL_LOSS_CORRELATED)
		json_object_set_new(params, "correlation", json_real(l->correlation));
}

/* The program's threshold for probability x: drop.h, prob. */
static uint32_t threshold(double x)
{
	if (x >= 1)
		return 0xffffffffu;
	return x <= 0 ? 0 : (uint32_t)(x * 4294967296.0);
}

static double fraction(uint32_t t)
{
	return t == 0xffffffffu ? 1.0 : t / 4294967296.0;
}

bool loss_chain(const struct fl_loss_params *l, double prob, struct fl_loss_chain *c)
{
	double cor = l->correlation;

	memset(c, 0, sizeof(*c));
	if (l->kind == FL_LOSS_GE) {
		*c = (struct fl_loss_chain){threshold(l->p), threshold(l->r), threshold(1 - l->k),
					    threshold(1 - l->h)};
		return true;
	}
	if (l->kind != FL_LOSS_CORRELATED)
		return false;
	/* The chain's state is the last fate: Bad = dropped. */
	*c = (struct fl_loss_chain){threshold((1 - cor) * prob), threshold((1 - cor) * (1 - prob)),
				    0, 0xffffffffu};
	return true;
}

void loss_expect(const struct fl_loss_chain *c, double *loss, double *mean_run)
{
	double a = fraction(c->to_bad), b = fraction(c->to_good);
	double e[2] = {fraction(c->loss_good), fraction(c->loss_bad)};
	double pi[2] = {1, 0}, start = 0; /* a + b = 0: it stays in Good, where it starts */

	if (a + b > 0) {
		pi[0] = b / (a + b);
		pi[1] = a / (a + b);
	}
	*loss = pi[0] * e[0] + pi[1] * e[1];
	/* A run begins where a delivered packet is followed by a dropped one;
	 * the move is drawn apart from the fate, so these multiply. */
	start = pi[0] * (1 - e[0]) * ((1 - a) * e[0] + a * e[1]) +
		pi[1] * (1 - e[1]) * (b * e[0] + (1 - b) * e[1]);
	*mean_run = start > 0 ? *loss / start : 0;
}
