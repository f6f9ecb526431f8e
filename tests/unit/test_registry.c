// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The one list of kinds and backends: consistent in itself, with the kinds
 * the agent serves, and with docs/backends.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kind.h"
#include "registry.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void test_unique_and_found(void **state)
{
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++) {
		assert_ptr_equal(fl_kind_by_name(k->name), k);
		assert_ptr_equal(fl_kind_by_id(k->kind), k);
		assert_string_equal(fl_kind_name(k->kind), k->name);
		assert_true(k->kind > FL_KIND_NONE && k->kind < FL_KIND_MAX);
		assert_non_null(k->backends[0].name); /* every kind has a way */
		assert_true(k->explains != 0);	      /* and says what it can explain */
		for (const struct fl_backend_desc *b = k->backends; b->name; b++) {
			assert_ptr_equal(fl_backend_by_name(k, b->name), b);
			assert_non_null(b->how);
		}
	}
	assert_null(fl_kind_by_name("nonsense"));
	assert_null(fl_kind_by_id(FL_KIND_MAX));
	assert_string_equal(fl_kind_name(FL_KIND_MAX), "?");
	assert_null(fl_backend_by_name(fl_kind_by_name("drop"), "seccomp"));
}

/* A kind is served exactly when the agent has its operations. */
static void test_served_has_ops(void **state)
{
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++) {
		const struct fault_kind *ops = fault_kind_of(k->kind);

		if (k->served) {
			assert_non_null(ops);
			assert_non_null(ops->add);
			assert_non_null(ops->remove);
			assert_non_null(ops->counters);
		} else {
			assert_null(ops);
		}
	}
	for (int i = 0; fault_kinds[i]; i++)
		assert_true(fl_kind_by_id(fault_kinds[i]->kind)->served);
	assert_non_null(strstr(fl_kind_names(true), "drop"));
	assert_non_null(strstr(fl_kind_names(false), "syscall-latency"));
}

/* docs/backends.md names every kind and, in its row, every backend. */
static void test_docs(void **state)
{
	char *doc = read_file("docs/backends.md");

	assert_non_null(doc);
	for (const struct fl_kind_desc *k = fl_kinds; k->name; k++) {
		char key[64], *row, *end;

		snprintf(key, sizeof(key), "| `%s` (", k->name);
		row = strstr(doc, key);
		if (!row)
			fail_msg("docs/backends.md has no row for kind %s", k->name);
		end = strchr(row + 1, '\n');
		assert_non_null(end);
		*end = '\0';
		for (const struct fl_backend_desc *b = k->backends; b->name; b++) {
			snprintf(key, sizeof(key), "`%s`", b->name);
			if (!strstr(row, key))
				fail_msg("docs/backends.md: the %s row does not name backend %s",
					 k->name, b->name);
		}
		if (k->served != (strstr(row, "**yes**") != NULL))
			fail_msg("docs/backends.md: the %s row says it is%s served", k->name,
				 k->served ? " not" : "");
		*end = '\n';
	}
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unique_and_found),
	    cmocka_unit_test(test_served_has_ops),
	    cmocka_unit_test(test_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
