// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "event.h"
#include "jsonfield.h"
#include "parse.h"
#include "reconcile.h"
#include "scenario.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

/* Replace ${NAME} in every string of j, in place. */
static int expand_env(json_t *j, const char *where, char *err, size_t errlen)
{
	char path[256];
	const char *key;
	size_t i;
	json_t *v;

	if (json_is_object(j)) {
		json_object_foreach(j, key, v)
		{
			snprintf(path, sizeof(path), "%s.%s", where, key);
			if (expand_env(v, path, err, errlen))
				return -EINVAL;
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			snprintf(path, sizeof(path), "%s[%zu]", where, i);
			if (expand_env(v, path, err, errlen))
				return -EINVAL;
		}
	} else if (json_is_string(j) && strstr(json_string_value(j), "${")) {
		const char *s = json_string_value(j);
		char out[4096];
		size_t n = 0;

		while (*s && n < sizeof(out) - 1) {
			const char *end, *val;
			char name[128];

			if (s[0] != '$' || s[1] != '{') {
				out[n++] = *s++;
				continue;
			}
			end = strchr(s, '}');
			if (!end || end - s - 2 >= (long)sizeof(name) || end == s + 2)
				FAIL("%s: '${' without a variable name and '}'", where);
			memcpy(name, s + 2, end - s - 2);
			name[end - s - 2] = '\0';
			val = getenv(name);
			if (!val)
				FAIL("%s: ${%s} is not set in the environment", where, name);
			n += snprintf(out + n, sizeof(out) - n, "%s", val);
			if (n >= sizeof(out))
				FAIL("%s: too long once ${%s} is filled in", where, name);
			s = end + 1;
		}
		out[n] = '\0';
		json_string_set(j, out);
	}
	return 0;
}

static int resolve_path(const char *dir, const char *p, char *out, size_t len)
{
	int n = p[0] == '/' ? snprintf(out, len, "%s", p) : snprintf(out, len, "%s/%s", dir, p);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int load_part(json_t *l, const char *dir, struct sc_load *ld, char *err, size_t errlen)
{
	static const char *const keys[] = {"duration", "rate",	  "users",	 "think",
					   "profile",  "arrival", "connections", "threads",
					   "timeout",  "mix",	  NULL};
	char mix[PATH_MAX] = "";
	json_t *v;

	if (!json_is_object(l))
		FAIL("load: must be an object");
	if (jf_check_keys(l, "load", keys, err, errlen) ||
	    jf_duration(l, "duration", "load", &ld->duration_ns, true, false, err, errlen) ||
	    jf_duration(l, "think", "load", &ld->think_ns, false, true, err, errlen) ||
	    jf_duration(l, "timeout", "load", &ld->timeout_ns, false, false, err, errlen) ||
	    jf_string(l, "profile", "load", ld->profile, sizeof(ld->profile), false, err, errlen) ||
	    jf_string(l, "arrival", "load", ld->arrival, sizeof(ld->arrival), false, err, errlen) ||
	    jf_string(l, "mix", "load", mix, sizeof(mix), false, err, errlen))
		return -EINVAL;
	v = json_object_get(l, "rate");
	if (v && (!json_is_number(v) || json_number_value(v) <= 0))
		FAIL("load.rate: must be a positive number of requests per second");
	ld->rate = v ? json_number_value(v) : 0;
	v = json_object_get(l, "users");
	if (v &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000))
		FAIL("load.users: must be a whole number 1-100000");
	ld->users = v ? json_integer_value(v) : 0;
	if (ld->users && (ld->rate || *ld->profile))
		FAIL("load.users: the closed model (users) does not go with rate or profile");
	if (!ld->users && !ld->rate && !*ld->profile)
		FAIL("load: give rate (open model), profile, or users (closed model)");
	v = json_object_get(l, "connections");
	if (v &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000))
		FAIL("load.connections: must be a whole number 1-100000");
	ld->connections = v ? json_integer_value(v) : 0;
	v = json_object_get(l, "threads");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 256))
		FAIL("load.threads: must be a whole number 1-256");
	ld->threads = v ? json_integer_value(v) : 0;
	if (*mix && resolve_path(dir, mix, ld->mix, sizeof(ld->mix)))
		FAIL("load.mix: path too long");
	return 0;
}

static int phases_part(json_t *a, struct scenario *sc, char *err, size_t errlen)
{
	size_t i;
	json_t *p;

	if (!a) {
		snprintf(sc->phases[0].name, SC_NAME_LEN, "run");
		sc->nphases = 1;
		return 0;
	}
	if (!json_is_array(a) || !json_array_size(a) || json_array_size(a) > SC_MAX_PHASES)
		FAIL("phases: must be a list of 1 to %d phase names", SC_MAX_PHASES);
	json_array_foreach(a, i, p)
	{
		if (!json_is_string(p) || !json_string_length(p) ||
		    json_string_length(p) >= SC_NAME_LEN)
			FAIL("phases[%zu]: must be a name of 1 to %d characters", i,
			     SC_NAME_LEN - 1);
		snprintf(sc->phases[i].name, SC_NAME_LEN, "%s", json_string_value(p));
		for (size_t k = 0; k < i; k++)
			if (!strcmp(sc->phases[k].name, sc->phases[i].name))
				FAIL("phases[%zu]: '%s' is used twice", i, sc->phases[i].name);
	}
	sc->nphases = i;
	return 0;
}

/* A kill's "restart": {"after": D, "command": [ARGV...]} or {"after": D,
 * "unit": "x.service"} (systemctl restart x.service). */
static int restart_part(json_t *r, const char *where, struct sc_fault *sf, char *err, size_t errlen)
{
	static const char *const keys[] = {"after", "command", "unit", NULL};
	json_t *cmd, *unit, *v;
	size_t i;

	if (!r)
		return 0;
	if (!json_is_object(r))
		FAIL("%s.restart: must be an object with after and command or unit", where);
	if (jf_check_keys(r, where, keys, err, errlen) ||
	    jf_duration(r, "after", where, &sf->restart_after_ns, false, true, err, errlen))
		return -EINVAL;
	if (sf->spec.kind != FL_KIND_KILL)
		FAIL("%s.restart: only a kill fault restarts what it killed", where);
	cmd = json_object_get(r, "command");
	unit = json_object_get(r, "unit");
	if (!cmd == !unit)
		FAIL("%s.restart: give command (a list of strings) or unit, one of them", where);
	if (unit) {
		const char *u = json_string_value(unit);

		if (!u || !*u ||
		    strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789@._:-\\") != strlen(u) ||
		    *u == '-')
			FAIL("%s.restart.unit: must be a systemd unit name", where);
		sf->restart = json_pack("[s,s,s]", "systemctl", "restart", u);
		return 0;
	}
	if (!json_is_array(cmd) || !json_array_size(cmd) || json_array_size(cmd) > 64)
		FAIL("%s.restart.command: must be a list of 1 to 64 strings", where);
	json_array_foreach(cmd, i, v) if (!json_is_string(v) || (!i && !*json_string_value(v)))
	    FAIL("%s.restart.command[%zu]: must be a string (the first not empty)", where, i);
	sf->restart = json_incref(cmd);
	return 0;
}

static int faults_part(json_t *a, struct scenario *sc, char *err, size_t errlen)
{
	static const char *const keys[] = {"at", "until", "fault", "restart", "effects", NULL};
	char where[64], ferr[512];
	size_t i;
	json_t *f;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > SC_MAX_FAULTS)
		FAIL("faults: must be a list of at most %d faults", SC_MAX_FAULTS);
	json_array_foreach(a, i, f)
	{
		struct sc_fault *sf = &sc->faults[i];
		uint64_t until = 0;
		json_t *fault, *target;

		snprintf(where, sizeof(where), "faults[%zu]", i);
		if (!json_is_object(f))
			FAIL("%s: must be an object", where);
		if (jf_check_keys(f, where, keys, err, errlen) ||
		    jf_duration(f, "at", where, &sf->at_ns, true, true, err, errlen) ||
		    jf_duration(f, "until", where, &until, false, false, err, errlen))
			return -EINVAL;
		if (json_object_get(f, "effects")) {
			if (rc_declared_parse(json_object_get(f, "effects"), where, &sf->effects,
					      err, errlen))
				return -EINVAL;
			sf->has_effects = true;
		}
		fault = json_deep_copy(json_object_get(f, "fault"));
		if (!fault)
			FAIL("%s.fault: missing (an inject request's fault object)", where);
		sf->fault = fault;
		target = json_object_get(fault, "target");
		/* A namespace is a device's: process faults take none. */
		if (*sc->netns && json_is_object(target) && json_object_get(target, "dev") &&
		    !json_object_get(target, "netns"))
			json_object_set_new(target, "netns", json_string(sc->netns));
		if (until) {
			if (until <= sf->at_ns)
				FAIL("%s.until: the fault ends before it starts", where);
			if (json_object_get(fault, "duration"))
				FAIL("%s: give until or fault.duration, not both", where);
			json_object_set_new(fault, "duration",
					    json_real((until - sf->at_ns) / 1e9));
		}
		if (fault_spec_from_json(fault, &sf->spec, ferr, sizeof(ferr)))
			FAIL("%s.%s", where, ferr);
		if (!sf->spec.duration_ns)
			FAIL("%s: give until or fault.duration (how long the fault lasts)", where);
		if (sf->at_ns >= sc->load.duration_ns)
			FAIL("%s.at: starts after the load ends", where);
		sc->nfaults = i + 1;
		if (restart_part(json_object_get(f, "restart"), where, sf, err, errlen))
			return -EINVAL;
	}
	return 0;
}

/* Objectives are checked by the reconciliation's own reader, against this
 * scenario's phase names, so that a mistake stops the run before it starts. */
static int objectives_part(json_t *o, struct scenario *sc, char *err, size_t errlen)
{
	const char *names[SC_MAX_PHASES];

	if (!o)
		return 0;
	for (int i = 0; i < sc->nphases; i++)
		names[i] = sc->phases[i].name;
	if (rc_objectives_check(o, names, sc->nphases, err, errlen))
		return -EINVAL;
	sc->objectives = json_incref(o);
	return 0;
}

int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen)
{
	static const char *const keys[] = {"name",   "description", "target",	  "load",  "phases",
					   "faults", "receipts",    "objectives", "trace", NULL};
	static const char *const tkeys[] = {"url", "netns", NULL};
	char dirbuf[PATH_MAX], receipts[PATH_MAX] = "", *dir;
	json_error_t jerr;
	json_t *j, *t;
	int ret = -EINVAL;

	memset(sc, 0, sizeof(*sc));
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "%s: %s (line %d)", path, jerr.text, jerr.line);
		return -EINVAL;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	if (!json_is_object(j)) {
		snprintf(err, errlen, "scenario: must be a JSON object");
		goto out;
	}
	if (jf_check_keys(j, "scenario", keys, err, errlen) ||
	    expand_env(j, "scenario", err, errlen) ||
	    jf_string(j, "name", "scenario", sc->name, sizeof(sc->name), false, err, errlen) ||
	    jf_string(j, "receipts", "scenario", receipts, sizeof(receipts), true, err, errlen))
		goto out;
	if (!*sc->name) {
		char base[PATH_MAX];

		snprintf(base, sizeof(base), "%s", path);
		snprintf(sc->name, sizeof(sc->name), "%s", basename(base));
	}
	t = json_object_get(j, "target");
	if (!json_is_object(t)) {
		snprintf(err, errlen, "target: missing, or not an object with url and netns");
		goto out;
	}
	if (jf_check_keys(t, "target", tkeys, err, errlen) ||
	    jf_string(t, "url", "target", sc->url, sizeof(sc->url), true, err, errlen) ||
	    jf_string(t, "netns", "target", sc->netns, sizeof(sc->netns), false, err, errlen))
		goto out;
	if (strncmp(sc->url, "http://", 7) && strncmp(sc->url, "https://", 8)) {
		snprintf(err, errlen, "target.url: '%s' is not an http:// or https:// URL",
			 sc->url);
		goto out;
	}
	if (json_object_get(j, "trace")) {
		if (!json_is_boolean(json_object_get(j, "trace"))) {
			snprintf(err, errlen, "trace: true or false");
			goto out;
		}
		sc->trace = json_is_true(json_object_get(j, "trace"));
	}
	if (!json_object_get(j, "load")) {
		snprintf(err, errlen, "load: missing");
		goto out;
	}
	if (load_part(json_object_get(j, "load"), dir, &sc->load, err, errlen) ||
	    phases_part(json_object_get(j, "phases"), sc, err, errlen) ||
	    faults_part(json_object_get(j, "faults"), sc, err, errlen) ||
	    objectives_part(json_object_get(j, "objectives"), sc, err, errlen))
		goto out;
	/* "nginx:PATH" and "ndjson:PATH" take paths relative to the file. */
	{
		const char *colon = strchr(receipts, ':');

		if (colon &&
		    (!strncmp(receipts, "nginx:", 6) || !strncmp(receipts, "ndjson:", 7)) &&
		    colon[1] != '/')
			snprintf(sc->receipts, sizeof(sc->receipts), "%.*s%s/%s",
				 (int)(colon - receipts + 1), receipts, dir, colon + 1);
		else
			snprintf(sc->receipts, sizeof(sc->receipts), "%s", receipts);
	}
	ret = 0;
out:
	json_decref(j);
	if (ret)
		scenario_free(sc);
	return ret;
}

void scenario_free(struct scenario *sc)
{
	for (int i = 0; i < SC_MAX_FAULTS; i++) {
		json_decref(sc->faults[i].fault);
		sc->faults[i].fault = NULL;
		json_decref(sc->faults[i].restart);
		sc->faults[i].restart = NULL;
	}
	json_decref(sc->objectives);
	sc->objectives = NULL;
}
