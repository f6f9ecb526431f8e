/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdint.h>

extern int fl_verbose;
extern const char *fl_prog; /* program name used as the prefix of every line */

/* "agentd: <message>" on stderr, one line. */
void fl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with a wall-clock timestamp: for the daemon's log. */
void fl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fl_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_mono_ns(void); /* CLOCK_MONOTONIC, same clock as bpf_ktime_get_ns */
uint64_t now_wall_ns(void); /* CLOCK_REALTIME */

#endif
