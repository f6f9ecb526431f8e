// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include "jsonfield.h"
#include "parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

void jf_one_line(char *s)
{
	while (*s) {
		unsigned char c = *s;
		int n = c < 0x80	     ? 0
			: (c & 0xe0) == 0xc0 ? 1
			: (c & 0xf0) == 0xe0 ? 2
			: (c & 0xf8) == 0xf0 ? 3
					     : -1;
		int i = 1;

		while (i <= n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		if (n < 0 || i <= n || c < 0x20 || c == 0x7f) {
			*s++ = '?';
			continue;
		}
		s += n + 1;
	}
}

int jf_check_keys(json_t *obj, const char *where, const char *const *allowed, char *err,
		  size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a) {
			snprintf(err, errlen, "%s: unknown field '%s'", where, key);
			jf_one_line(err);
			return -EINVAL;
		}
	}
	return 0;
}

int jf_string(json_t *obj, const char *key, const char *where, char *dst, size_t len, bool required,
	      char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required)
			FAIL("%s.%s: missing", where, key);
		return 0;
	}
	if (!json_is_string(v))
		FAIL("%s.%s: must be a string", where, key);
	if (json_string_length(v) >= len)
		FAIL("%s.%s: longer than %zu characters", where, key, len - 1);
	for (size_t i = 0; i < json_string_length(v); i++) {
		unsigned char c = json_string_value(v)[i];

		if (c < 0x20 || c == 0x7f)
			FAIL("%s.%s: contains a control character (0x%02x)", where, key, c);
	}
	strcpy(dst, json_string_value(v));
	return 0;
}

int jf_duration(json_t *obj, const char *key, const char *where, uint64_t *ns, bool required,
		bool allow_zero, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	uint64_t d;

	if (!v) {
		if (required)
			FAIL("%s.%s: missing", where, key);
		return 0;
	}
	if (json_is_string(v)) {
		if (parse_duration_ns(json_string_value(v), &d))
			FAIL("%s.%s: '%s' is not a duration (like 250ms, 30s, 5m)", where, key,
			     json_string_value(v));
	} else if (json_is_number(v)) {
		double sec = json_number_value(v);

		if (!(sec >= 0 && sec < 1e9))
			FAIL("%s.%s: %g is not a number of seconds", where, key, sec);
		d = (uint64_t)(sec * 1e9);
	} else {
		FAIL("%s.%s: must be a string like \"30s\" or a number of seconds", where, key);
	}
	if (!d && !allow_zero)
		FAIL("%s.%s: must be longer than zero", where, key);
	*ns = d;
	return 0;
}

int jf_save_atomic(const char *path, json_t *j)
{
	char tmp[PATH_MAX + 8];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (json_dump_file(j, tmp, JSON_COMPACT))
		return errno ? -errno : -EIO;
	if (rename(tmp, path)) {
		int e = -errno;

		unlink(tmp);
		return e;
	}
	return 0;
}
