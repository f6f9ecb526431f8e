// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The supervisor's loop: answer each trapped call (let it go on, fail it
 * with the fault's errno, or hold it for the fault's delay), report what it
 * did to agentd, take the faults agentd pushes, and reap CMD.
 *
 * A held call whose thread takes a signal is aborted by the kernel and
 * restarted after the handler; the restarted call arrives as a new
 * notification from the same thread for the same syscall, and takes the
 * place of the old one with the old deadline: the delay is not doubled.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <seccomp.h>
#include "event.h"
#include "log.h"
#include "sup.h"

/* 0, or -ENOENT when nothing waits for the answer any more (the thread
 * was interrupted by a signal, or has died). */
static int respond(struct sup *s, uint64_t id, int err, bool go_on)
{
	struct seccomp_notif_resp resp = {.id = id};

	if (go_on)
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else
		resp.error = -err;
	if (!ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp))
		return 0;
	if (errno != ENOENT)
		fl_err("cannot answer a trapped call: %s", strerror(errno));
	return -errno;
}

static void release_held(struct sup *s, uint64_t now, bool all)
{
	for (int i = 0; i < s->nheld;) {
		struct sup_held *h = &s->held[i];

		if (h->aborted && (all || now - h->aborted > SUP_ABORTED_NS)) {
			*h = s->held[--s->nheld]; /* its restart never came */
		} else if (!h->aborted && (all || h->deadline <= now)) {
			/* Aborted just now: its restart is on the way; let it through. */
			if (respond(s, h->id, 0, true) == -ENOENT && !all)
				h->aborted = now;
			else
				*h = s->held[--s->nheld];
		} else {
			i++;
		}
	}
}

static void report(struct sup *s, bool final)
{
	json_t *counters = json_array(), *msg;
	char *line;

	for (int i = 0; i < s->rules.n; i++) {
		struct sup_rule *r = &s->rules.r[i];

		if (r->matched || r->injected)
			json_array_append_new(counters, json_pack("[I,I,I]", (json_int_t)r->id,
								  (json_int_t)r->matched,
								  (json_int_t)r->injected));
		r->matched = r->injected = 0;
	}
	if (s->agent < 0 || (!final && !json_array_size(counters) && !json_array_size(s->events))) {
		json_decref(counters);
		return;
	}
	msg = json_pack("{s:o,s:O,s:b}", "counters", counters, "events", s->events, "final", final);
	line = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	json_array_clear(s->events);
	if (line) {
		size_t len = strlen(line);

		line[len] = '\n'; /* json_dumps leaves room for its NUL */
		if (send(s->agent, line, len + 1, MSG_NOSIGNAL) != (ssize_t)len + 1)
			fl_err("cannot report to agentd: %s", strerror(errno));
		free(line);
	}
}

static void record(struct sup *s, const struct sup_rule *r, const struct seccomp_notif *n,
		   uint64_t value)
{
	char comm[16];

	rules_comm(n->pid, comm);
	json_array_append_new(s->events, json_pack("[I,I,I,i,I,s]", (json_int_t)r->id,
						   (json_int_t)now_mono_ns(),
						   (json_int_t)(rules_tgid(n->pid) ?: n->pid),
						   n->data.nr, (json_int_t)value, comm));
}

static void on_notification(struct sup *s, struct seccomp_notif *n)
{
	const struct sup_rule *r;
	uint64_t now = now_mono_ns(), delay;

	memset(n, 0, sizeof(*n));
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n))
		return; /* EINTR, or ENOENT: the thread went before we read it */
	for (int i = 0; i < s->nheld; i++) {
		struct sup_held *h = &s->held[i];

		if (h->tid != n->pid || h->nr != n->data.nr)
			continue;
		/* A signal aborted the held call and it restarts: same deadline. */
		if (h->deadline <= now) {
			respond(s, n->id, 0, true);
			*h = s->held[--s->nheld];
		} else {
			h->id = n->id;
			h->aborted = 0;
		}
		return;
	}
	r = s->armed ? rules_match(&s->rules, s->listener, n) : NULL;
	if (!r) {
		respond(s, n->id, 0, true);
		return;
	}
	if (r->spec.kind == FL_KIND_ERRNO) {
		respond(s, n->id, r->spec.sys.err, false);
		record(s, r, n, r->spec.sys.err);
		return;
	}
	delay = r->spec.sys.delay_ns;
	if (r->spec.sys.jitter_ns)
		delay += (uint64_t)(drand48() * 2 * r->spec.sys.jitter_ns) - r->spec.sys.jitter_ns;
	record(s, r, n, delay);
	if (s->nheld == SUP_MAX_HELD) {
		respond(s, n->id, 0, true); /* no room: let it go undelayed */
		return;
	}
	s->held[s->nheld++] = (struct sup_held){.id = n->id,
						.tid = n->pid,
						.nr = n->data.nr,
						.deadline = now + delay,
						.fault_id = r->id};
}

static void on_signal(struct sup *s)
{
	struct signalfd_siginfo si;
	int st;
	pid_t p;

	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo != SIGCHLD) {
		kill(s->child, si.ssi_signo); /* for CMD to decide */
		return;
	}
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == s->child) {
			s->status = st;
			s->child_done = true;
		}
}

static void agent_gone(struct sup *s)
{
	close(s->agent);
	s->agent = -1;
	s->rules.n = 0;
	release_held(s, 0, true);
	fl_err("agentd has gone: its faults are cleared; the command runs on untouched");
}

int sup_loop(struct sup *s)
{
	struct seccomp_notif *n = NULL;
	struct seccomp_notif_resp *unused = NULL;
	bool listening = true;

	if (seccomp_notify_alloc(&n, &unused))
		return -ENOMEM;
	s->events = json_array();
	s->next_report = now_mono_ns() + SUP_REPORT_NS;
	for (;;) {
		struct pollfd p[4] = {
		    {.fd = listening ? s->listener : -1, .events = POLLIN},
		    {.fd = s->agent, .events = POLLIN},
		    {.fd = s->exec_fd, .events = POLLIN},
		    {.fd = s->sigfd, .events = POLLIN},
		};
		uint64_t now = now_mono_ns(), next = s->next_report;
		struct timespec ts;
		char b[64];

		if (s->child_done && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break; /* CMD and all it started (we are their subreaper) are done */
		for (int i = 0; i < s->nheld; i++) {
			uint64_t d = s->held[i].aborted ? s->held[i].aborted + SUP_ABORTED_NS
							: s->held[i].deadline;

			if (d < next)
				next = d;
		}
		next = next > now ? next - now : 0;
		ts.tv_sec = next / 1000000000ULL;
		ts.tv_nsec = next % 1000000000ULL;
		if (ppoll(p, 4, &ts, NULL) < 0 && errno != EINTR)
			break;
		now = now_mono_ns();
		release_held(s, now, false);
		if (p[0].revents & POLLIN)
			on_notification(s, n);
		else if (p[0].revents & (POLLHUP | POLLERR))
			listening = false; /* every task under the filter has exited */
		if (p[1].revents && sup_agent_read(s) < 0)
			agent_gone(s);
		if (p[2].revents && read(s->exec_fd, b, sizeof(b)) <= 0) {
			close(s->exec_fd); /* CLOEXEC: CMD has exec'd, faults apply */
			s->exec_fd = -1;
			s->armed = true;
		}
		if (p[3].revents)
			on_signal(s);
		if (now >= s->next_report || json_array_size(s->events) >= SUP_REPORT_BATCH) {
			report(s, false);
			s->next_report = now + SUP_REPORT_NS;
		}
	}
	release_held(s, 0, true);
	report(s, true);
	/* Wait (a second at most) until agentd has taken it in. */
	for (int i = 0; i < 10 && s->agent >= 0 && !s->final_seen; i++) {
		struct pollfd p = {.fd = s->agent, .events = POLLIN};

		if (poll(&p, 1, 100) > 0 && sup_agent_read(s) < 0)
			break;
	}
	seccomp_notify_free(n, unused);
	json_decref(s->events);
	return 0;
}

int sup_agent_read(struct sup *s)
{
	ssize_t n = read(s->agent, s->inbuf + s->inlen, sizeof(s->inbuf) - 1 - s->inlen);
	char *start = s->inbuf, *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	s->inlen += n;
	while ((nl = memchr(start, '\n', s->inbuf + s->inlen - start))) {
		sup_agent_line(s, start, nl - start);
		start = nl + 1;
	}
	s->inlen -= start - s->inbuf;
	memmove(s->inbuf, start, s->inlen);
	if (s->inlen == sizeof(s->inbuf) - 1)
		s->inlen = 0; /* a line longer than the protocol allows: dropped */
	return 0;
}

void sup_agent_line(struct sup *s, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *op = json_string_value(json_object_get(j, "push"));
	uint32_t id = json_integer_value(json_object_get(j, "id"));
	char err[512];

	if (json_is_true(json_object_get(j, "final")))
		s->final_seen = true;
	if (op && !strcmp(op, "add")) {
		if (rules_add(&s->rules, id, json_object_get(j, "fault"), err, sizeof(err)))
			fl_err("cannot take fault %u from agentd: %s", id, err);
	} else if (op && !strcmp(op, "remove")) {
		rules_remove(&s->rules, id);
		/* Its held calls go on now: a cleared fault delays nothing more. */
		for (int i = 0; i < s->nheld; i++)
			if (s->held[i].fault_id == id)
				s->held[i].deadline = 0;
		release_held(s, now_mono_ns(), false);
	}
	json_decref(j);
}
