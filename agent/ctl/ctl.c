// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include "client.h"
#include "ctl.h"
#include "log.h"

int ctl_vusage_error(const char *fmt, va_list ap)
{
	fprintf(stderr, "agentctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see agentctl --help)\n");
	return EXIT_USAGE;
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = ctl_vusage_error(fmt, ap);
	va_end(ap);
	return ret;
}

int ctl_call(const char *sock, json_t *req, json_t **reply)
{
	char err[512];
	int ret = client_call(sock, req, reply, err, sizeof(err));

	if (!ret)
		return EXIT_OK;
	fl_err("%s", err);
	return ret == -EREMOTEIO ? EXIT_REFUSED : EXIT_NOAGENT;
}

void ctl_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}
