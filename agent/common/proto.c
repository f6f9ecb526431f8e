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
#include "proto_int.h"
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
