/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Strict reading of JSON objects that people write (requests, scenario
 * files): unknown fields are refused, and every error names the field by
 * its path ("fault.target.dport: ...").
 */
#ifndef FL_JSONFIELD_H
#define FL_JSONFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Makes a reason fit one line of a JSON reply: control characters, and bytes
 * that are not UTF-8 (as a cut by %.40s or a short buffer leaves), become '?'. */
void jf_one_line(char *s);
/* Each returns 0, or -EINVAL with a one-line reason in err. */
int jf_check_keys(json_t *obj, const char *where, const char *const *allowed, char *err,
		  size_t errlen);
/* A string field into dst; a missing optional field leaves dst alone. */
int jf_string(json_t *obj, const char *key, const char *where, char *dst, size_t len, bool required,
	      char *err, size_t errlen);
/* A duration: "250ms", "30s", "5m" or a number of seconds; must be > 0
 * unless allow_zero. A missing optional field leaves *ns alone. */
int jf_duration(json_t *obj, const char *key, const char *where, uint64_t *ns, bool required,
		bool allow_zero, char *err, size_t errlen);

/* Write j to path whole or not at all (a temporary file, then rename):
 * a crash halfway leaves the old file. Returns 0 or -errno. */
int jf_save_atomic(const char *path, json_t *j);

#endif
