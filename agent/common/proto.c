// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "errno_names.h"
#include "event.h"
#include "jsonfield.h"
#include "latency.h"
#include "parse.h"
#include "proto.h"
#include "registry.h"

static const char *const cmd_names[FL_CMD_MAX] = {
    [FL_CMD_STATUS] = "status", [FL_CMD_DOCTOR] = "doctor", [FL_CMD_INJECT] = "inject",
    [FL_CMD_LIST] = "list",	[FL_CMD_CLEAR] = "clear",   [FL_CMD_SUPERVISE] = "supervise",
};

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
    {"any", 0},
    {"tcp", IPPROTO_TCP},
    {"udp", IPPROTO_UDP},
    {"icmp", IPPROTO_ICMP},
    {"icmp6", IPPROTO_ICMPV6},
    {"icmpv6", IPPROTO_ICMPV6},
};

/* What a kill may send. STOP and CONT are not here: pausing is the pause
 * fault's, which always resumes. */
static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT},   {"HUP", SIGHUP},
    {"QUIT", SIGQUIT}, {"ABRT", SIGABRT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"ALRM", SIGALRM}, {"SEGV", SIGSEGV}, {"BUS", SIGBUS},
};

int proto_signal_from_name(const char *name)
{
	if (name && !strncasecmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; name && i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(signals[i].name, name))
			return signals[i].sig;
	return 0;
}

const char *proto_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

const char *proto_signal_names(void)
{
	static char buf[128];
	size_t n = 0;

	if (buf[0])
		return buf;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", signals[i].name);
	return buf;
}

const char *fl_cmd_name(enum fl_cmd cmd)
{
	return cmd < FL_CMD_MAX ? cmd_names[cmd] : "?";
}

static const char *proto_name(uint8_t proto)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return "?";
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

/* A port or port range, as "80", "80-90" or the number 80. */
static int get_ports(json_t *obj, const char *key, const char *where, uint16_t *lo, uint16_t *hi,
		     char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	char buf[32];

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (n < 1 || n > 65535)
			FAIL("%s.%s: port %lld out of range 1-65535", where, key, (long long)n);
		*lo = *hi = n;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= sizeof(buf))
		FAIL("%s.%s: must be a port or a range like 8000-8100", where, key);
	strcpy(buf, json_string_value(v));
	switch (parse_port_range(buf, lo, hi)) {
	case 0:
		return 0;
	case -ERANGE:
		FAIL("%s.%s: port '%s' out of range 1-65535", where, key, buf);
	default:
		FAIL("%s.%s: '%s' is not a port or a range like 8000-8100", where, key, buf);
	}
}

static int get_cidr(json_t *obj, const char *key, const char *where, char *text, size_t len,
		    uint8_t *family, uint32_t addr[4], uint32_t mask[4], char *err, size_t errlen)
{
	uint8_t fam;

	if (jf_string(obj, key, where, text, len, false, err, errlen))
		return -EINVAL;
	if (!*text)
		return 0;
	if (parse_cidr(text, &fam, addr, mask))
		FAIL("%s.%s: '%s' is not an address or CIDR (like 10.0.0.0/8 or fd00::/64)", where,
		     key, text);
	if (*family && *family != fam)
		FAIL("%s.%s: '%s' mixes IPv4 and IPv6 with the other address", where, key, text);
	*family = fam;
	return 0;
}

static int target_from_json(json_t *t, uint16_t kind, struct fl_target *tg, char *err,
			    size_t errlen)
{
	static const char *const keys[] = {"dev",  "netns", "direction", "proto",  "src",
					   "dst",  "sport", "dport",	 "cgroup", "pid",
					   "comm", "path",  NULL};
	const char *w = "fault.target";
	struct fl_match *m = &tg->match;
	char buf[16] = "";
	json_t *v;

	if (!json_is_object(t))
		FAIL("%s: must be an object", w);
	if (jf_check_keys(t, w, keys, err, errlen) ||
	    jf_string(t, "dev", w, tg->dev, sizeof(tg->dev),
		      kind == FL_KIND_DROP || kind == FL_KIND_LATENCY, err, errlen) ||
	    jf_string(t, "netns", w, tg->netns, sizeof(tg->netns), false, err, errlen) ||
	    jf_string(t, "direction", w, buf, sizeof(buf), false, err, errlen) ||
	    jf_string(t, "cgroup", w, tg->cgroup, sizeof(tg->cgroup), false, err, errlen) ||
	    jf_string(t, "comm", w, tg->comm, sizeof(tg->comm), false, err, errlen) ||
	    jf_string(t, "path", w, tg->path, sizeof(tg->path), false, err, errlen))
		return -EINVAL;
	if ((kind == FL_KIND_DROP || kind == FL_KIND_LATENCY) && !*tg->dev)
		FAIL("%s.dev: empty; name a device (see: ip link)", w);
	v = json_object_get(t, "pid");
	if (v &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX))
		FAIL("%s.pid: must be a process id (a positive integer)", w);
	tg->pid = v ? json_integer_value(v) : 0;
	if (!*buf || !strcmp(buf, "ingress"))
		tg->dir = FL_DIR_INGRESS;
	else if (!strcmp(buf, "egress"))
		tg->dir = FL_DIR_EGRESS;
	else
		FAIL("%s.direction: '%s' is not ingress or egress", w, buf);

	*buf = '\0';
	if (jf_string(t, "proto", w, buf, sizeof(buf), false, err, errlen))
		return -EINVAL;
	if (*buf) {
		size_t i;

		for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
			if (!strcmp(protos[i].name, buf))
				break;
		if (i == sizeof(protos) / sizeof(protos[0]))
			FAIL("%s.proto: '%s' is not tcp, udp, icmp, icmp6 or any", w, buf);
		m->proto = protos[i].proto;
	}
	if (get_cidr(t, "src", w, tg->src, sizeof(tg->src), &m->family, m->src, m->src_mask, err,
		     errlen) ||
	    get_cidr(t, "dst", w, tg->dst, sizeof(tg->dst), &m->family, m->dst, m->dst_mask, err,
		     errlen) ||
	    get_ports(t, "sport", w, &m->sport_lo, &m->sport_hi, err, errlen) ||
	    get_ports(t, "dport", w, &m->dport_lo, &m->dport_hi, err, errlen))
		return -EINVAL;
	if ((m->sport_lo || m->dport_lo) && m->proto && m->proto != IPPROTO_TCP &&
	    m->proto != IPPROTO_UDP)
		FAIL("%s: ports need proto tcp or udp, not %s", w, proto_name(m->proto));
	if (m->proto == IPPROTO_ICMP && m->family == AF_INET6)
		FAIL("%s.proto: icmp is IPv4; use icmp6 for IPv6 addresses", w);
	if (m->proto == IPPROTO_ICMPV6 && m->family == AF_INET)
		FAIL("%s.proto: icmp6 is IPv6; use icmp for IPv4 addresses", w);
	if (m->proto == IPPROTO_ICMP)
		m->family = AF_INET;
	else if (m->proto == IPPROTO_ICMPV6)
		m->family = AF_INET6;
	return 0;
}

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
static int proc_params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen)
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

static int params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen)
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

static int spec_from_json(json_t *j, struct fl_fault_spec *s, char *err, size_t errlen)
{
	static const char *const keys[] = {"kind",  "name",   "backend", "duration",
					   "force", "target", "params",	 NULL};
	char kind[32] = "";
	const struct fl_kind_desc *k;
	json_t *v;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(j))
		FAIL("fault: must be an object");
	if (jf_check_keys(j, "fault", keys, err, errlen) ||
	    jf_string(j, "kind", "fault", kind, sizeof(kind), true, err, errlen) ||
	    jf_string(j, "name", "fault", s->name, sizeof(s->name), false, err, errlen) ||
	    jf_string(j, "backend", "fault", s->backend, sizeof(s->backend), false, err, errlen))
		return -EINVAL;
	for (const char *c = s->name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._:-", *c))
			FAIL("fault.name: '%s' may hold only letters, digits and . _ : -", s->name);
	k = fl_kind_by_name(kind);
	if (!k)
		FAIL("fault.kind: '%s' is not a fault kind (known: %s)", kind,
		     fl_kind_names(false));
	if (!k->served)
		FAIL("fault.kind: '%s' is not served by this agent yet (served: %s)", kind,
		     fl_kind_names(true));
	s->kind = k->kind;

	if (jf_duration(j, "duration", "fault", &s->duration_ns, false, false, err, errlen))
		return -EINVAL;
	v = json_object_get(j, "force");
	if (v && !json_is_boolean(v))
		FAIL("fault.force: must be true or false");
	s->force = json_is_true(v);
	v = json_object_get(j, "target");
	if (!v)
		FAIL("fault.target: missing");
	if (target_from_json(v, s->kind, &s->target, err, errlen))
		return -EINVAL;
	if (s->kind == FL_KIND_KILL || s->kind == FL_KIND_PAUSE || s->kind == FL_KIND_CPU)
		return proc_params_from_json(json_object_get(j, "params"), s, err, errlen);
	return params_from_json(json_object_get(j, "params"), s, err, errlen);
}

/* Reasons echo what was sent (a duration, a port): keep them one line. */
int fault_spec_from_json(json_t *j, struct fl_fault_spec *s, char *err, size_t errlen)
{
	int ret = spec_from_json(j, s, err, errlen);

	if (ret)
		jf_one_line(err);
	return ret;
}

static json_t *ports_json(uint16_t lo, uint16_t hi)
{
	char buf[16];

	if (!lo && !hi)
		return NULL;
	if (lo == hi)
		return json_integer(lo);
	snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	return json_string(buf);
}

static json_t *params_to_json(const struct fl_fault_spec *s)
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

json_t *fault_spec_to_json(const struct fl_fault_spec *s)
{
	const struct fl_target *t = &s->target;
	json_t *target = json_object(), *j = json_object();
	char dur[32];

	if (*t->dev || s->kind == FL_KIND_DROP) {
		json_object_set_new(target, "dev", json_string(t->dev));
		json_object_set_new(target, "direction",
				    json_string(t->dir == FL_DIR_EGRESS ? "egress" : "ingress"));
	}
	if (*t->netns)
		json_object_set_new(target, "netns", json_string(t->netns));
	if (t->match.proto)
		json_object_set_new(target, "proto", json_string(proto_name(t->match.proto)));
	if (*t->src)
		json_object_set_new(target, "src", json_string(t->src));
	if (*t->dst)
		json_object_set_new(target, "dst", json_string(t->dst));
	if (t->match.sport_lo)
		json_object_set_new(target, "sport",
				    ports_json(t->match.sport_lo, t->match.sport_hi));
	if (t->match.dport_lo)
		json_object_set_new(target, "dport",
				    ports_json(t->match.dport_lo, t->match.dport_hi));
	if (*t->cgroup)
		json_object_set_new(target, "cgroup", json_string(t->cgroup));
	if (t->pid)
		json_object_set_new(target, "pid", json_integer(t->pid));
	if (*t->comm)
		json_object_set_new(target, "comm", json_string(t->comm));
	if (*t->path)
		json_object_set_new(target, "path", json_string(t->path));

	json_object_set_new(j, "kind", json_string(fl_kind_name(s->kind)));
	if (*s->name)
		json_object_set_new(j, "name", json_string(s->name));
	if (*s->backend)
		json_object_set_new(j, "backend", json_string(s->backend));
	if (s->duration_ns) {
		format_duration(s->duration_ns, dur, sizeof(dur));
		json_object_set_new(j, "duration", json_string(dur));
	}
	if (s->force)
		json_object_set_new(j, "force", json_true());
	json_object_set_new(j, "target", target);
	json_object_set_new(j, "params", params_to_json(s));
	return j;
}

const char *fl_target_process_field(const struct fl_target *t)
{
	return *t->cgroup ? "cgroup"
	       : t->pid	  ? "pid"
	       : *t->comm ? "comm"
	       : *t->path ? "path"
			  : NULL;
}

json_t *proto_request_to_json(const struct fl_request *req)
{
	json_t *j = json_pack("{s:s}", "cmd", fl_cmd_name(req->cmd));

	switch (req->cmd) {
	case FL_CMD_INJECT:
		json_object_set_new(j, "fault", fault_spec_to_json(&req->fault));
		if (req->dry_run)
			json_object_set_new(j, "dry_run", json_true());
		break;
	case FL_CMD_CLEAR:
		if (req->all)
			json_object_set_new(j, "all", json_true());
		else
			json_object_set_new(j, "id", json_integer(req->id));
		break;
	case FL_CMD_SUPERVISE: {
		json_t *trap = json_array();

		for (int nr = 0; nr < FL_TRAP_WORDS * 64; nr++)
			if (req->trap[nr / 64] >> (nr % 64) & 1)
				json_array_append_new(trap, json_string(fl_syscall_name(nr)));
		json_object_set_new(j, "pid", json_integer(req->pid));
		json_object_set_new(j, "trap", trap);
		break;
	}
	default:
		break;
	}
	return j;
}

/* {"cmd":"supervise","pid":N,"trap":["openat","write"]} */
static int supervise_from_json(json_t *j, struct fl_request *req, char *err, size_t errlen)
{
	json_t *pid = json_object_get(j, "pid"), *trap = json_object_get(j, "trap"), *v;
	size_t i;

	if (!json_is_integer(pid) || json_integer_value(pid) < 1 ||
	    json_integer_value(pid) > INT32_MAX)
		FAIL("request.pid: the supervised process id (a positive integer) is needed");
	req->pid = json_integer_value(pid);
	if (!json_is_array(trap) || !json_array_size(trap))
		FAIL("request.trap: a list of the syscall names the filter traps is needed");
	json_array_foreach(trap, i, v)
	{
		int nr = fl_syscall_nr(json_string_value(v));

		if (nr < 0 || nr >= FL_TRAP_WORDS * 64)
			FAIL("request.trap[%zu]: not a syscall name on this machine", i);
		req->trap[nr / 64] |= 1ULL << (nr % 64);
	}
	return 0;
}

int proto_parse_request(const char *line, size_t len, struct fl_request *req, char *err,
			size_t errlen)
{
	static const char *const keys[] = {"cmd", "fault", "dry_run", "id",
					   "all", "pid",   "trap",    NULL};
	json_error_t jerr;
	const char *cmd;
	json_t *j, *v;
	int ret = -EINVAL;
	int c;

	memset(req, 0, sizeof(*req));
	if (len > FL_PROTO_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes", FL_PROTO_MAX_LINE);
		return -E2BIG;
	}
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "malformed JSON at column %d: %s", jerr.column, jerr.text);
		jf_one_line(err);
		return -EINVAL;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "request: must be a JSON object");
		goto out;
	}
	if (jf_check_keys(j, "request", keys, err, errlen))
		goto out;
	v = json_object_get(j, "cmd");
	cmd = json_string_value(v);
	if (!cmd) {
		snprintf(err, errlen, "request.cmd: missing or not a string");
		goto out;
	}
	for (c = 0; c < FL_CMD_MAX; c++)
		if (!strcmp(cmd_names[c], cmd))
			break;
	if (c == FL_CMD_MAX) {
		snprintf(err, errlen,
			 "unknown command '%.40s' (known: status, doctor, inject, list, clear, "
			 "supervise)",
			 cmd);
		goto out;
	}
	req->cmd = c;

	v = json_object_get(j, "dry_run");
	if (v && !json_is_boolean(v)) {
		snprintf(err, errlen, "request.dry_run: must be true or false");
		goto out;
	}
	req->dry_run = json_is_true(v);
	if (req->cmd == FL_CMD_INJECT &&
	    fault_spec_from_json(json_object_get(j, "fault"), &req->fault, err, errlen))
		goto out;
	if (req->cmd == FL_CMD_CLEAR) {
		json_t *id = json_object_get(j, "id");

		req->all = json_is_true(json_object_get(j, "all"));
		if (!req->all) {
			if (!json_is_integer(id) || json_integer_value(id) < 1 ||
			    json_integer_value(id) > UINT32_MAX) {
				snprintf(err, errlen,
					 "request.id: a fault id (positive integer) or "
					 "\"all\":true is needed");
				goto out;
			}
			req->id = json_integer_value(id);
		}
	}
	if (req->cmd == FL_CMD_SUPERVISE && supervise_from_json(j, req, err, errlen))
		goto out;
	ret = 0;
out:
	if (ret)
		jf_one_line(err);
	json_decref(j);
	return ret;
}

json_t *proto_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

json_t *proto_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

char *proto_reply_line(json_t *reply)
{
	/* 12 digits: 0.3 goes out as 0.3, not 0.29999999999999999. */
	char *s = json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(12));
	char *line = NULL;

	json_decref(reply);
	if (!s)
		return NULL;
	if (asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	free(s);
	return line;
}
