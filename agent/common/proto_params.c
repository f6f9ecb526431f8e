// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The params object of each fault kind (docs/protocol.md), both ways. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errno_names.h"
#include "jsonfield.h"
#include "latency.h"
#include "parse.h"
#include "proto.h"
#include "proto_int.h"
#include "registry.h"

static const char *const dist_names[] = {
    [FL_DIST_UNIFORM] = "uniform", [FL_DIST_NORMAL] = "normal", [FL_DIST_PARETO] = "pareto"};
static const char *const per_names[] = {[FL_LAT_PER_PACKET] = "packet",
					[FL_LAT_PER_CONNECTION] = "connection",
					[FL_LAT_PER_REQUEST] = "request"};

const char *fl_lat_dist_name(uint8_t dist)
{
	return dist < sizeof(dist_names) / sizeof(dist_names[0]) ? dist_names[dist] : "?";
}

const char *fl_lat_per_name(uint8_t per)
{
	return per < sizeof(per_names) / sizeof(per_names[0]) ? per_names[per] : "?";
}

/* A name from names[n] into *out; a missing field leaves *out alone. */
static int get_enum(json_t *p, const char *key, const char *const *names, size_t n, uint8_t *out,
		    bool *given, char *err, size_t errlen)
{
	char buf[32] = "";

	if (jf_string(p, key, "fault.params", buf, sizeof(buf), false, err, errlen))
		return -EINVAL;
	if (!*buf)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], buf)) {
			*out = i;
			*given = true;
			return 0;
		}
	if (n == 3)
		FAIL("fault.params.%s: '%s' is not %s, %s or %s", key, buf, names[0], names[1],
		     names[2]);
	FAIL("fault.params.%s: '%s' is not known", key, buf);
}

/* A fraction 0..1, as a number or "25%". */
static int get_fraction(json_t *v, const char *key, double *out, char *err, size_t errlen)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		if (!(*out >= 0 && *out <= 1))
			FAIL("fault.params.%s: %g is outside 0..1", key, *out);
	} else if (json_is_string(v)) {
		int e = parse_prob(json_string_value(v), out);

		if (e == -ERANGE)
			FAIL("fault.params.%s: '%s' is outside 0..1", key, json_string_value(v));
		if (e)
			FAIL("fault.params.%s: '%s' is not a fraction (0.3 or 30%%)", key,
			     json_string_value(v));
	} else {
		FAIL("fault.params.%s: must be a number 0..1 or a string like \"30%%\"", key);
	}
	return 0;
}

static int latency_from_json(json_t *p, const struct fl_target *t, struct fl_latency_params *l,
			     char *err, size_t errlen)
{
	const char *w = "fault.params";
	uint8_t proto = t->match.proto;
	bool given = false, dist_given = false;
	char a[32], b[32];
	json_t *v;

	l->per = proto == IPPROTO_TCP ? FL_LAT_PER_REQUEST : FL_LAT_PER_PACKET;
	l->queue_len = FL_LAT_DEFAULT_QUEUE;
	if (!p || !json_object_get(p, "delay"))
		FAIL("%s.delay: missing (how long to hold each packet, like 50ms)", w);
	if (jf_duration(p, "delay", w, &l->delay_ns, true, true, err, errlen) ||
	    jf_duration(p, "jitter", w, &l->jitter_ns, false, true, err, errlen) ||
	    get_enum(p, "distribution", dist_names, 3, &l->dist, &dist_given, err, errlen) ||
	    get_enum(p, "per", per_names, 3, &l->per, &given, err, errlen))
		return -EINVAL;
	format_duration(l->delay_ns + l->jitter_ns, a, sizeof(a));
	format_duration(FL_LAT_MAX_DELAY_NS, b, sizeof(b));
	if (l->delay_ns > FL_LAT_MAX_DELAY_NS || l->jitter_ns > FL_LAT_MAX_DELAY_NS ||
	    l->delay_ns + l->jitter_ns > FL_LAT_MAX_DELAY_NS)
		FAIL("%s.delay: delay + jitter %s is over the maximum of %s", w, a, b);
	if (l->jitter_ns > l->delay_ns) {
		format_duration(l->jitter_ns, a, sizeof(a));
		format_duration(l->delay_ns, b, sizeof(b));
		FAIL("%s.jitter: %s is larger than the delay %s: a %s spread around it would "
		     "need negative delays",
		     w, a, b, dist_names[l->dist]);
	}
	if (dist_given && !l->jitter_ns)
		FAIL("%s.distribution: needs a jitter to spread", w);
	v = json_object_get(p, "correlation");
	if (v && get_fraction(v, "correlation", &l->correlation, err, errlen))
		return -EINVAL;
	if (v && !l->jitter_ns)
		FAIL("%s.correlation: needs a jitter (correlation is between random delays)", w);
	if (l->per == FL_LAT_PER_REQUEST && proto != IPPROTO_TCP)
		FAIL("%s.per: 'request' needs proto tcp (requests are found by TCP's "
		     "sequence numbers); use per packet or connection",
		     w);
	if (l->per == FL_LAT_PER_CONNECTION && proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		FAIL("%s.per: 'connection' needs proto tcp or udp", w);
	v = json_object_get(p, "queue_len");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > FL_LAT_MAX_QUEUE)
			FAIL("%s.queue_len: must be a number of packets 1-%d", w, FL_LAT_MAX_QUEUE);
		l->queue_len = json_integer_value(v);
	}
	(void)given;
	return 0;
}

/* kill: {"signal":"TERM"}; pause: none; cpu: {"quota":"10%"} (or 0.1). */
int proc_params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen)
{
	static const char *const kill_keys[] = {"signal", NULL}, *const pause_keys[] = {NULL},
				 *const cpu_keys[] = {"quota", NULL};
	const char *const *keys = s->kind == FL_KIND_KILL    ? kill_keys
				  : s->kind == FL_KIND_PAUSE ? pause_keys
							     : cpu_keys;
	json_t *v;

	s->prob = 1.0;
	s->proc.signal = SIGKILL;
	if (p && !json_is_object(p))
		FAIL("fault.params: must be an object");
	if (p && jf_check_keys(p, "fault.params", keys, err, errlen))
		return -EINVAL;
	v = json_object_get(p, "signal");
	if (v && !json_is_string(v))
		FAIL("fault.params.signal: must be a signal name, like \"TERM\"");
	if (v) {
		s->proc.signal = proto_signal_from_name(json_string_value(v));
		if (!s->proc.signal)
			FAIL(
			    "fault.params.signal: '%.40s' is not a signal a kill sends (known: %s)",
			    json_string_value(v), proto_signal_names());
	}
	if (s->kind != FL_KIND_CPU)
		return 0;
	v = json_object_get(p, "quota");
	if (!v)
		FAIL("fault.params.quota: missing (the share of one CPU, like \"10%%\" or 0.1)");
	if (json_is_number(v)) {
		s->proc.quota = json_number_value(v);
	} else if (!json_is_string(v) ||
		   parse_prob(json_string_value(v), &s->proc.quota) == -EINVAL) {
		FAIL("fault.params.quota: must be a share of one CPU, like \"10%%\" or 0.1");
	} else if (parse_prob(json_string_value(v), &s->proc.quota)) {
		s->proc.quota = 2; /* over 100%: refused below */
	}
	if (!(s->proc.quota > 0 && s->proc.quota <= 1))
		FAIL("fault.params.quota: must be over 0%% and at most 100%% of one CPU");
	return 0;
}

/* The probability every kind takes: a number 0..1 or "30%". */
static int get_prob(json_t *p, double *prob, char *err, size_t errlen)
{
	json_t *v = json_object_get(p, "prob");

	if (!v)
		return 0;
	if (json_is_number(v)) {
		*prob = json_number_value(v);
		if (!(*prob >= 0 && *prob <= 1))
			FAIL("fault.params.prob: %g is outside 0..1", *prob);
	} else if (json_is_string(v)) {
		int e = parse_prob(json_string_value(v), prob);

		if (e == -ERANGE)
			FAIL("fault.params.prob: '%s' is outside 0..1", json_string_value(v));
		if (e)
			FAIL("fault.params.prob: '%s' is not a probability (0.3 or 30%%)",
			     json_string_value(v));
	} else {
		FAIL("fault.params.prob: must be a number 0..1 or a string like \"30%%\"");
	}
	/* The programs draw a 32-bit random number: anything smaller than one
	 * step would silently become "never". */
	if (*prob > 0 && *prob < FL_PROB_RESOLUTION)
		FAIL("fault.params.prob: %g is below the resolution of the random draw (2^-32, "
		     "about 2.3e-10); use 0 or a larger probability",
		     *prob);
	return 0;
}

/* errno and syscall-latency: the syscall, and the errno or the delay; and
 * what the target may hold for that call. */
static int sys_params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen)
{
	const char *w = "fault.params";
	struct fl_errno_params *sp = &s->sys;
	const struct fl_target *t = &s->target;
	bool is_errno = s->kind == FL_KIND_ERRNO;
	char en[32] = "";

	if (jf_string(p, "syscall", w, sp->syscall, sizeof(sp->syscall), true, err, errlen))
		return -EINVAL;
	sp->nr = fl_syscall_nr(sp->syscall);
	if (sp->nr < 0)
		FAIL("%s.syscall: '%s' is not a syscall on this machine (a name like openat, "
		     "connect, write)",
		     w, sp->syscall);
	if (is_errno) {
		if (jf_string(p, "errno", w, en, sizeof(en), true, err, errlen))
			return -EINVAL;
		sp->err = fl_errno_nr(en);
		if (sp->err < 0)
			FAIL("%s.errno: '%s' is not an errno name (like EIO, ENOSPC, "
			     "ECONNREFUSED)",
			     w, en);
		if (!fl_syscall_may_return(sp->syscall, sp->err))
			snprintf(sp->warning, sizeof(sp->warning),
				 "%s is not among the errnos %s(2) documents; callers may not "
				 "expect it",
				 en, sp->syscall);
	} else {
		if (jf_duration(p, "delay", w, &sp->delay_ns, true, false, err, errlen) ||
		    jf_duration(p, "jitter", w, &sp->jitter_ns, false, true, err, errlen))
			return -EINVAL;
		if (sp->jitter_ns > sp->delay_ns)
			FAIL("%s.jitter: more than the delay (the delay is held +- jitter)", w);
	}
	if (*t->path && fl_syscall_path_arg(sp->syscall) < 0 && fl_syscall_fd_arg(sp->syscall) < 0)
		FAIL("fault.target.path: %s takes no path or file (calls with one: open, openat, "
		     "stat, unlink, mkdir, rename, execve, read, write, fsync, ...)",
		     sp->syscall);
	if (*t->path && t->path[0] != '/')
		FAIL("fault.target.path: '%s' must be absolute", t->path);
	if ((*t->dst || *t->src || t->match.dport_lo || t->match.sport_lo || t->match.proto) &&
	    !(fl_syscall_sock_call(sp->syscall) &
	      (FL_SOCK_CONNECT | FL_SOCK_BIND | FL_SOCK_SENDMSG)))
		FAIL("fault.target: addresses, ports and proto need connect, bind, sendto or "
		     "sendmsg, not %s",
		     sp->syscall);
	if (*t->src || t->match.sport_lo)
		FAIL("fault.target: a call has one address (dst and dport: the one it names)");
	return 0;
}

int params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen)
{
	static const char *const drop_keys[] = {"prob", "correlation", "model", NULL};
	static const char *const errno_keys[] = {"prob", "syscall", "errno", NULL};
	static const char *const sys_lat_keys[] = {"prob", "syscall", "delay", "jitter", NULL};
	static const char *const lat_keys[] = {"prob",	      "delay", "jitter",    "distribution",
					       "correlation", "per",   "queue_len", NULL};
	const char *const *keys = s->kind == FL_KIND_ERRNO	       ? errno_keys
				  : s->kind == FL_KIND_SYSCALL_LATENCY ? sys_lat_keys
				  : s->kind == FL_KIND_LATENCY	       ? lat_keys
								       : drop_keys;
	bool sys = keys == errno_keys || keys == sys_lat_keys;

	s->prob = 1.0;
	if (!p && sys)
		FAIL("fault.params: missing (%s needs a syscall)", fl_kind_name(s->kind));
	if (p && !json_is_object(p))
		FAIL("fault.params: must be an object");
	if (p && (jf_check_keys(p, "fault.params", keys, err, errlen) ||
		  get_prob(p, &s->prob, err, errlen)))
		return -EINVAL;
	if (s->kind == FL_KIND_LATENCY)
		return latency_from_json(p, &s->target, &s->latency, err, errlen);
	if (s->kind == FL_KIND_DROP)
		return loss_from_json(p, s->prob, &s->loss, err, errlen);
	return sys ? sys_params_from_json(p, s, err, errlen) : 0;
}

json_t *params_to_json(const struct fl_fault_spec *s)
{
	json_t *p;
	char d[32];

	if (s->kind == FL_KIND_KILL)
		return json_pack("{s:s}", "signal", proto_signal_name(s->proc.signal) ?: "?");
	if (s->kind == FL_KIND_PAUSE)
		return json_object();
	if (s->kind == FL_KIND_CPU)
		return json_pack("{s:f}", "quota", s->proc.quota);
	p = json_object();
	if (s->loss.kind != FL_LOSS_GE) /* a model sets the loss itself */
		json_object_set_new(p, "prob", json_real(s->prob));
	loss_to_json(&s->loss, p);
	if (s->kind == FL_KIND_LATENCY) {
		const struct fl_latency_params *l = &s->latency;

		format_duration(l->delay_ns, d, sizeof(d));
		json_object_set_new(p, "delay", json_string(d));
		if (l->jitter_ns) {
			format_duration(l->jitter_ns, d, sizeof(d));
			json_object_set_new(p, "jitter", json_string(d));
			json_object_set_new(p, "distribution",
					    json_string(fl_lat_dist_name(l->dist)));
			json_object_set_new(p, "correlation", json_real(l->correlation));
		}
		json_object_set_new(p, "per", json_string(fl_lat_per_name(l->per)));
		json_object_set_new(p, "queue_len", json_integer(l->queue_len));
		return p;
	}
	if (s->kind != FL_KIND_ERRNO && s->kind != FL_KIND_SYSCALL_LATENCY)
		return p;
	json_object_set_new(p, "syscall", json_string(s->sys.syscall));
	if (s->kind == FL_KIND_ERRNO) {
		json_object_set_new(p, "errno", json_string(fl_errno_name(s->sys.err)));
		return p;
	}
	format_duration(s->sys.delay_ns, d, sizeof(d));
	json_object_set_new(p, "delay", json_string(d));
	if (s->sys.jitter_ns) {
		format_duration(s->sys.jitter_ns, d, sizeof(d));
		json_object_set_new(p, "jitter", json_string(d));
	}
	return p;
}
