// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The seccomp backend of the errno and syscall-latency kinds, agentd's
 * side. The supervisor is `agentctl exec` (agent/supervise/): it holds the
 * seccomp listener of the process it started and answers each trapped
 * call. agentd keeps the faults (list, TTL, clear, the event log) and
 * pushes each one down the connection of every supervisor it applies to;
 * the supervisors report back what they injected. When agentd goes, the
 * connection closes and the supervisors drop every fault: nothing outlives
 * the agent. docs/backends.md, "seccomp".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>
#include "errno_kind.h"
#include "errno_names.h"
#include "event.h"
#include "events.h"
#include "log.h"
#include "seccomp_sup.h"

#define MAX_SUPS 32

struct sup {
	int fd; /* the supervisor's connection; -1: free */
	uint32_t pid;
	uint64_t trap[FL_TRAP_WORDS];
};

struct sc_fault {
	struct sc_fault *next;
	uint32_t id;
	uint16_t kind;
	uint64_t matched, injected;
	int nsups;	   /* supervisors it was pushed to */
	uint32_t sup_mask; /* which (slots), while they live */
};

static struct sup sups[MAX_SUPS] = {[0 ... MAX_SUPS - 1] = {.fd = -1}};
static struct sc_fault *faults;

static int push(struct sup *s, json_t *msg)
{
	char *line = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(12));
	size_t len;
	int ret = 0;

	json_decref(msg);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len] = '\n';
	if (send(s->fd, line, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len + 1) {
		/* A line cut short would garble the next: let the supervisor go
		 * (it then drops every fault, the safe side). */
		ret = -EIO;
		fl_log("cannot reach the supervisor of pid %u (%s): letting it go", s->pid,
		       strerror(errno));
		shutdown(s->fd, SHUT_RDWR);
	}
	free(line);
	return ret;
}

/* pid is root or below it (its parent chain reaches root). */
static bool in_tree(uint32_t pid, uint32_t root)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		char path[64], buf[512], *p;
		FILE *f;
		unsigned ppid = 0;

		if (pid == root)
			return true;
		snprintf(path, sizeof(path), "/proc/%u/stat", pid);
		f = fopen(path, "re");
		if (!f)
			return false;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!p || sscanf(p, ") %*c %u", &ppid) != 1)
			return false;
		pid = ppid;
	}
	return false;
}

static bool traps(const struct sup *s, int nr)
{
	return nr >= 0 && nr < FL_TRAP_WORDS * 64 && (s->trap[nr / 64] >> (nr % 64) & 1);
}

/* The supervisors a fault applies to, as a mask; why none in err. */
static uint32_t sups_for(const struct fl_fault_spec *s, char *err, size_t errlen)
{
	uint32_t mask = 0;
	const struct sup *under = NULL;

	for (int i = 0; i < MAX_SUPS; i++) {
		if (sups[i].fd < 0 || (s->target.pid && !in_tree(s->target.pid, sups[i].pid)))
			continue;
		under = &sups[i];
		if (traps(&sups[i], s->sys.nr))
			mask |= 1u << i;
	}
	if (mask)
		return mask;
	if (!under && s->target.pid)
		snprintf(err, errlen,
			 "pid %u is not under a supervisor: start it with agentctl exec -- CMD",
			 s->target.pid);
	else if (!under)
		snprintf(err, errlen,
			 "no process runs under agentctl exec, the seccomp supervisor");
	else
		snprintf(err, errlen,
			 "the supervisor of pid %u does not trap %s: name it when starting "
			 "(agentctl exec --trap %s or a --fault on it)",
			 under->pid, s->sys.syscall, s->sys.syscall);
	return 0;
}

int seccomp_check(const struct fl_fault_spec *s, char *err, size_t errlen)
{
	if (*s->target.cgroup) {
		snprintf(
		    err, errlen,
		    "fault.target.cgroup: the seccomp backend targets processes under agentctl "
		    "exec (pid, comm, path), not cgroups");
		return -EINVAL;
	}
	return sups_for(s, err, errlen) ? 0 : -ENOENT;
}

int seccomp_add(const struct fl_fault_spec *s, uint32_t fault_id, bool dry_run, void **state,
		char *plan, size_t planlen, char *err, size_t errlen)
{
	uint32_t mask = sups_for(s, err, errlen);
	struct sc_fault *f;
	int n = 0;

	if (!mask)
		return -ENOENT;
	for (int i = 0; i < MAX_SUPS; i++)
		n += mask >> i & 1;
	snprintf(plan, planlen,
		 "answer trapped %s calls in %d seccomp supervisor%s (agentctl exec)",
		 s->sys.syscall, n, n == 1 ? "" : "s");
	if (dry_run)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->id = fault_id;
	f->kind = s->kind;
	for (int i = 0; i < MAX_SUPS; i++)
		if (mask >> i & 1 && !push(&sups[i], json_pack("{s:s,s:I,s:o}", "push", "add", "id",
							       (json_int_t)fault_id, "fault",
							       fault_spec_to_json(s)))) {
			f->sup_mask |= 1u << i;
			f->nsups++;
		}
	if (!f->nsups) {
		free(f);
		snprintf(err, errlen, "cannot reach the supervisor (see the agent's log)");
		return -EIO;
	}
	f->next = faults;
	faults = f;
	*state = f;
	return 0;
}

void seccomp_remove(void *state)
{
	struct sc_fault *f = state, **p;

	for (int i = 0; i < MAX_SUPS; i++)
		if (f->sup_mask >> i & 1 && sups[i].fd >= 0)
			push(&sups[i],
			     json_pack("{s:s,s:I}", "push", "remove", "id", (json_int_t)f->id));
	for (p = &faults; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	free(f);
}

void seccomp_counters(const void *state, struct fl_counters *c)
{
	const struct sc_fault *f = state;

	c->matched = f->matched;
	c->injected = f->injected;
}

void seccomp_describe(const void *state, json_t *fault)
{
	const struct sc_fault *f = state;
	int live = 0;

	for (int i = 0; i < MAX_SUPS; i++)
		live += f->sup_mask >> i & 1;
	json_object_set_new(fault, "supervisors", json_integer(live));
}

int seccomp_hooks(void)
{
	int n = 0;

	for (int i = 0; i < MAX_SUPS; i++)
		n += sups[i].fd >= 0;
	return n;
}

json_t *seccomp_sup_register(int fd, const struct fl_request *req)
{
	for (int i = 0; i < MAX_SUPS; i++)
		if (sups[i].fd < 0) {
			sups[i].fd = fd;
			sups[i].pid = req->pid;
			memcpy(sups[i].trap, req->trap, sizeof(sups[i].trap));
			fl_log("a seccomp supervisor serves pid %u", req->pid);
			return json_pack("{s:b,s:i}", "ok", 1, "pid", (int)req->pid);
		}
	return proto_error("the agent serves %d supervisors already, its most", MAX_SUPS);
}

static struct sc_fault *find(uint32_t id)
{
	for (struct sc_fault *f = faults; f; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

/* {"counters":[[id,matched,injected],...],"events":[[id,mono_ns,pid,nr,value,"comm"],...]},
 * counters as increments since the last report; "final":true asks for an answer. */
void seccomp_sup_line(int fd, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL), *v;
	size_t i;

	json_array_foreach(json_object_get(j, "counters"), i, v)
	{
		struct sc_fault *f = find(json_integer_value(json_array_get(v, 0)));

		if (f) {
			f->matched += json_integer_value(json_array_get(v, 1));
			f->injected += json_integer_value(json_array_get(v, 2));
		}
	}
	json_array_foreach(json_object_get(j, "events"), i, v)
	{
		struct fl_event e = {};
		struct sc_fault *f = find(json_integer_value(json_array_get(v, 0)));
		const char *comm = json_string_value(json_array_get(v, 5));

		if (!f)
			continue;
		e.fault_id = f->id;
		e.kind = f->kind;
		e.ts_ns = json_integer_value(json_array_get(v, 1));
		e.pid = json_integer_value(json_array_get(v, 2));
		e.sysno = json_integer_value(json_array_get(v, 3));
		e.value = json_integer_value(json_array_get(v, 4));
		snprintf(e.comm, sizeof(e.comm), "%s", comm ? comm : "");
		events_emit(&e);
	}
	/* The last report before the supervisor clears its faults: say it is in. */
	if (json_is_true(json_object_get(j, "final"))) {
		static const char ack[] = "{\"ok\":true,\"final\":true}\n";

		send(fd, ack, sizeof(ack) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	json_decref(j);
}

void seccomp_sup_gone(int fd)
{
	for (int i = 0; i < MAX_SUPS; i++)
		if (sups[i].fd == fd) {
			fl_log("the seccomp supervisor of pid %u has gone", sups[i].pid);
			sups[i].fd = -1;
			for (struct sc_fault *f = faults; f; f = f->next)
				f->sup_mask &= ~(1u << i);
		}
}
