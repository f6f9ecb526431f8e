// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "log.h"

int fl_verbose;
const char *fl_prog = "faultline";

static void vline(const char *fmt, va_list ap, int stamp)
{
	char ts[40] = "";

	if (stamp) {
		struct timespec t;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &t);
		gmtime_r(&t.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + 19, sizeof(ts) - 19, ".%03ldZ ", t.tv_nsec / 1000000);
	}
	fprintf(stderr, "%s%s: ", ts, fl_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap, 0);
	va_end(ap);
}

void fl_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap, 1);
	va_end(ap);
}

void fl_debug(const char *fmt, ...)
{
	va_list ap;

	if (!fl_verbose)
		return;
	va_start(ap, fmt);
	vline(fmt, ap, 1);
	va_end(ap);
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec;
}

uint64_t now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t now_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}
