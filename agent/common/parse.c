// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"

int parse_duration_ns(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
	    {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
	};
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	if (!*end) {
		v *= 1e9;
	} else {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(end, units[i].unit))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		v *= units[i].mult;
	}
	if (v >= 1.8e19)
		return -EINVAL;
	*ns = (uint64_t)(v + 0.5);
	return 0;
}

/* ns in a unit of `digits` decimals, the fraction's trailing zeros cut:
 * exact, where %g keeps six digits and turns 999999999 ns into "1000ms". */
static void format_unit(uint64_t ns, uint64_t unit, int digits, const char *name, char *buf,
			size_t len)
{
	unsigned long long whole = ns / unit, frac = ns % unit;

	if (!frac) {
		snprintf(buf, len, "%llu%s", whole, name);
		return;
	}
	for (; frac % 10 == 0; frac /= 10)
		digits--;
	snprintf(buf, len, "%llu.%0*llu%s", whole, digits, frac, name);
}

void format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 3600000000000ULL && ns % 3600000000000ULL == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ns / 3600000000000ULL));
	else if (ns >= 60000000000ULL && ns % 60000000000ULL == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ns / 60000000000ULL));
	else if (ns >= 1000000000ULL)
		format_unit(ns, 1000000000ULL, 9, "s", buf, len);
	else if (ns >= 1000000ULL)
		format_unit(ns, 1000000ULL, 6, "ms", buf, len);
	else if (ns >= 1000ULL)
		format_unit(ns, 1000ULL, 3, "us", buf, len);
	else
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

int parse_prob(const char *s, double *p)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return -EINVAL;
	if (v < 0 || v > 1)
		return -ERANGE;
	*p = v;
	return 0;
}

static int parse_port(const char *s, const char *end, uint16_t *port)
{
	unsigned long v = 0;
	const char *c;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (c = s; c < end; c++) {
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
		v = v * 10 + (*c - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*port = v;
	return 0;
}

int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash;
	int err;

	if (!s)
		return -EINVAL;
	dash = strchr(s, '-');
	if (!dash) {
		err = parse_port(s, s + strlen(s), lo);
		if (!err)
			*hi = *lo;
		return err;
	}
	err = parse_port(s, dash, lo);
	if (!err)
		err = parse_port(dash + 1, dash + 1 + strlen(dash + 1), hi);
	if (!err && *lo > *hi)
		err = -EINVAL;
	return err;
}

int parse_cidr(const char *s, uint8_t *family, uint32_t addr[4], uint32_t mask[4])
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char bytes[16] = {}, mbytes[16] = {};
	char *slash;
	long bits;
	int max, i;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, bytes) == 1) {
		*family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, bytes) == 1) {
		*family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	bits = max;
	if (slash) {
		char *end;

		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || *end || bits < 0 || bits > max)
			return -EINVAL;
	}
	for (i = 0; i < max / 8; i++) {
		int b = bits - i * 8;

		mbytes[i] = b >= 8 ? 0xff : b <= 0 ? 0 : (unsigned char)(0xff << (8 - b));
		bytes[i] &= mbytes[i];
	}
	memcpy(addr, bytes, 16);
	memcpy(mask, mbytes, 16);
	return 0;
}

/* The leading decimal digits of s; *end points past them. */
static int leading_u64(const char *s, unsigned long long *x, char **end)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*x = strtoull(s, end, 10);
	return errno ? -ERANGE : 0;
}

int parse_u64(const char *s, uint64_t *v, bool allow_suffix)
{
	unsigned long long x, mult = 1;
	char *end;
	int ret = leading_u64(s, &x, &end);

	if (ret)
		return ret;
	if (*end && allow_suffix && !end[1]) {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1000;
			break;
		case 'M':
			mult = 1000000;
			break;
		case 'G':
			mult = 1000000000;
			break;
		default:
			return -EINVAL;
		}
	} else if (*end) {
		return -EINVAL;
	}
	if (x > UINT64_MAX / mult)
		return -ERANGE;
	*v = x * mult;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long x, mult = 1;
	char *end;
	int ret = leading_u64(s, &x, &end);

	if (ret)
		return ret;
	if (*end) {
		const char *units = "kMG";
		const char *u = strchr(units, *end == 'K' ? 'k' : *end);

		if (!u || !*u || (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")))
			return -EINVAL;
		mult = 1ULL << (10 * (u - units + 1));
	}
	if (x > UINT64_MAX / mult)
		return -ERANGE;
	*bytes = x * mult;
	return 0;
}
