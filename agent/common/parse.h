/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Strict parsers for what people type: durations, probabilities, ports, CIDRs. */
#ifndef FL_PARSE_H
#define FL_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

/* "250ms", "30s", "5m", "1h", "1.5s", "100us", "20ns"; a bare number is
 * seconds. Returns 0 or -EINVAL (garbage, negative, overflow). */
int parse_duration_ns(const char *s, uint64_t *ns);
/* Writes a duration the way parse_duration_ns reads it ("1.5s", "250ms"). */
void format_duration(uint64_t ns, char *buf, size_t len);
/* "0.3", "30%", "1" -> [0, 1]. */
int parse_prob(const char *s, double *p);
/* "80" or "8000-8100" -> lo..hi, 1..65535, lo <= hi. */
int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);
/* "10.0.0.0/8", "2001:db8::/32", "1.2.3.4" (a host). family is AF_INET or
 * AF_INET6; addr and mask are in network byte order, IPv4 in word 0. */
int parse_cidr(const char *s, uint8_t *family, uint32_t addr[4], uint32_t mask[4]);
/* Strict unsigned integer with optional k/M/G (x1000) suffix when allow_suffix. */
int parse_u64(const char *s, uint64_t *v, bool allow_suffix);
/* Sizes: "64", "4k", "10M", "1G" (x1024). */
int parse_size(const char *s, uint64_t *bytes);

#endif
