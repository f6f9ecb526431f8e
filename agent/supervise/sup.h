/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside agentctl exec: the supervisor's state, shared by its setup
 * (supervise.c) and its loop (sup_loop.c). */
#ifndef FL_SUP_H
#define FL_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "rules.h"

#define SUP_MAX_HELD	 256
#define SUP_REPORT_NS	 (100 * 1000000ULL) /* events and counters to agentd this often */
#define SUP_REPORT_BATCH 200

struct sup_held {
	uint64_t id;	   /* the notification */
	uint32_t tid;	   /* the thread that waits */
	int nr;		   /* in this syscall */
	uint64_t deadline; /* CLOCK_MONOTONIC ns: let it go on then */
	uint32_t fault_id; /* the fault that holds it */
	uint64_t aborted;  /* 0, or when the kernel aborted it (a signal): until
			    * SUP_ABORTED_NS later, its restart keeps the deadline */
};

#define SUP_ABORTED_NS (1000 * 1000000ULL)

struct sup {
	int listener; /* the seccomp notification fd */
	int agent;    /* the supervise connection to agentd; -1 when it has gone */
	int exec_fd;  /* the child's end of the start-up socket: EOF once it has exec'd */
	int sigfd;
	pid_t child; /* CMD */
	int status;  /* CMD's wait status, once it has exited */
	bool child_done;
	bool armed;	 /* CMD has exec'd: faults apply from now on */
	bool final_seen; /* agentd has taken the last report */
	struct sup_rules rules;
	struct sup_held held[SUP_MAX_HELD];
	int nheld;
	json_t *events; /* not yet reported */
	uint64_t next_report;
	char inbuf[65536 + 2];
	size_t inlen;
};

/* Read lines from agentd (pushes); returns -1 when it has gone. */
int sup_agent_read(struct sup *s);
/* Handle one line from agentd. */
void sup_agent_line(struct sup *s, const char *line, size_t len);
/* The loop: until CMD and everything it started have exited. */
int sup_loop(struct sup *s);

#endif
