// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * From the fact table to a backend per fault kind, by the order of
 * preference in the one list of kinds (kinds/registry.c); and the fact
 * table as JSON and as the table `agentctl doctor` prints.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "probe.h"
#include "probe_int.h"
#include "registry.h"

/* Whether b can run here; if not, why (one clause, appended to why). */
static bool backend_usable(const struct fl_facts *f, const struct fl_backend_desc *b, char *why,
			   size_t len)
{
	bool any = b->any[0] == FACT_MAX;

	for (int i = 0; i < FL_BACKEND_NEEDS && b->all[i] != FACT_MAX; i++) {
		const struct fl_fact_result *r = &f->r[b->all[i]];

		if (!r->ok) {
			flp_append(why, len, "%s%s needs %s: %s", *why ? "; " : "", b->name,
				   fact_name(b->all[i]), r->detail);
			return false;
		}
	}
	for (int i = 0; i < FL_BACKEND_NEEDS && b->any[i] != FACT_MAX; i++)
		any |= f->r[b->any[i]].ok;
	if (!any)
		flp_append(why, len, "%s%s needs %s", *why ? "; " : "", b->name, b->any_what);
	return any;
}

const char *probe_backend_for(const struct fl_facts *f, const char *kind, char *why, size_t len)
{
	const struct fl_kind_desc *k = fl_kind_by_name(kind);

	if (len)
		why[0] = '\0';
	if (!k) {
		if (len)
			snprintf(why, len, "unknown fault kind \"%s\"", kind ? kind : "");
		return NULL;
	}
	for (const struct fl_backend_desc *b = k->backends; b->name; b++)
		if (backend_usable(f, b, why, len))
			return b->name;
	return NULL;
}

bool probe_backend_ok(const struct fl_facts *f, const char *kind, const char *backend, char *why,
		      size_t len)
{
	const struct fl_backend_desc *b = fl_backend_by_name(fl_kind_by_name(kind), backend);

	if (len)
		why[0] = '\0';
	if (b)
		return backend_usable(f, b, why, len);
	if (len)
		snprintf(why, len, "no backend \"%s\" for %s faults", backend ? backend : "",
			 kind ? kind : "?");
	return false;
}

json_t *probe_to_json(const struct fl_facts *f)
{
	json_t *root = json_object(), *facts = json_object(), *kinds = json_object();

	if (!root || !facts || !kinds)
		goto fail;
	for (int i = 0; i < FACT_MAX; i++)
		json_object_set_new(
		    facts, fact_name(i),
		    json_pack("{s:b,s:s}", "ok", f->r[i].ok, "detail", f->r[i].detail));
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++) {
		json_t *arr = json_array();
		char why[1024];
		const char *b = probe_backend_for(f, k->name, why, sizeof(why));

		for (const struct fl_backend_desc *o = k->backends; o->name; o++)
			json_array_append_new(arr, json_string(o->name));
		json_object_set_new(kinds, k->name,
				    json_pack("{s:o,s:s,s:o,s:b}", "backend",
					      b ? json_string(b) : json_null(), "why", why, "order",
					      arr, "served", k->served));
	}
	json_object_set_new(root, "kernel", json_string(f->kernel));
	json_object_set_new(root, "elapsed_ms", json_real(f->elapsed_ms));
	json_object_set_new(root, "cgroup2_path", json_string(f->cgroup2_path));
	json_object_set_new(root, "facts", facts);
	json_object_set_new(root, "backends", kinds);
	return root;
fail:
	json_decref(root);
	json_decref(facts);
	json_decref(kinds);
	return NULL;
}

int probe_from_json(json_t *obj, struct fl_facts *f)
{
	json_t *facts = json_object_get(obj, "facts"), *v;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(obj) || !json_is_object(facts))
		return -EINVAL;
	snprintf(f->kernel, sizeof(f->kernel), "%s",
		 json_string_value(json_object_get(obj, "kernel")) ?: "");
	snprintf(f->cgroup2_path, sizeof(f->cgroup2_path), "%s",
		 json_string_value(json_object_get(obj, "cgroup2_path")) ?: "");
	v = json_object_get(obj, "elapsed_ms");
	f->elapsed_ms = json_is_number(v) ? json_number_value(v) : 0;
	for (int i = 0; i < FACT_MAX; i++) {
		json_t *r = json_object_get(facts, fact_name(i));
		const char *detail = json_string_value(json_object_get(r, "detail"));

		if (!json_is_object(r)) {
			snprintf(f->r[i].detail, sizeof(f->r[i].detail),
				 "not reported by the agent (older agent?)");
			continue;
		}
		f->r[i].ok = json_is_true(json_object_get(r, "ok"));
		snprintf(f->r[i].detail, sizeof(f->r[i].detail), "%s", detail ?: "");
		if (!f->r[i].ok && !f->r[i].detail[0])
			snprintf(f->r[i].detail, sizeof(f->r[i].detail), "no reason given");
	}
	return 0;
}

void probe_print(const struct fl_facts *f, FILE *out)
{
	fprintf(out, "kernel %s, probed in %.0f ms\n\n", f->kernel, f->elapsed_ms);
	fprintf(out, "%-17s %-4s %s\n", "FACT", "OK", "DETAIL");
	for (int i = 0; i < FACT_MAX; i++)
		fprintf(out, "%-17s %-4s %s\n", fact_name(i), f->r[i].ok ? "yes" : "no",
			f->r[i].detail);
	fprintf(out, "\n%-16s %-9s %s\n", "FAULT KIND", "BACKEND", "WHY NOT THE ONES BEFORE IT");
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++) {
		char why[1024];
		const char *b = probe_backend_for(f, k->name, why, sizeof(why));

		fprintf(out, "%-16s %-9s %s%s\n", k->name, b ? b : "NONE", why[0] ? why : "-",
			k->served ? "" : " (not served by this agent yet)");
		/* The backends after the one chosen serve what it cannot (the
		 * cgroup errno backend serves socket calls only): say which of
		 * them this kernel lacks too. */
		for (const struct fl_backend_desc *o = b ? fl_backend_by_name(k, b) + 1 : NULL;
		     o && o->name; o++) {
			char w[512] = "";

			if (!backend_usable(f, o, w, sizeof(w)))
				fprintf(out, "%-16s %-9s not here: %s\n", "", o->name, w);
		}
	}
}
