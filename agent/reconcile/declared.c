// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Declared effects: what a scenario says a fault is expected to cause, as
 * a scenario fault's "effects" and agentctl reconcile --effects give them
 * (docs/scenarios.md). The one reader of that object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonfield.h"
#include "reconcile.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

/* "effects": {"statuses": [502, 504], "errors": ["timeout"], "grace": "2s"} */
int rc_declared_parse(json_t *e, const char *where, struct rc_declared *d, char *err, size_t errlen)
{
	static const char *const keys[] = {"statuses", "errors", "grace", NULL};
	char w[96];
	json_t *a, *v;
	size_t i;

	memset(d, 0, sizeof(*d));
	snprintf(w, sizeof(w), "%s.effects", where);
	if (!json_is_object(e))
		FAIL("%s.effects: must be an object (statuses, errors, grace)", where);
	if (jf_check_keys(e, w, keys, err, errlen) ||
	    jf_duration(e, "grace", w, &d->grace_ns, false, true, err, errlen))
		return -EINVAL;
	a = json_object_get(e, "statuses");
	if (a && (!json_is_array(a) || json_array_size(a) > RC_MAX_DECL_STATUSES))
		FAIL("%s.effects.statuses: must be a list of at most %d HTTP statuses", where,
		     RC_MAX_DECL_STATUSES);
	json_array_foreach(a, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 100 ||
		    json_integer_value(v) > 599)
			FAIL("%s.effects.statuses[%zu]: must be an HTTP status (100-599)", where,
			     i);
		d->statuses[d->n_statuses++] = (uint16_t)json_integer_value(v);
	}
	a = json_object_get(e, "errors");
	if (a && !json_is_array(a))
		FAIL("%s.effects.errors: must be a list of error names", where);
	json_array_foreach(a, i, v)
	{
		int form = json_is_string(v) ? rc_form_of_name(json_string_value(v)) : -1;

		if (form < 0 || form == RC_FORM_STATUS)
			FAIL("%s.effects.errors[%zu]: must be one of timeout, reset, connect, eof, "
			     "parse, other (statuses go in statuses)",
			     where, i);
		d->forms |= RC_FORM_BIT(form);
	}
	if (!d->n_statuses && !d->forms)
		FAIL("%s.effects: declares nothing (give statuses or errors)", where);
	return 0;
}

int rc_declared_load(const char *path, struct rc_declared **out, size_t *n, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *k;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!j) {
		snprintf(err, errlen, "cannot read %s: %s (line %d)", path, jerr.text, jerr.line);
		return -EINVAL;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s: must be an object of fault id -> effects", path);
		ret = -EINVAL;
		goto out;
	}
	*out = calloc(json_object_size(j) + 1, sizeof(**out));
	if (!*out) {
		ret = -ENOMEM;
		goto out;
	}
	json_object_foreach(j, k, v)
	{
		struct rc_declared *d = &(*out)[*n];
		char *end;
		unsigned long id = strtoul(k, &end, 10);

		if (!*k || *end || !id || id > UINT32_MAX) {
			snprintf(err, errlen, "%s: '%s' is not a fault id (the agent's number)",
				 path, k);
			ret = -EINVAL;
			goto out;
		}
		if ((ret = rc_declared_parse(v, k, d, err, errlen)))
			goto out;
		d->fault_id = (uint32_t)id;
		(*n)++;
	}
out:
	json_decref(j);
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}
