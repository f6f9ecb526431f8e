// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Reconciliation on synthetic files: missing and duplicate ids, ghosts,
 * failures explained by inject events or left unexplained, objectives
 * (per phase, recovery) and bad objectives, idempotency keys, reports.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include <jansson.h>
#include "ledger.h"
#include "reconcile.h"

#define RUN  0x1234abcd5678ef01ULL
#define INST 3
#define T0   1790000000000000000ULL /* wall ns at the run's start */
#define MS   1000000ULL
#define SEC  1000000000ULL

struct fix {
	char dir[64];
	char ledger[128], receipts[160], events[128], out[128];
};

/* n requests, 10 ms apart; fate(seq) picks the outcome (FL_OUT_*). */
static void write_ledger(const char *path, unsigned n, unsigned (*fate)(unsigned seq),
			 unsigned (*phase)(unsigned seq))
{
	struct fl_ledger_hdr h = {0};
	struct fl_ledger_writer *w;
	struct fl_ledger_rec *recs = calloc(n, sizeof(*recs));

	assert_non_null(recs);
	memcpy(h.magic, FL_LEDGER_MAGIC, 8);
	h.version = FL_LEDGER_VERSION;
	h.hdr_size = sizeof(h);
	h.rec_size = sizeof(struct fl_ledger_rec);
	h.run_id = RUN;
	h.instance = INST;
	h.start_mono_ns = 1000 * SEC;
	h.start_wall_ns = T0;
	assert_int_equal(fl_ledger_create(path, &h, &w), 0);
	for (unsigned i = 0; i < n; i++) {
		struct fl_ledger_rec *r = &recs[i];
		unsigned o = fate ? fate(i) : FL_OUT_OK;

		r->run_id = RUN;
		r->instance = INST;
		r->seq = i;
		r->sched_ns = h.start_mono_ns + (uint64_t)i * 10 * MS;
		r->sched_wall_ns = T0 + (uint64_t)i * 10 * MS;
		r->outcome = (uint8_t)o;
		r->phase = (uint8_t)(phase ? phase(i) : 0);
		r->local_port = (uint16_t)(40000 + i);
		r->sock_cookie = 0xc00c1e000ULL + i;
		/* the client 10.0.0.1, the service 10.0.0.2:80 */
		r->family = AF_INET;
		memcpy(r->local_addr, (const uint8_t[]){10, 0, 0, 1}, 4);
		memcpy(r->peer_addr, (const uint8_t[]){10, 0, 0, 2}, 4);
		r->peer_port = 80;
		if (o == FL_OUT_CONNECT)
			r->err = ECONNREFUSED;
		if (o != FL_OUT_UNSENT) {
			r->sent_ns = r->sched_ns + 1000;
			r->done_ns =
			    r->sched_ns + (o == FL_OUT_TIMEOUT ? 1000 * MS : (1 + i % 5) * MS);
			r->latency_ns = r->done_ns - r->sched_ns;
		}
		if (o == FL_OUT_OK)
			r->status = 200;
	}
	/* two batches, out of order, as threads write them */
	assert_int_equal(fl_ledger_write(w, recs + n / 2, n - n / 2), 0);
	assert_int_equal(fl_ledger_write(w, recs, n / 2), 0);
	assert_int_equal(fl_ledger_finish(w, NULL), 0);
	free(recs);
}

static void id_of(char *buf, unsigned seq)
{
	fl_req_id_format(buf, FL_REQ_ID_LEN, RUN, INST, seq);
}

/* nginx receipts for seqs where recv(seq) > 0, recv(seq) times each. */
static void write_nginx(const char *path, unsigned n, unsigned (*recv)(unsigned seq),
			const char *extra)
{
	FILE *fp = fopen(path, "w");
	char id[FL_REQ_ID_LEN];

	assert_non_null(fp);
	for (unsigned i = 0; i < n; i++) {
		unsigned k = recv ? recv(i) : 1;

		id_of(id, i);
		while (k--)
			fprintf(fp, "%.3f %s 200 0.001\n", (double)(T0 + i * 10 * MS) / 1e9, id);
	}
	if (extra)
		fputs(extra, fp);
	fclose(fp);
}

static void setup_fix(struct fix *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/fl-test-rc.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ledger, sizeof(f->ledger), "%s/ledger.fll", f->dir);
	snprintf(f->receipts, sizeof(f->receipts), "nginx:%s/access.log", f->dir);
	snprintf(f->events, sizeof(f->events), "%s/events.ndjson.gz", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
}

static void cleanup_fix(struct fix *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->dir);
}

static int run(struct fix *f, json_t *obj, bool events, struct rc_result *res, char *err,
	       size_t errlen)
{
	const char *l[] = {f->ledger}, *r[] = {f->receipts}, *e[] = {f->events};
	struct rc_inputs in = {.ledgers = l,
			       .n_ledgers = 1,
			       .receipts = r,
			       .n_receipts = 1,
			       .events = e,
			       .n_events = events ? 1 : 0,
			       .objectives = obj,
			       .out_dir = f->out};

	return reconcile(&in, res, err, errlen);
}

static bool has_id(const struct rc_idlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->ids[i], id))
			return true;
	return false;
}

/* ---- receipts with one id removed and one duplicated ---- */

static unsigned recv_17_42(unsigned seq)
{
	return seq == 17 ? 0 : seq == 42 ? 2 : 1;
}

static void test_missing_duplicate(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256], id[FL_REQ_ID_LEN], p[200];
	struct stat st;
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 100, NULL, NULL);
	write_nginx(f.receipts + 6, 100, recv_17_42, NULL);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_int_equal(res.c.requests, 100);
	assert_int_equal(res.c.missing, 1);
	assert_int_equal(res.c.duplicates, 1);
	assert_int_equal(res.c.ghosts, 0);
	assert_int_equal(res.missing_ids.n, 1);
	assert_int_equal(res.duplicate_ids.n, 1);
	id_of(id, 17);
	assert_string_equal(res.missing_ids.ids[0], id);
	id_of(id, 42);
	assert_string_equal(res.duplicate_ids.ids[0], id);
	assert_int_equal(res.c.cells[RC_C_OK][RC_R_1], 98);
	assert_false(res.pass);
	for (const char *const *n = (const char *const[]){"report.json", "report.md", "report.html",
							  "missing_ids.txt", NULL};
	     *n; n++) {
		snprintf(p, sizeof(p), "%s/%s", f.out, *n);
		assert_int_equal(stat(p, &st), 0);
		assert_true(st.st_size > 0);
	}
	/* no bucket files left behind */
	snprintf(p, sizeof(p), "ls -A %s | grep -q reconcile", f.out);
	assert_int_not_equal(system(p), 0);
	rc_result_free(&res);

	/* the same with every receipt: pass */
	write_nginx(f.receipts + 6, 100, NULL, NULL);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_true(res.pass);
	assert_int_equal(res.c.missing + res.c.duplicates + res.c.ghosts, 0);
	rc_result_free(&res);
	cleanup_fix(&f);
}

/* ---- ghosts ---- */

static unsigned fate_unsent_90(unsigned seq)
{
	return seq >= 90 ? FL_OUT_UNSENT : FL_OUT_OK;
}

static unsigned recv_not_after_90(unsigned seq)
{
	return seq < 90 || seq == 95;
}

static void test_ghosts(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256], id[FL_REQ_ID_LEN], extra[256], other[FL_REQ_ID_LEN];
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 100, fate_unsent_90, NULL);
	fl_req_id_format(other, sizeof(other), RUN, INST + 1, 5); /* another instance */
	snprintf(extra, sizeof(extra),
		 "1790000000.100 %s 200 0.001\n1790000000.101 %s 200 0.001\n"
		 "1790000000.200 - 200 0.001\n1790000000.300 not-an-id 404 0.001\n",
		 other, other);
	write_nginx(f.receipts + 6, 100, recv_not_after_90, extra);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_int_equal(res.c.unsent, 10);
	assert_int_equal(res.c.missing, 0);
	assert_int_equal(res.c.receipts_noid, 1);
	assert_int_equal(res.c.ghosts, 3); /* other (once), unsent 95, not-an-id */
	id_of(id, 95);
	assert_true(has_id(&res.ghost_ids, id));
	assert_true(has_id(&res.ghost_ids, other));
	assert_true(has_id(&res.ghost_ids, "not-an-id"));
	rc_result_free(&res);
	cleanup_fix(&f);
}

/* ---- explained and unexplained failures ---- */

/* seq 10..19 time out and never reach the service */
static unsigned fate_10_19(unsigned seq)
{
	if (seq == 199)
		return FL_OUT_INFLIGHT; /* the run ended first: not a failure */
	return seq >= 10 && seq < 20 ? FL_OUT_TIMEOUT : FL_OUT_OK;
}

static unsigned recv_not_10_19(unsigned seq)
{
	return !(seq >= 10 && seq < 20);
}

static void write_events(const char *path, bool with_start)
{
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	if (with_start)
		gzprintf(gz,
			 "{\"type\":\"start\",\"wall_ns\":%llu,\"mono_ns\":1,\"host\":\"h\","
			 "\"fault_id\":7,\"backend\":\"tcx\",\"fault\":{\"kind\":\"drop\","
			 "\"name\":\"loss\",\"target\":{\"dev\":\"veth0\"}}}\n",
			 (unsigned long long)(T0 + 90 * MS));
	/* seqs 10..14: a drop on the request's port, inside its window */
	for (unsigned s = 10; s < 15; s++)
		gzprintf(gz,
			 "{\"type\":\"inject\",\"wall_ns\":%llu,\"mono_ns\":2,\"host\":\"h\","
			 "\"fault_id\":7,\"kind\":\"drop\",\"dir\":\"ingress\",\"proto\":\"tcp\","
			 "\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"sport\":%u,\"dport\":80}\n",
			 (unsigned long long)(T0 + s * 10 * MS + 2 * MS), 40000 + s);
	/* seq 15: right port, 2 s too late (outside window + slack) */
	gzprintf(gz,
		 "{\"type\":\"inject\",\"wall_ns\":%llu,\"mono_ns\":2,\"host\":\"h\","
		 "\"fault_id\":7,\"kind\":\"drop\",\"dir\":\"egress\",\"proto\":\"tcp\","
		 "\"src\":\"10.0.0.2\",\"dst\":\"10.0.0.1\",\"sport\":80,\"dport\":%u}\n",
		 (unsigned long long)(T0 + 150 * MS + 3 * SEC), 40015);
	/* seq 16: right time, another port */
	gzprintf(gz,
		 "{\"type\":\"inject\",\"wall_ns\":%llu,\"mono_ns\":2,\"host\":\"h\","
		 "\"fault_id\":7,\"kind\":\"drop\",\"dir\":\"ingress\",\"proto\":\"tcp\","
		 "\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"sport\":%u,\"dport\":80}\n",
		 (unsigned long long)(T0 + 160 * MS), 50016);
	gzprintf(gz,
		 "{\"type\":\"end\",\"wall_ns\":%llu,\"mono_ns\":3,\"host\":\"h\",\"fault_id\":7,"
		 "\"reason\":\"cleared\"}\n",
		 (unsigned long long)(T0 + 300 * MS));
	gzclose(gz);
}

static void test_explained(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256], id[FL_REQ_ID_LEN];
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 200, fate_10_19, NULL);
	write_nginx(f.receipts + 6, 200, recv_not_10_19, NULL);
	write_events(f.events, true);
	ret = run(&f, NULL, true, &res, err, sizeof(err));
	assert_int_equal(ret, 1); /* 5 unexplained */
	assert_int_equal(res.c.failed, 10);
	assert_int_equal(res.c.timed_out, 10);
	assert_int_equal(res.c.inflight, 1);
	assert_int_equal(res.c.recovered, 0);
	assert_int_equal(res.c.cells[RC_C_TIMEOUT][RC_R_1], 1);
	assert_int_equal(res.c.explained, 5);
	assert_int_equal(res.c.unexplained, 5);
	assert_int_equal(res.c.missing, 10);
	assert_int_equal(res.c.missing_explained, 5);
	assert_int_equal(res.unexplained_ids.n, 5);
	for (unsigned s = 15; s < 20; s++) {
		id_of(id, s);
		assert_true(has_id(&res.unexplained_ids, id));
	}
	assert_int_equal(res.n_faults, 1);
	assert_int_equal(res.faults[0].id, 7);
	assert_int_equal(res.faults[0].explained, 5);
	assert_int_equal(res.faults[0].injections, 7);
	assert_string_equal(res.faults[0].kind, "drop");
	assert_string_equal(res.faults[0].name, "loss");
	assert_string_equal(res.faults[0].backend, "tcx");
	assert_int_equal(res.faults[0].start_ns, T0 + 90 * MS);
	assert_int_equal(res.faults[0].end_ns, T0 + 300 * MS);
	assert_int_equal(res.faults[0].requests, 21); /* seq 9..29 */
	rc_result_free(&res);

	/* latency inside a fault's window: answered requests there took 1..5 ms,
	 * and those that timed out count as censored values (the timeout or
	 * more), so p99 there is a lower bound and never a pass; p50 is
	 * among the answered ones. */
	{
		json_t *o = json_loads("{\"latency\":[{\"fault\":\"loss\",\"percentile\":99,"
				       "\"max_ms\":10},{\"fault\":\"*\",\"percentile\":50,"
				       "\"max_ms\":1},{\"fault\":\"loss\",\"percentile\":50,"
				       "\"max_ms\":10}]}",
				       0, NULL);

		ret = run(&f, o, true, &res, err, sizeof(err));
		assert_int_equal(ret, 1);
		/* the three latency objectives, then the accounting defaults, which
		 * hold though the file gives objectives (missing, duplicates,
		 * ghosts, unexplained) */
		assert_int_equal(res.n_checks, 7);
		assert_string_equal(res.checks[6].field, "unexplained_max");
		assert_false(res.checks[6].pass);
		assert_false(res.checks[0].pass);
		assert_true(res.checks[0].lower_bound);
		assert_false(res.checks[1].pass);
		assert_false(res.checks[1].lower_bound);
		assert_true(res.checks[2].pass);
		assert_false(res.checks[2].lower_bound);
		assert_non_null(strstr(res.checks[0].name, "fault loss"));
		rc_result_free(&res);
		json_decref(o);
		o = json_loads("{\"latency\":[{\"fault\":\"nope\",\"percentile\":99,"
			       "\"max_ms\":10}]}",
			       0, NULL);
		ret = run(&f, o, true, &res, err, sizeof(err));
		assert_int_equal(ret, -EINVAL);
		assert_non_null(strstr(err, "objectives.latency[0].fault: no fault named 'nope'"));
		rc_result_free(&res);
		json_decref(o);
	}

	/* no events at all: every failure unexplained */
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_int_equal(res.c.unexplained, 10);
	assert_int_equal(res.c.explained, 0);
	rc_result_free(&res);
	cleanup_fix(&f);
}

/* ---- a socket-call fault: the event names the socket, not the ports ---- */

static unsigned fate_5_6(unsigned seq)
{
	return seq == 5 || seq == 6 ? FL_OUT_CONNECT : FL_OUT_OK;
}

static unsigned recv_not_5_6(unsigned seq)
{
	return seq != 5 && seq != 6;
}

static void test_cookie(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256], id[FL_REQ_ID_LEN];
	gzFile gz;
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 20, fate_5_6, NULL);
	write_nginx(f.receipts + 6, 20, recv_not_5_6, NULL);
	gz = gzopen(f.events, "wb");
	/* connect() of seq 5's socket failed with ECONNREFUSED; an event of
	 * another socket at seq 6's time explains nothing */
	gzprintf(gz,
		 "{\"type\":\"inject\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":3,"
		 "\"kind\":\"errno\",\"pid\":77,\"comm\":\"loadgen\",\"cookie\":%llu,"
		 "\"errno\":111}\n",
		 (unsigned long long)(T0 + 50 * MS), 0xc00c1e000ULL + 5);
	gzprintf(gz,
		 "{\"type\":\"inject\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":3,"
		 "\"kind\":\"errno\",\"pid\":77,\"comm\":\"loadgen\",\"cookie\":%llu,"
		 "\"errno\":111}\n",
		 (unsigned long long)(T0 + 60 * MS), 0xc00c1e000ULL + 99);
	gzclose(gz);
	ret = run(&f, NULL, true, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_int_equal(res.c.failed, 2);
	assert_int_equal(res.c.explained, 1);
	assert_int_equal(res.c.unexplained, 1);
	id_of(id, 6);
	assert_string_equal(res.unexplained_ids.ids[0], id);
	assert_int_equal(res.n_faults, 1);
	assert_int_equal(res.faults[0].explained, 1);
	assert_string_equal(res.faults[0].kind, "errno");
	rc_result_free(&res);
	cleanup_fix(&f);
}

/* ---- objectives ---- */

static unsigned phase_half(unsigned seq)
{
	return seq < 50 ? 0 : 1;
}

static void test_objectives(void **state)
{
	const char *names[] = {"steady", "burst"};
	const char *l[1], *r[1];
	struct fix f;
	struct rc_result res;
	struct rc_inputs in = {.ledgers = l,
			       .n_ledgers = 1,
			       .receipts = r,
			       .n_receipts = 1,
			       .phases = names,
			       .n_phases = 2};
	char err[256];
	json_t *o;
	int ret;

	(void)state;
	setup_fix(&f);
	l[0] = f.ledger;
	r[0] = f.receipts;
	in.out_dir = f.out;
	write_ledger(f.ledger, 100, NULL, phase_half);
	write_nginx(f.receipts + 6, 100, NULL, NULL);

	/* latencies are 1..5 ms */
	o = json_loads("{\"latency\":[{\"phase\":\"steady\",\"percentile\":99,\"max_ms\":10},"
		       "{\"percentile\":50,\"max_ms\":10}],\"error_rate_max\":0.01,"
		       "\"missing_max\":0,\"recovery_max_s\":5}",
		       0, NULL);
	in.objectives = o;
	ret = reconcile(&in, &res, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_int_equal(res.n_checks, 7); /* 2 latency, error rate, 4 accounting */
	assert_string_equal(res.checks[0].field, "latency[0]");
	assert_true(res.checks[0].value >= 4.9 && res.checks[0].value <= 5.1);
	assert_int_equal(res.n_phases, 2);
	assert_string_equal(res.phases[1].name, "burst");
	assert_int_equal(res.phases[1].requests, 50);
	rc_result_free(&res);
	json_decref(o);

	o = json_loads("{\"latency\":[{\"phase\":\"burst\",\"percentile\":99,\"max_ms\":2}]}", 0,
		       NULL);
	in.objectives = o;
	ret = reconcile(&in, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_false(res.checks[0].pass);
	rc_result_free(&res);
	json_decref(o);

	static const struct {
		const char *json, *want;
	} bad[] = {
	    {"{\"latency\":[{\"phase\":\"ramp\",\"percentile\":99,\"max_ms\":2}]}",
	     "objectives.latency[0].phase: unknown phase 'ramp'"},
	    {"{\"latency\":[{\"phase\":3,\"percentile\":99,\"max_ms\":2}]}",
	     "objectives.latency[0].phase: must be a string"},
	    {"{\"latency\":[{\"percentile\":120,\"max_ms\":2}]}",
	     "objectives.latency[0].percentile"},
	    {"{\"latency\":[{\"percentile\":99}]}", "objectives.latency[0].max_ms"},
	    {"{\"latency\":{}}", "objectives.latency: must be an array"},
	    {"{\"missing_max\":\"0\"}", "objectives.missing_max: must be an integer"},
	    {"{\"error_rate_max\":2}", "objectives.error_rate_max"},
	    {"{\"recovery_max_s\":-1}", "objectives.recovery_max_s"},
	    {"{\"p99\":3}", "objectives.p99: unknown field"},
	    {"{\"latency\":[{\"phase\":\"steady\",\"percentile\":99,\"max_ms\":2,\"x\":1}]}",
	     "objectives.latency[0].x: unknown field"},
	    {"[]", "objectives: must be a JSON object"},
	    {"{\"latency\":[{\"phase\":\"steady\",\"fault\":\"x\",\"percentile\":99,\"max_ms\":2}]"
	     "}",
	     "objectives.latency[0]: give phase or fault, not both"},
	    {"{\"latency\":[{\"fault\":3,\"percentile\":99,\"max_ms\":2}]}",
	     "objectives.latency[0].fault: must be"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_loads(bad[i].json, 0, NULL);
		assert_non_null(o);
		in.objectives = o;
		err[0] = '\0';
		ret = reconcile(&in, &res, err, sizeof(err));
		if (ret != -EINVAL || !strstr(err, bad[i].want))
			fail_msg("%s: got %d '%s', want '%s'", bad[i].json, ret, err, bad[i].want);
		rc_result_free(&res);
		assert_int_equal(rc_objectives_check(o, names, 2, err, sizeof(err)), -EINVAL);
		json_decref(o);
	}
	/* without names, a phase is a number */
	o = json_loads("{\"latency\":[{\"phase\":\"steady\",\"percentile\":99,\"max_ms\":2}]}", 0,
		       NULL);
	assert_int_equal(rc_objectives_check(o, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--phases"));
	json_decref(o);
	o = json_loads("{\"latency\":[{\"phase\":\"1\",\"percentile\":99,\"max_ms\":2}]}", 0, NULL);
	assert_int_equal(rc_objectives_check(o, NULL, 0, err, sizeof(err)), 0);
	json_decref(o);
	cleanup_fix(&f);
}

/* ---- recovery: failures for 2 s, then none ---- */

static unsigned fate_outage(unsigned seq)
{
	/* 10 ms apart: seq 200..399 is [2 s, 4 s) */
	return seq >= 200 && seq < 400 ? FL_OUT_CONNECT : FL_OUT_OK;
}

static unsigned recv_outage(unsigned seq)
{
	return fate_outage(seq) == FL_OUT_OK;
}

static void test_recovery(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256];
	gzFile gz;
	json_t *o;
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 800, fate_outage, NULL);
	write_nginx(f.receipts + 6, 800, recv_outage, NULL);
	gz = gzopen(f.events, "wb");
	gzprintf(gz,
		 "{\"type\":\"start\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":1,"
		 "\"backend\":\"tcx\",\"fault\":{\"kind\":\"drop\",\"name\":\"outage\"}}\n",
		 (unsigned long long)(T0 + 2 * SEC));
	for (unsigned s = 200; s < 400; s++)
		gzprintf(gz,
			 "{\"type\":\"inject\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":1,"
			 "\"kind\":\"drop\",\"dir\":\"egress\",\"proto\":\"tcp\","
			 "\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"sport\":%u,\"dport\":80}\n",
			 (unsigned long long)(T0 + s * 10 * MS + MS), 40000 + s);
	gzprintf(gz,
		 "{\"type\":\"end\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":1,"
		 "\"reason\":\"ttl\"}\n{\"type\":\"lost\",\"wall_ns\":1,\"host\":\"h\","
		 "\"count\":0}\n",
		 (unsigned long long)(T0 + 4 * SEC));
	gzclose(gz);
	o = json_loads("{\"recovery_max_s\":1,\"unexplained_max\":0,\"missing_max\":0}", 0, NULL);
	ret = run(&f, o, true, &res, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_int_equal(res.c.explained, 200);
	assert_int_equal(res.c.missing, 200);
	assert_int_equal(res.c.missing_explained, 200);
	assert_int_equal(res.n_faults, 1);
	assert_true(res.faults[0].has_recovery);
	assert_true(res.faults[0].recovery_s >= 0 && res.faults[0].recovery_s <= 1);
	assert_int_equal(res.faults[0].requests, 200);
	assert_int_equal(res.faults[0].failed, 200);
	assert_true(res.series.n >= 8);
	assert_int_equal(res.series.bins[3].failed, 100);
	rc_result_free(&res);
	json_decref(o);
	cleanup_fix(&f);
}

/* ---- recovery that does not last, and overlapping faults ---- */

/* A fault 2-4 s. After it one request in 4-5 s succeeds (the rest were
 * never sent), then 5-7 s fail, then all is well: recovery is at 7 s, 3 s
 * after the end, not at the first good second. */
static unsigned fate_relapse(unsigned seq)
{
	if (seq >= 200 && seq < 400)
		return FL_OUT_CONNECT;
	if (seq >= 400 && seq < 500)
		return seq == 450 ? FL_OUT_OK : FL_OUT_UNSENT;
	if (seq >= 500 && seq < 700)
		return FL_OUT_CONNECT;
	return FL_OUT_OK;
}

static unsigned recv_relapse(unsigned seq)
{
	return fate_relapse(seq) == FL_OUT_OK;
}

static void write_window(gzFile gz, unsigned id, uint64_t start, uint64_t end)
{
	gzprintf(gz,
		 "{\"type\":\"start\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"backend\":\"tcx\",\"fault\":{\"kind\":\"drop\"}}\n"
		 "{\"type\":\"end\",\"wall_ns\":%llu,\"host\":\"h\",\"fault_id\":%u,"
		 "\"reason\":\"ttl\"}\n",
		 (unsigned long long)start, id, (unsigned long long)end, id);
}

static void test_recovery_sustained(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256];
	gzFile gz;
	json_t *o = json_loads("{\"unexplained_max\":null,\"missing_max\":null}", 0, NULL);

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 1200, fate_relapse, NULL);
	write_nginx(f.receipts + 6, 1200, recv_relapse, NULL);
	gz = gzopen(f.events, "wb");
	write_window(gz, 1, T0 + 2 * SEC, T0 + 4 * SEC);
	gzclose(gz);
	assert_true(run(&f, o, true, &res, err, sizeof(err)) >= 0);
	assert_int_equal(res.n_faults, 1);
	assert_true(res.faults[0].has_recovery);
	assert_true(res.faults[0].recovery_s >= 2.95 && res.faults[0].recovery_s <= 3.05);
	rc_result_free(&res);

	/* a second fault 3-6 s overlaps the first: both recover from 6 s, and
	 * the relapse at 5-7 s makes it 1 s */
	gz = gzopen(f.events, "wb");
	write_window(gz, 1, T0 + 2 * SEC, T0 + 4 * SEC);
	write_window(gz, 2, T0 + 3 * SEC, T0 + 6 * SEC);
	gzclose(gz);
	assert_true(run(&f, o, true, &res, err, sizeof(err)) >= 0);
	assert_int_equal(res.n_faults, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res.faults[i].recovery_from_ns, T0 + 6 * SEC);
		assert_true(res.faults[i].recovery_s >= 0.95 && res.faults[i].recovery_s <= 1.05);
	}
	rc_result_free(&res);

	/* the run ends 2 s after the fault: no full window, no recovery time */
	write_ledger(f.ledger, 900, fate_relapse, NULL);
	write_nginx(f.receipts + 6, 900, recv_relapse, NULL);
	gz = gzopen(f.events, "wb");
	write_window(gz, 1, T0 + 2 * SEC, T0 + 7 * SEC);
	gzclose(gz);
	assert_true(run(&f, o, true, &res, err, sizeof(err)) >= 0);
	assert_true(res.faults[0].recovery_s < 0);
	assert_non_null(strstr(res.faults[0].recovery_note, "not measured"));
	rc_result_free(&res);
	json_decref(o);
	cleanup_fix(&f);
}

/* ---- idempotency keys in NDJSON receipts ---- */

static void test_keys(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256], id[FL_REQ_ID_LEN];
	FILE *fp;
	json_t *o;
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 10, NULL, NULL);
	snprintf(f.receipts, sizeof(f.receipts), "ndjson:%s/r.ndjson", f.dir);
	fp = fopen(f.receipts + 7, "w");
	for (unsigned i = 0; i < 10; i++) {
		id_of(id, i);
		fprintf(fp, "{\"id\":\"%s\",\"status\":200,\"ts\":1790000000.5,\"key\":\"k%u\"}\n",
			id, i < 8 ? i : 1);
	}
	fclose(fp);
	o = json_loads("{\"duplicate_effects_max\":0}", 0, NULL);
	ret = run(&f, o, false, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_int_equal(res.c.keys, 8);
	assert_int_equal(res.c.duplicate_effects, 1);
	assert_string_equal(res.duplicate_keys.ids[0], "k1");
	rc_result_free(&res);

	/* a line that is not JSON: a clear error with the line number */
	fp = fopen(f.receipts + 7, "a");
	fputs("{oops\n", fp);
	fclose(fp);
	ret = run(&f, o, false, &res, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "line 11"));
	rc_result_free(&res);
	json_decref(o);
	cleanup_fix(&f);
}

/* ---- many requests across the buckets ---- */

static unsigned recv_every_1000(unsigned seq)
{
	return seq % 1000 == 7 ? 0 : seq % 1000 == 8 ? 3 : 1;
}

static void test_many(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256];
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 200000, NULL, NULL);
	write_nginx(f.receipts + 6, 200000, recv_every_1000, NULL);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, 1);
	assert_int_equal(res.c.requests, 200000);
	assert_int_equal(res.c.missing, 200);
	assert_int_equal(res.c.duplicates, 200);
	assert_int_equal(res.c.receipts, 200000 - 200 + 400);
	assert_int_equal(res.missing_ids.total, 200);
	rc_result_free(&res);
	cleanup_fix(&f);
}

/* receipts gzip-compressed, without a trailing newline, with CRLF */
static void test_gz_receipts(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256], id[FL_REQ_ID_LEN];
	gzFile gz;
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 50, NULL, NULL);
	snprintf(f.receipts, sizeof(f.receipts), "nginx:%s/access.log.gz", f.dir);
	gz = gzopen(f.receipts + 6, "wb");
	assert_non_null(gz);
	for (unsigned i = 0; i < 50; i++) {
		id_of(id, i);
		gzprintf(gz, "1790000000.%03u %s 200 0.001%s", i, id, i == 49 ? "" : "\r\n");
	}
	gzclose(gz);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	if (ret != 0)
		fail_msg("got %d: %s", ret, err);
	assert_int_equal(res.c.receipts, 50);
	assert_int_equal(res.c.missing, 0);
	rc_result_free(&res);

	/* the same, plain, last line without a newline */
	snprintf(f.receipts, sizeof(f.receipts), "nginx:%s/access.log", f.dir);
	write_nginx(f.receipts + 6, 49, NULL, NULL);
	{
		FILE *fp = fopen(f.receipts + 6, "a");

		id_of(id, 49);
		fprintf(fp, "1790000000.5 %s 200 0.001", id);
		fclose(fp);
	}
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_int_equal(res.c.receipts, 50);
	rc_result_free(&res);
	cleanup_fix(&f);
}

static void test_parse_id(void **state)
{
	uint64_t r, s;
	uint32_t i;
	char id[FL_REQ_ID_LEN];

	(void)state;
	id_of(id, 123456789);
	assert_int_equal(rc_parse_req_id(id, strlen(id), &r, &i, &s), 0);
	assert_true(r == RUN && i == INST && s == 123456789);
	assert_int_equal(rc_parse_req_id("abc", 3, &r, &i, &s), -EINVAL);
	assert_int_equal(rc_parse_req_id("1234abcd5678ef01-3-", 19, &r, &i, &s), -EINVAL);
	assert_int_equal(rc_parse_req_id("1234abcd5678ef01-3-5x", 21, &r, &i, &s), -EINVAL);
	assert_int_equal(rc_parse_req_id("1234abcd5678ef0g-3-5", 20, &r, &i, &s), -EINVAL);
}

static void test_bad_inputs(void **state)
{
	struct fix f;
	struct rc_result res;
	char err[256];
	int ret;

	(void)state;
	setup_fix(&f);
	write_ledger(f.ledger, 10, NULL, NULL);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_true(ret < 0);
	assert_non_null(strstr(err, "access.log"));
	rc_result_free(&res);
	write_nginx(f.receipts + 6, 10, NULL, NULL);
	snprintf(f.receipts, sizeof(f.receipts), "file:/x");
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "nginx:PATH"));
	rc_result_free(&res);
	snprintf(f.receipts, sizeof(f.receipts), "nginx:%s", f.ledger); /* not a log */
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_true(ret < 0);
	rc_result_free(&res);
	snprintf(f.ledger, sizeof(f.ledger), "%s/access.log", f.dir); /* not a ledger */
	snprintf(f.receipts, sizeof(f.receipts), "nginx:%s/access.log", f.dir);
	ret = run(&f, NULL, false, &res, err, sizeof(err));
	assert_int_equal(ret, -EPROTO);
	assert_non_null(strstr(err, "not a loadgen ledger"));
	rc_result_free(&res);
	cleanup_fix(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_id),   cmocka_unit_test(test_missing_duplicate),
	    cmocka_unit_test(test_ghosts),     cmocka_unit_test(test_explained),
	    cmocka_unit_test(test_objectives), cmocka_unit_test(test_recovery),
	    cmocka_unit_test(test_keys),       cmocka_unit_test(test_many),
	    cmocka_unit_test(test_bad_inputs), cmocka_unit_test(test_gz_receipts),
	    cmocka_unit_test(test_cookie),     cmocka_unit_test(test_recovery_sustained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
