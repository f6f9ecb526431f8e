// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "event.h"
#include "jsonfield.h"
#include "latency.h"
#include "parse.h"
#include "proto.h"
#include "registry.h"

static const char *const cmd_names[FL_CMD_MAX] = {
    [FL_CMD_STATUS] = "status", [FL_CMD_DOCTOR] = "doctor", [FL_CMD_INJECT] = "inject",
    [FL_CMD_LIST] = "list",	[FL_CMD_CLEAR] = "clear",
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

static int params_from_json(json_t *p, struct fl_fault_spec *s, char *err, size_t errlen)
{
	static const char *const drop_keys[] = {"prob", NULL};
	static const char *const lat_keys[] = {"prob",	      "delay", "jitter",    "distribution",
					       "correlation", "per",   "queue_len", NULL};
	json_t *v;

	s->prob = 1.0;
	if (p && !json_is_object(p))
		FAIL("fault.params: must be an object");
	if (p && jf_check_keys(p, "fault.params", s->kind == FL_KIND_LATENCY ? lat_keys : drop_keys,
			       err, errlen))
		return -EINVAL;
	if (s->kind == FL_KIND_LATENCY &&
	    latency_from_json(p, &s->target, &s->latency, err, errlen))
		return -EINVAL;
	v = p ? json_object_get(p, "prob") : NULL;
	if (!v)
		return 0;
	if (json_is_number(v)) {
		s->prob = json_number_value(v);
		if (!(s->prob >= 0 && s->prob <= 1))
			FAIL("fault.params.prob: %g is outside 0..1", s->prob);
	} else if (json_is_string(v)) {
		int e = parse_prob(json_string_value(v), &s->prob);

		if (e == -ERANGE)
			FAIL("fault.params.prob: '%s' is outside 0..1", json_string_value(v));
		if (e)
			FAIL("fault.params.prob: '%s' is not a probability (0.3 or 30%%)",
			     json_string_value(v));
	} else {
		FAIL("fault.params.prob: must be a number 0..1 or a string like \"30%%\"");
	}
	return 0;
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

json_t *fault_spec_to_json(const struct fl_fault_spec *s)
{
	const struct fl_target *t = &s->target;
	json_t *target = json_object(), *j = json_object(), *params;
	char dur[32];

	json_object_set_new(target, "dev", json_string(t->dev));
	if (*t->netns)
		json_object_set_new(target, "netns", json_string(t->netns));
	json_object_set_new(target, "direction",
			    json_string(t->dir == FL_DIR_EGRESS ? "egress" : "ingress"));
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
	params = json_pack("{s:f}", "prob", s->prob);
	if (s->kind == FL_KIND_LATENCY) {
		const struct fl_latency_params *l = &s->latency;

		format_duration(l->delay_ns, dur, sizeof(dur));
		json_object_set_new(params, "delay", json_string(dur));
		if (l->jitter_ns) {
			format_duration(l->jitter_ns, dur, sizeof(dur));
			json_object_set_new(params, "jitter", json_string(dur));
			json_object_set_new(params, "distribution",
					    json_string(fl_lat_dist_name(l->dist)));
			json_object_set_new(params, "correlation", json_real(l->correlation));
		}
		json_object_set_new(params, "per", json_string(fl_lat_per_name(l->per)));
		json_object_set_new(params, "queue_len", json_integer(l->queue_len));
	}
	json_object_set_new(j, "params", params);
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
	default:
		break;
	}
	return j;
}

int proto_parse_request(const char *line, size_t len, struct fl_request *req, char *err,
			size_t errlen)
{
	static const char *const keys[] = {"cmd", "fault", "dry_run", "id", "all", NULL};
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
			 "unknown command '%.40s' (known: status, doctor, inject, list, clear)",
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
