// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * gen_ledger: a synthetic run for the reconciliation benchmark
 * (tools/bench_reconcile.sh): a loadgen ledger of N requests at 10k/s and
 * the nginx access log (faultline log_format) a service would have written
 * for them, with known defects: every 100000th request missing from the log,
 * every 100000th (+1) logged twice, 1 % timed out (and not logged), and one
 * ghost line per million. Prints the expected counts as JSON.
 *
 *   gen_ledger N LEDGER ACCESS_LOG
 *
 * Built by the benchmark script: cc -O2 -iquote loadgen tools/gen_ledger.c
 * build/libloadgen.a -lz -lpthread
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ledger.h"

#define RUN_ID	0x5eed5eed0badcafeULL
#define T0_WALL 1790000000000000000ULL
#define T0_MONO 5000000000000ULL
#define GAP_NS	100000ULL /* 10k requests/s */
#define BATCH	65536
#define THREADS 4

struct job {
	struct fl_ledger_writer *w;
	uint64_t from, to;
	int err;
};

static int fate(uint64_t seq)
{
	return seq % 100 == 50 ? FL_OUT_TIMEOUT : FL_OUT_OK;
}

static void *write_part(void *arg)
{
	struct job *j = arg;
	struct fl_ledger_rec *b = calloc(BATCH, sizeof(*b));
	uint64_t s = j->from;

	if (!b) {
		j->err = -ENOMEM;
		return NULL;
	}
	while (s < j->to && !j->err) {
		size_t n = 0;

		for (; n < BATCH && s < j->to; n++, s++) {
			struct fl_ledger_rec *r = &b[n];
			uint64_t lat = 300000 + (s * 2654435761ULL) % 2000000;

			memset(r, 0, sizeof(*r));
			r->run_id = RUN_ID;
			r->seq = s;
			r->instance = 0;
			r->sched_ns = T0_MONO + s * GAP_NS;
			r->sched_wall_ns = T0_WALL + s * GAP_NS;
			r->sent_ns = r->sched_ns + 2000;
			r->outcome = (uint8_t)fate(s);
			if (r->outcome == FL_OUT_TIMEOUT)
				lat = 1000000000ULL;
			else
				r->status = 200;
			r->done_ns = r->sched_ns + lat;
			r->latency_ns = lat;
			r->local_port = (uint16_t)(32768 + s % 28000);
			r->conn = (uint32_t)(s % 64);
			r->bytes_out = 90;
			r->bytes_in = 160;
			r->phase = (uint8_t)(s * 2 / (j->to ? j->to : 1) > 0);
		}
		j->err = fl_ledger_write(j->w, b, n);
	}
	free(b);
	return NULL;
}

int main(int argc, char **argv)
{
	struct fl_ledger_hdr h = {0};
	struct fl_ledger_writer *w;
	struct job jobs[THREADS];
	pthread_t th[THREADS];
	uint64_t n, missing = 0, dups = 0, ghosts = 0, timeouts = 0;
	char *end, id[FL_REQ_ID_LEN];
	FILE *fp;
	int err;

	if (argc != 4) {
		fprintf(stderr, "usage: gen_ledger N LEDGER ACCESS_LOG\n");
		return 2;
	}
	n = strtoull(argv[1], &end, 10);
	if (*end || !n) {
		fprintf(stderr, "gen_ledger: bad count '%s'\n", argv[1]);
		return 2;
	}
	memcpy(h.magic, FL_LEDGER_MAGIC, 8);
	h.version = FL_LEDGER_VERSION;
	h.hdr_size = sizeof(h);
	h.rec_size = sizeof(struct fl_ledger_rec);
	h.run_id = RUN_ID;
	h.start_mono_ns = T0_MONO;
	h.start_wall_ns = T0_WALL;
	snprintf(h.url, sizeof(h.url), "http://10.0.0.2:8080/");
	snprintf(h.host, sizeof(h.host), "bench");
	err = fl_ledger_create(argv[2], &h, &w);
	if (err) {
		fprintf(stderr, "gen_ledger: cannot create %s: %s\n", argv[2], strerror(-err));
		return 2;
	}
	for (int t = 0; t < THREADS; t++) {
		jobs[t] =
		    (struct job){.w = w, .from = n * t / THREADS, .to = n * (t + 1) / THREADS};
		pthread_create(&th[t], NULL, write_part, &jobs[t]);
	}
	fp = fopen(argv[3], "w");
	if (!fp) {
		fprintf(stderr, "gen_ledger: cannot create %s: %s\n", argv[3], strerror(errno));
		return 2;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	for (uint64_t s = 0; s < n; s++) {
		uint64_t wall = T0_WALL + s * GAP_NS + 400000;
		int k = 1;

		if (fate(s) == FL_OUT_TIMEOUT) {
			timeouts++;
			missing++;
			continue;
		}
		if (s % 100000 == 7) {
			missing++;
			continue;
		}
		if (s % 100000 == 8) {
			k = 2;
			dups++;
		}
		fl_req_id_format(id, sizeof(id), RUN_ID, 0, s);
		while (k--)
			fprintf(fp, "%llu.%03llu %s 200 0.000\n",
				(unsigned long long)(wall / 1000000000ULL),
				(unsigned long long)(wall / 1000000 % 1000), id);
		if (s % 1000000 == 9) {
			fprintf(fp, "%llu.000 %016llx-%u-%llu 200 0.000\n",
				(unsigned long long)(wall / 1000000000ULL),
				(unsigned long long)RUN_ID, 9u, (unsigned long long)s);
			ghosts++;
		}
	}
	if (fclose(fp)) {
		fprintf(stderr, "gen_ledger: cannot write %s: %s\n", argv[3], strerror(errno));
		return 2;
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		if (jobs[t].err)
			err = jobs[t].err;
	}
	if (err || (err = fl_ledger_finish(w, NULL))) {
		fprintf(stderr, "gen_ledger: cannot write %s: %s\n", argv[2], strerror(-err));
		return 2;
	}
	printf("{\"requests\":%llu,\"missing\":%llu,\"duplicates\":%llu,\"ghosts\":%llu,"
	       "\"timed_out\":%llu}\n",
	       (unsigned long long)n, (unsigned long long)missing, (unsigned long long)dups,
	       (unsigned long long)ghosts, (unsigned long long)timeouts);
	return 0;
}
