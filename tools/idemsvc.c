// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * idemsvc: a small demo service for the duplicate-request race. Every
 * request that carries an Idempotency-Key asks for one "effect" (think: a
 * payment). Each request is written to a receipts file as NDJSON:
 *   {"id":"<X-Request-Id>","key":"<Idempotency-Key>","effect":true|false,"status":200,"ts":<wall
 * s>} Built twice: idemsvc performs the effect for every request, so two requests with one key race
 * into two effects; idemsvc-dedup (-DDEDUP) remembers the keys it has served and performs each
 * effect once.
 */
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_SLOTS (1 << 20) /* open addressing; a demo, not a database */

static FILE *receipts;
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

	while ((c = getopt(argc, argv, "p:r:h")) != -1) {
		switch (c) {
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			path = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s -p PORT -r RECEIPTS.ndjson\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!port || port > 65535 || !path || optind != argc) {
		fprintf(stderr, "usage: %s -p PORT -r RECEIPTS.ndjson\n", argv[0]);
		return 2;
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
