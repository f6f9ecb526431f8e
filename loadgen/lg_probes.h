/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * USDT probes (provider "loadgen"). A probe is a nop until a tracer
 * attaches; the arguments are registers that are live anyway.
 *
 *   request_begin(u64 run_id, u32 instance, u64 seq, u16 local_port,
 *                 u64 socket_cookie)
 *   request_end(u64 run_id, u32 instance, u64 seq, u16 local_port,
 *               u64 socket_cookie, u16 status, u8 outcome, s32 err)
 *
 * local_port and socket_cookie are 0 when not known yet (a connection
 * still being made at begin; always at begin with the curl engine).
 * bpftrace -l 'usdt:/path/to/loadgen:*' lists them.
 */
#ifndef LG_PROBES_H
#define LG_PROBES_H

#include <sys/sdt.h>

#define LG_PROBE_BEGIN(run, inst, seq, port, cookie)                                               \
	DTRACE_PROBE5(loadgen, request_begin, run, inst, seq, port, cookie)
#define LG_PROBE_END(run, inst, seq, port, cookie, status, outcome, err)                           \
	DTRACE_PROBE8(loadgen, request_end, run, inst, seq, port, cookie, (uint16_t)(status),      \
		      (uint8_t)(outcome), (int32_t)(err))

#endif
