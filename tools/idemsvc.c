// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * idemsvc: a small demo service for the duplicate-request race. Every
 * request that carries an Idempotency-Key asks for one "effect" (think: a
 * payment). Each request is written to a receipts file as NDJSON:
 *   {"id":"<X-Request-Id>","key":"<Idempotency-Key>","effect":true|false,"status":200,"ts":<wall
 * s>} Built twice: idemsvc performs the effect for every request, so two requests with one key race
 * into two effects; idemsvc-dedup (-DDEDUP) remembers the keys it has served and performs each
 * effect once.
 *
 * With -P CONNINFO the payments are rows in PostgreSQL instead, as a real
 * service keeps them, and requests are served in parallel (a thread and a
 * database connection per client connection): every request is a row of
 * "requests" (id), every effect a row of "payments" (id, key). idemsvc
 * checks, then inserts (SELECT, a 20 ms call to the card network, INSERT):
 * two requests with one key both find none and both pay. idemsvc-dedup has
 * a unique constraint on the key and inserts with ON CONFLICT DO NOTHING:
 * one of the two pays. Receipts:
 *   pg:CONNINFO|SELECT r.id, 200 AS status, p.key FROM requests r
 *                LEFT JOIN payments p ON p.id = r.id
 */
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pq.h"

#define KEY_SLOTS (1 << 20) /* open addressing; a demo, not a database */

static FILE *receipts;
static const char *conninfo; /* -P: payments in PostgreSQL */
static struct pq pq;
static __thread PGconn *db;  /* one per serving thread */
static pthread_key_t db_key; /* closes it when the thread ends */

static void db_close(void *c)
{
	pq.finish(c);
}

#ifdef DEDUP
#define SCHEMA                                                                                     \
	"CREATE TABLE IF NOT EXISTS requests (id text NOT NULL);"                                  \
	"CREATE TABLE IF NOT EXISTS payments (id text NOT NULL, key text NOT NULL UNIQUE);"
#define PAY "INSERT INTO payments (id, key) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
#else
#define SCHEMA                                                                                     \
	"CREATE TABLE IF NOT EXISTS requests (id text NOT NULL);"                                  \
	"CREATE TABLE IF NOT EXISTS payments (id text NOT NULL, key text NOT NULL);"
#define PAY "INSERT INTO payments (id, key) VALUES ($1, $2)"
#endif

/* 1 when the command did what it says (rows: how many it touched). */
static int sql(const char *cmd, int n, const char *const *v, int *rows)
{
	PGresult *r;
	int st, ok;

	if (!db) {
		db = pq.connectdb(conninfo);
		pthread_setspecific(db_key, db);
		if (!db || pq.status(db) != FL_PQ_CONNECTION_OK) {
			fprintf(stderr, "idemsvc: cannot connect to PostgreSQL: %s",
				db ? pq.error_message(db) : "out of memory\n");
			if (db)
				pq.finish(db);
			db = NULL;
			pthread_setspecific(db_key, NULL);
			return 0;
		}
	}
	r = n ? pq.exec_params(db, cmd, n, NULL, v, NULL, NULL, 0) : pq.exec(db, cmd);
	st = r ? pq.result_status(r) : -1;
	ok = st == FL_PQ_COMMAND_OK || st == FL_PQ_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "idemsvc: %s: %s", cmd,
			r ? pq.result_error_message(r) : "no result\n");
	if (ok && rows)
		*rows = st == FL_PQ_TUPLES_OK ? pq.ntuples(r) : atoi(pq.cmd_tuples(r));
	pq.clear(r);
	return ok;
}

/* The payment of one request in the database: 1 paid, 0 not (paid
 * before), -1 the database failed. */
static int pay_pg(const char *id, const char *key)
{
	const char *v[2] = {id, key};
	int rows = 0;

	if (!sql("INSERT INTO requests (id) VALUES ($1)", 1, v, NULL))
		return -1;
	if (!*key)
		return 0;
	if (!sql("SELECT 1 FROM payments WHERE key = $1", 1, v + 1, &rows))
		return -1;
	if (rows)
		return 0;
	usleep(20 * 1000); /* the card network */
	if (!sql(PAY, 2, v, &rows))
		return -1;
	return rows > 0;
}

#ifdef DEDUP
static char **keys;

static unsigned long hash(const char *s)
{
	unsigned long h = 1469598103934665603UL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211UL;
	return h;
}

/* True the first time a key is seen. MHD serves from one thread here. */
static int first_time(const char *key)
{
	unsigned long i = hash(key) & (KEY_SLOTS - 1);

	while (keys[i]) {
		if (!strcmp(keys[i], key))
			return 0;
		i = (i + 1) & (KEY_SLOTS - 1);
	}
	keys[i] = strdup(key);
	return 1;
}
#endif

/* Header values go into JSON strings: keep only safe characters. */
static void safe_copy(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	for (; src && *src && n + 1 < len; src++)
		if ((*src >= '0' && *src <= '9') || (*src >= 'a' && *src <= 'z') ||
		    (*src >= 'A' && *src <= 'Z') || strchr("-_.:", *src))
			dst[n++] = *src;
	dst[n] = '\0';
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	static int first_call;
	char id[96], key[96];
	struct timespec now;
	const char *body;
	struct MHD_Response *r;
	enum MHD_Result ret;
	int effect = 1;

	if (!*state) { /* headers are in; wait for the body */
		*state = &first_call;
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;
		return MHD_YES;
	}
	safe_copy(id, sizeof(id), MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id"));
	safe_copy(key, sizeof(key),
		  MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"));
	if (conninfo) {
		effect = pay_pg(id, key);
		if (effect < 0) {
			static const char fail[] = "database failed\n";

			r = MHD_create_response_from_buffer(sizeof(fail) - 1, (void *)fail,
							    MHD_RESPMEM_PERSISTENT);
			ret = MHD_queue_response(c, MHD_HTTP_INTERNAL_SERVER_ERROR, r);
			MHD_destroy_response(r);
			return ret;
		}
		goto answer;
	}
#ifdef DEDUP
	if (*key)
		effect = first_time(key);
#endif
	if (!*key)
		effect = 0;
	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(receipts,
		"{\"id\":\"%s\",\"key\":\"%s\",\"effect\":%s,\"status\":200,\"ts\":%lld.%09ld}\n",
		id, key, effect ? "true" : "false", (long long)now.tv_sec, now.tv_nsec);
	fflush(receipts);
answer:
	body = effect ? "done\n" : "already done\n";
	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
	done = sig;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	struct MHD_Daemon *d;
	unsigned long port = 0;
	int c;

	while ((c = getopt(argc, argv, "p:r:P:h")) != -1) {
		switch (c) {
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			path = optarg;
			break;
		case 'P':
			conninfo = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s -p PORT (-r RECEIPTS.ndjson | -P CONNINFO)\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!port || port > 65535 || !path == !conninfo || optind != argc) {
		fprintf(stderr, "usage: %s -p PORT (-r RECEIPTS.ndjson | -P CONNINFO)\n", argv[0]);
		return 2;
	}
	if (conninfo) {
		char err[256];

		if (pq_load(&pq, err, sizeof(err))) {
			fprintf(stderr, "idemsvc: %s\n", err);
			return 1;
		}
		pthread_key_create(&db_key, db_close);
		if (!sql(SCHEMA, 0, NULL, NULL))
			return 1;
		signal(SIGTERM, on_signal);
		signal(SIGINT, on_signal);
		/* a thread per connection: requests race as they would */
		d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
					 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_DUAL_STACK,
				     port, NULL, NULL, handle, NULL, MHD_OPTION_CONNECTION_LIMIT,
				     256, MHD_OPTION_END);
		if (!d) {
			fprintf(stderr, "idemsvc: cannot listen on port %lu\n", port);
			return 1;
		}
		while (!done)
			pause();
		MHD_stop_daemon(d);
		pq_unload(&pq);
		return 0;
	}
	receipts = fopen(path, "a");
	if (!receipts) {
		fprintf(stderr, "idemsvc: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
#ifdef DEDUP
	keys = calloc(KEY_SLOTS, sizeof(*keys));
	if (!keys)
		return 1;
#endif
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* One polling thread: requests are served one at a time. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_DUAL_STACK,
			     port, NULL, NULL, handle, NULL, MHD_OPTION_CONNECTION_LIMIT, 4096,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "idemsvc: cannot listen on port %lu\n", port);
		return 1;
	}
	while (!done)
		pause();
	MHD_stop_daemon(d);
	fclose(receipts);
	return 0;
}
