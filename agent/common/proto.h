/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The control protocol: one JSON object per line in each direction, on the
 * agent's Unix socket (and later on an authenticated TCP endpoint). The
 * fault object is also what scenario files carry. docs/protocol.md
 * describes the wire format; this file is its one definition in C.
 *
 *   -> {"cmd":"inject","fault":{...},"dry_run":false}
 *   <- {"ok":true,"fault":{...,"id":7,"backend":"tcx"}}
 *   <- {"ok":false,"error":"unknown device 'eth9' (see: ip link)"}
 */
#ifndef FL_PROTO_H
#define FL_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <net/if.h>
#include <jansson.h>
#include "drop.h"
#include "loss.h"

#define FL_PROTO_MAX_LINE  65536 /* longer requests are refused */
#define FL_DEFAULT_SOCKET  "/run/faultline/agent.sock"
#define FL_DEFAULT_STATE   "/run/faultline"
#define FL_DEFAULT_METRICS 9464
#define FL_NAME_LEN	   64
#define FL_NETNS_LEN	   256
#define FL_TRAP_WORDS	   8			/* syscall numbers below 512 */
#define FL_PROB_RESOLUTION (1.0 / 4294967296.0) /* one step of a 32-bit draw */

enum fl_cmd {
	FL_CMD_STATUS,
	FL_CMD_DOCTOR,
	FL_CMD_INJECT,
	FL_CMD_LIST,
	FL_CMD_CLEAR,
	FL_CMD_SUPERVISE, /* agentctl exec: this connection supervises pid */
	FL_CMD_MAX,
};

/* Where a fault applies. Network faults use dev/netns/dir/match; faults on
 * processes and their calls use cgroup/pid/comm/path (and the match for a
 * socket call's address and port). */
struct fl_target {
	char dev[IF_NAMESIZE];
	char netns[FL_NETNS_LEN]; /* "" = the agent's; a name, a path or "pid:N" */
	uint8_t dir;		  /* enum fl_dir */
	struct fl_match match;
	char src[64]; /* as given, for display; the match holds the parsed form */
	char dst[64];
	char cgroup[256]; /* a cgroup v2 path, absolute or below the cgroup2 mount */
	uint32_t pid;	  /* a process (tgid), 0 = any */
	char comm[16];	  /* a command name, "" = any */
	char path[256];	  /* a file path prefix, for calls that take a path */
};

/* The errno and syscall-latency kinds' parameters (params.syscall, .errno,
 * .delay, .jitter). */
struct fl_errno_params {
	char syscall[32];   /* as named */
	int32_t nr;	    /* its number on this machine */
	int32_t err;	    /* the errno to fail it with, positive; 0 for latency */
	uint64_t delay_ns;  /* syscall-latency: how long to hold each call */
	uint64_t jitter_ns; /* and up to this much more or less, uniformly */
	char warning[160];  /* "" or why the fault may not mean what it says */
};

/* Parameters of the process faults (kill, pause, cpu). */
struct fl_proc_params {
	int signal;   /* kill: the signal sent (SIGKILL unless given) */
	double quota; /* cpu: the share of one CPU the cgroup may use, 0 < quota <= 1 */
};
/* A latency fault's parameters (kind "latency"; docs/protocol.md). */
enum fl_lat_dist { FL_DIST_UNIFORM, FL_DIST_NORMAL, FL_DIST_PARETO };
#define FL_LAT_MAX_DELAY_NS  (10 * 1000000000ULL) /* delay + jitter at most 10 s */
#define FL_LAT_DEFAULT_QUEUE 16384		  /* packets one fault may hold */
#define FL_LAT_MAX_QUEUE     262144

struct fl_latency_params {
	uint64_t delay_ns;
	uint64_t jitter_ns; /* spread around delay, by dist */
	uint8_t dist;	    /* enum fl_lat_dist */
	uint8_t per;	    /* enum fl_lat_per (bpf/latency.h) */
	double correlation; /* 0..1: how much each draw leans on the last */
	uint32_t queue_len; /* packets held at most; the rest pass (fail-open) */
};

const char *fl_lat_dist_name(uint8_t dist);
const char *fl_lat_per_name(uint8_t per);

struct fl_fault_spec {
	uint16_t kind; /* enum fl_kind */
	char name[FL_NAME_LEN];
	char backend[16];     /* "" = the best this kernel allows */
	double prob;	      /* 0..1 */
	uint64_t duration_ns; /* time to live; 0 = the agent's default */
	bool force;	      /* may touch protected ports */
	struct fl_target target;
	struct fl_errno_params sys;	  /* errno, syscall-latency */
	struct fl_proc_params proc;	  /* kill, pause, cpu */
	struct fl_latency_params latency; /* kind latency */
	struct fl_loss_params loss;	  /* drop: correlation or a model (loss.h) */
};

struct fl_request {
	enum fl_cmd cmd;
	bool dry_run; /* inject: say what would happen, change nothing */
	bool all;     /* clear: every fault */
	uint32_t id;  /* clear: the fault id */
	struct fl_fault_spec fault;
	uint32_t pid;		      /* supervise: the process agentctl exec started */
	uint64_t trap[FL_TRAP_WORDS]; /* supervise: the syscalls its filter traps (bits) */
};

const char *fl_cmd_name(enum fl_cmd cmd);

/* Parse one request line (not NUL-terminated necessarily). On error returns
 * -EINVAL (-E2BIG for a line over FL_PROTO_MAX_LINE) and writes a one-line
 * reason to err. */
int proto_parse_request(const char *line, size_t len, struct fl_request *req, char *err,
			size_t errlen);
/* The fault object <-> struct. from_json names the offending field in err. */
int fault_spec_from_json(json_t *j, struct fl_fault_spec *s, char *err, size_t errlen);
json_t *fault_spec_to_json(const struct fl_fault_spec *s);
/* The first process field a target names (cgroup, pid, comm, path), or
 * NULL: for kinds that match packets only. */
const char *fl_target_process_field(const struct fl_target *t);
json_t *proto_request_to_json(const struct fl_request *req);

/* The signals a kill fault may send, by name ("KILL", "SIGTERM", "term").
 * Returns the number, or 0 when the name is not one of them. */
int proto_signal_from_name(const char *name);
const char *proto_signal_name(int sig); /* "KILL"; NULL when not one of them */
const char *proto_signal_names(void);	/* "KILL, TERM, ..." for messages */

/* Replies. proto_reply_line returns a malloc'd "...\n" string. */
json_t *proto_ok(void);
json_t *proto_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *proto_reply_line(json_t *reply); /* steals the reference */

#endif
