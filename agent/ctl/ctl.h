/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What agentctl's commands share: exit codes, usage errors, one call. */
#ifndef FL_CTL_H
#define FL_CTL_H

#include <stdarg.h>
#include <jansson.h>

/* Exit codes (agentctl(8)). */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the agent answered with an error */
	EXIT_USAGE = 2,	  /* bad command line */
	EXIT_NOAGENT = 3, /* no agent to talk to */
};

/* "agentctl: WHAT (see agentctl --help)" on stderr; returns EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_vusage_error(const char *fmt, va_list ap);
/* One request (stolen), one reply; the exit code that goes with it. */
int ctl_call(const char *sock, json_t *req, json_t **reply);
void ctl_print_json(json_t *j);

#endif
