// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Receipts from PostgreSQL: pg:[CONNINFO|]QUERY. The query returns a row
 * per receipt with columns named id (required), status, key, ts, upstream,
 * upstream_status (any order; others ignored); rows stream one at a time
 * (single-row mode), so a large table needs no memory. Without CONNINFO,
 * libpq's environment (PGHOST, PGDATABASE, ...) says where.
 *   pg:host=/tmp dbname=pay|SELECT request_id AS id, 200 AS status, key FROM payments
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pq.h"
#include "receipts_int.h"

static int num(const char *s, int *v)
{
	char *end;
	long x = strtol(s, &end, 10);

	if (!*s || *end || x < 0 || x > 999)
		return -EINVAL;
	*v = (int)x;
	return 0;
}

int rc_read_pg(struct lp *p, const char *spec)
{
	const char *bar = strchr(spec, '|'), *query = bar ? bar + 1 : spec;
	char *conninfo = strndup(spec, bar ? (size_t)(bar - spec) : 0);
	int col[6] = {-1, -1, -1, -1, -1, -1}, ret = 0;
	static const char *const names[6] = {"id", "status",   "key",
					     "ts", "upstream", "upstream_status"};
	bool cols = false;
	PGconn *conn = NULL;
	PGresult *res;
	struct pq q = {0};

	if (!conninfo)
		return -ENOMEM;
	if (!*query) {
		snprintf(p->err, p->errlen,
			 "pg: needs a query (pg:[CONNINFO|]SELECT id, status, key FROM ...)");
		ret = -EINVAL;
		goto out;
	}
	if (pq_load(&q, p->err, p->errlen)) {
		ret = -ENOSYS;
		goto out;
	}
	conn = q.connectdb(conninfo);
	if (!conn || q.status(conn) != FL_PQ_CONNECTION_OK) {
		snprintf(p->err, p->errlen, "cannot connect to PostgreSQL (%s): %s",
			 *conninfo ? conninfo : "libpq's environment",
			 conn ? strtok(q.error_message(conn), "\n") : "out of memory");
		ret = -ECONNREFUSED;
		goto out;
	}
	if (!q.send_query(conn, query) || !q.set_single_row_mode(conn)) {
		snprintf(p->err, p->errlen, "PostgreSQL: %s", strtok(q.error_message(conn), "\n"));
		ret = -EIO;
		goto out;
	}
	while ((res = q.get_result(conn))) {
		int st = q.result_status(res);

		if (st == FL_PQ_SINGLE_TUPLE && !ret) {
			struct rc_receipt r = {0};
			const char *v;

			if (!cols) {
				for (int i = 0; i < 6; i++)
					col[i] = q.fnumber(res, names[i]);
				cols = true;
				if (col[0] < 0) {
					snprintf(p->err, p->errlen,
						 "pg: the query returns no column named id (SELECT "
						 "... AS id, ... AS status, ... AS key)");
					ret = -EINVAL;
				}
			}
			p->line++;
			if (!ret && !q.getisnull(res, 0, col[0])) {
				r.id = q.getvalue(res, 0, col[0]);
				r.id_len = (size_t)q.getlength(res, 0, col[0]);
			}
			if (!ret && col[1] >= 0 && !q.getisnull(res, 0, col[1]) &&
			    num(q.getvalue(res, 0, col[1]), &r.status)) {
				snprintf(p->err, p->errlen,
					 "pg row %llu: status '%.32s' is not an "
					 "HTTP status",
					 (unsigned long long)p->line, q.getvalue(res, 0, col[1]));
				ret = -EINVAL;
			}
			if (col[2] >= 0 && !q.getisnull(res, 0, col[2])) {
				r.key = q.getvalue(res, 0, col[2]);
				r.key_len = (size_t)q.getlength(res, 0, col[2]);
			}
			if (col[3] >= 0 && !q.getisnull(res, 0, col[3])) {
				double ts = strtod(q.getvalue(res, 0, col[3]), NULL);

				r.ts_ns = ts > 0 && ts < 1e10 ? (uint64_t)(ts * 1e9) : 0;
			}
			if (col[4] >= 0 && !q.getisnull(res, 0, col[4])) {
				r.upstream = q.getvalue(res, 0, col[4]);
				r.upstream_len = (size_t)q.getlength(res, 0, col[4]);
			}
			if (col[5] >= 0 && !q.getisnull(res, 0, col[5]) &&
			    (v = q.getvalue(res, 0, col[5])))
				num(v, &r.upstream_status);
			if (!ret)
				ret = p->cb(&r, p->arg);
		} else if (st != FL_PQ_TUPLES_OK && st != FL_PQ_SINGLE_TUPLE && !ret) {
			snprintf(p->err, p->errlen, "PostgreSQL: %s",
				 strtok(q.result_error_message(res), "\n") ?: "query failed");
			ret = -EIO;
		}
		q.clear(res); /* every result, to the end of the query */
	}
out:
	if (conn)
		q.finish(conn);
	pq_unload(&q);
	free(conninfo);
	return ret;
}
