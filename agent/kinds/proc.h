/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the process faults (kill, pause, cpu; kinds/proc_*.c) share: which
 * processes a target names, which ones no fault may touch, and the undoable
 * change (a cgroup file written, processes stopped) that a pause or a cpu
 * cap is, with the watchdog that undoes it when the agent dies and the
 * record in the state folder that the next agent undoes it from.
 */
#ifndef FL_PROC_H
#define FL_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "event.h"
#include <jansson.h>
#include "kind.h"

#define PROC_MAX_PIDS 1024 /* processes one fault acts on */

/* A set of processes, each held by a pidfd so that a pid reused meanwhile
 * is never signalled. */
struct proc_set {
	int n;
	pid_t pid[PROC_MAX_PIDS];
	int pidfd[PROC_MAX_PIDS];
	uint64_t start[PROC_MAX_PIDS]; /* start time (clock ticks since boot) */
	char comm[PROC_MAX_PIDS][16];
};

/* The kind_env of agentd, kept by proc_init for the other proc_* files. */
extern struct kind_env proc_env;
int proc_init(const struct kind_env *env);

/* The fields a process fault may not have (network ones), and that it has
 * one of pid, comm, cgroup. */
int proc_check_target(const struct fl_fault_spec *s, char *err, size_t errlen);
/* A cgroup path as given ("/svc", "svc", or the full path under mount) to
 * the folder under mount; refused when missing, the root, or holding pid 1,
 * the agent or one of its ancestors. hier is "0::" (v2) or a v1 controller
 * name ("cpu"), to find a process's cgroup in /proc/PID/cgroup. */
int proc_cgroup_dir(const char *given, const char *mount, const char *hier, char *dir, size_t len,
		    char *err, size_t errlen);
/* Every process the target names (pid, comm, and the processes of cgdir,
 * all that are given), skipping protected ones unless named by pid, which
 * is then refused. Fills set (pidfds open); 0 processes is an error. */
int proc_collect(const struct fl_target *t, const char *cgdir, struct proc_set *set, char *err,
		 size_t errlen);
void proc_set_close(struct proc_set *set);
/* Keep the pids and names (for events), close the pidfds. */
void proc_set_drop_fds(struct proc_set *set);
/* The first line of a (small) file, without its newline and trailing blanks. */
int proc_read_line(const char *path, char *buf, size_t len);
uint64_t proc_start_time(pid_t pid); /* 0 when gone */
char proc_state(pid_t pid);	     /* 'R', 'S', 'T', ...; 0 when gone */

/* "pid 42 (nginx), pid 43 (nginx)" (the first few) for a plan or the log. */
void proc_plan_list(const struct proc_set *set, char *buf, size_t len);

/* One event of the agent's own (pid, comm from set entry i; value by kind),
 * stamped now, written at the next proc_events_flush. */
void proc_event(uint16_t kind, uint32_t fault_id, const struct proc_set *set, int i,
		uint64_t value);
/* The same with extra fields for the record (a reference it takes; NULL
 * none). proc_event adds proc_listen's on a pause's or cap's start event. */
void proc_event_with(uint16_t kind, uint32_t fault_id, const struct proc_set *set, int i,
		     uint64_t value, json_t *extra);
/* The addresses pid listens on (proc_listen.c) as fields of an event
 * record: "netns", "listen", "netns_addrs", "listen_truncated"; NULL when
 * it has none (or is gone). Read a kill's before the signal. */
json_t *proc_listen(pid_t pid);
/* proc_listen of set entry i, NULL when its pid is another process's now. */
json_t *proc_listen_of(const struct proc_set *set, int i);
void proc_events_flush(void);
void proc_shutdown(void); /* flush, free */

/* ---- an undoable change: a cgroup file written and/or processes stopped ---- */

struct proc_change {
	struct proc_change *next;
	uint32_t fault_id;
	uint16_t kind;
	char file[PATH_MAX]; /* the cgroup file written; "" for none */
	char set[64];	     /* what was written */
	char restore[64];    /* what undoes it */
	int fd;		     /* file, open for writing, for the watchdog */
	bool stopped;	     /* the processes in procs were sent SIGSTOP */
	struct proc_set procs;
	pid_t watchdog;
	int watchdog_fd; /* write end of its pipe */
	bool undone;	 /* the watchdog undid it (the agent's heartbeat stalled) */
};

/* Write c->set into c->file, SIGSTOP c->procs if c->stopped, start the
 * watchdog and record c in the state folder. On failure nothing is left
 * changed. */
int proc_change_apply(struct proc_change *c, char *err, size_t errlen);
/* Undo and forget c (c and its c->procs stay the caller's to close). */
void proc_change_undo(struct proc_change *c);
/* apply, then an event with value per process (the kind's "start" value);
 * end: undo, an event with value 0 per process, and close c->procs. */
int proc_change_start(struct proc_change *c, uint64_t value, char *err, size_t errlen);
void proc_change_end(struct proc_change *c);
/* A pause's or cap's counters: the processes it took, matched and injected. */
void proc_change_counters(const void *state, struct fl_counters *c);
/* Each tick: tell every watchdog the agent is alive. */
void proc_change_heartbeat(void);
int proc_change_count(void);
/* Undo what an earlier agent recorded and did not undo. */
int proc_change_cleanup_leftovers(const struct kind_env *env);
/* pid is one of our watchdogs. */
bool proc_is_watchdog(pid_t pid);

/* The watchdog (proc_watchdog.c). Forks a process that keeps c's file fd
 * and pidfds; it undoes c when the agent's pipe closes (the agent died) or
 * its heartbeat stops for PROC_WATCHDOG_STALE_MS, and exits quietly when
 * the agent says it has undone c itself. */
#define PROC_WATCHDOG_STALE_MS 2000
int proc_watchdog_start(struct proc_change *c, char *err, size_t errlen);
void proc_watchdog_beat(struct proc_change *c);
void proc_watchdog_stop(struct proc_change *c);
/* The undo itself, shared by the agent and the watchdog: async-signal-safe. */
void proc_change_revert(const struct proc_change *c);

#endif
