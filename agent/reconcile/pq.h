/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * libpq, loaded when needed (dlopen "libpq.so.5"): receipts from
 * PostgreSQL (receipts_pg.c) and the demo service's payments table
 * (tools/idemsvc.c) need it; nothing else does, so the binaries do not
 * link it. The few types and constants used are libpq's stable ABI
 * (libpq-fe.h: ConnStatusType, ExecStatusType).
 */
#ifndef FL_PQ_H
#define FL_PQ_H

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
#define FL_PQ_CONNECTION_OK 0
#define FL_PQ_COMMAND_OK    1
#define FL_PQ_TUPLES_OK	    2
#define FL_PQ_SINGLE_TUPLE  9

struct pq {
	void *h;
	PGconn *(*connectdb)(const char *conninfo);
	int (*status)(const PGconn *c);
	char *(*error_message)(const PGconn *c);
	PGresult *(*exec)(PGconn *c, const char *query);
	PGresult *(*exec_params)(PGconn *c, const char *command, int n, const unsigned int *types,
				 const char *const *values, const int *lengths, const int *formats,
				 int result_format);
	int (*send_query)(PGconn *c, const char *query);
	int (*set_single_row_mode)(PGconn *c);
	PGresult *(*get_result)(PGconn *c);
	int (*result_status)(const PGresult *r);
	char *(*result_error_message)(const PGresult *r);
	int (*ntuples)(const PGresult *r);
	int (*fnumber)(const PGresult *r, const char *name);
	char *(*getvalue)(const PGresult *r, int row, int col);
	int (*getlength)(const PGresult *r, int row, int col);
	int (*getisnull)(const PGresult *r, int row, int col);
	char *(*cmd_tuples)(PGresult *r);
	void (*clear)(PGresult *r);
	void (*finish)(PGconn *c);
};

/* 0, or -1 with the reason in err. */
static inline int pq_load(struct pq *q, char *err, size_t errlen)
{
	static const char *const names[] = {"PQconnectdb",
					    "PQstatus",
					    "PQerrorMessage",
					    "PQexec",
					    "PQexecParams",
					    "PQsendQuery",
					    "PQsetSingleRowMode",
					    "PQgetResult",
					    "PQresultStatus",
					    "PQresultErrorMessage",
					    "PQntuples",
					    "PQfnumber",
					    "PQgetvalue",
					    "PQgetlength",
					    "PQgetisnull",
					    "PQcmdTuples",
					    "PQclear",
					    "PQfinish"};
	void **fn = (void **)&q->connectdb;

	memset(q, 0, sizeof(*q));
	q->h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (!q->h) {
		snprintf(err, errlen, "PostgreSQL needs libpq (apt install libpq5): %s", dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fn[i] = dlsym(q->h, names[i]);
		if (!fn[i]) {
			snprintf(err, errlen, "libpq has no %s (too old?)", names[i]);
			dlclose(q->h);
			q->h = NULL;
			return -1;
		}
	}
	return 0;
}

static inline void pq_unload(struct pq *q)
{
	if (q->h)
		dlclose(q->h);
	q->h = NULL;
}

#endif
