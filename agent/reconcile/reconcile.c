// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Reconciliation: ledgers + receipts + event logs -> verdict. See
 * reconcile.h for the shape, rc_int.h for the passes and docs/reconcile.md
 * for the definitions.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "hist.h"
#include "ledger.h"
#include "rc_int.h"
#include "traces.h"

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] == '/' || p[i] == '\0') {
			char ch = p[i];

			p[i] = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				return -errno;
			p[i] = ch;
		}
	}
	return 0;
}

/* The scenario's declared effects, by fault index. */
static int resolve_declared(struct ctx *c)
{
	const struct rc_inputs *in = c->in;
	struct rc_result *r = c->r;

	if (!in->n_declared)
		return 0;
	c->decl = calloc(in->n_declared, sizeof(*c->decl));
	if (!c->decl)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_declared; i++) {
		const struct rc_declared *d = &in->declared[i];

		for (size_t k = 0; k < r->n_faults; k++) {
			struct rc_fault *f = &r->faults[k];

			if (f->id != d->fault_id || (d->host[0] && strcmp(d->host, f->host)))
				continue;
			f->declared = true;
			c->decl[c->n_decl++] = (struct decl){.fault = k, .d = d};
			break;
		}
	}
	return 0;
}

/* The "value" of each entry of loadgen's mix file (a number >= 0, 0 when
 * absent): what a request of that entry puts at risk. */
static int load_mix_values(struct ctx *c)
{
	json_error_t jerr;
	json_t *j, *e;
	size_t i;
	int ret = 0;

	if (!c->in->mix)
		return 0;
	j = json_load_file(c->in->mix, 0, &jerr);
	if (!json_is_array(j)) {
		snprintf(c->err, c->errlen, "mix file %s: %s", c->in->mix,
			 j ? "not a JSON array of requests" : jerr.text);
		json_decref(j);
		return -EINVAL;
	}
	c->n_mix = json_array_size(j);
	c->mix_value = calloc(c->n_mix + 1, sizeof(*c->mix_value));
	if (!c->mix_value) {
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(j, i, e)
	{
		json_t *v = json_object_get(e, "value");

		if (v && (!json_is_number(v) || json_number_value(v) < 0)) {
			snprintf(c->err, c->errlen,
				 "mix file %s: request %zu: value must be a number >= 0",
				 c->in->mix, i);
			ret = -EINVAL;
			goto out;
		}
		if (v) {
			c->mix_value[i] = json_number_value(v);
			c->r->c.has_value = true;
		}
	}
	if (!c->r->c.has_value) {
		free(c->mix_value);
		c->mix_value = NULL;
	}
out:
	json_decref(j);
	return ret;
}

static int cmp_fail(const void *a, const void *b)
{
	return strcmp(((const struct rc_failure *)a)->id, ((const struct rc_failure *)b)->id);
}

static int cmp_fault(const void *a, const void *b)
{
	const struct rc_fault *x = a, *y = b;

	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* ---- driver ---- */

/* FL_RECONCILE_TIMING=1: the time of each pass on stderr. */
void rc_timing(const char *what)
{
	static uint64_t last;
	static int on = -1;
	struct timespec ts;
	uint64_t now;

	if (on < 0)
		on = getenv("FL_RECONCILE_TIMING") != NULL;
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (last && what)
		fprintf(stderr, "reconcile: %-12s %8.3f s\n", what, (double)(now - last) / 1e9);
	last = now;
}

static int open_lists(struct ctx *c)
{
	static const char *const names[4] = {"missing_ids.txt", "ghost_ids.txt",
					     "duplicate_ids.txt", "unexplained_ids.txt"};

	if (!c->in->out_dir)
		return 0;
	for (int i = 0; i < 4; i++) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/%s", c->in->out_dir, names[i]);
		c->list_fp[i] = fopen(p, "we");
		if (!c->list_fp[i]) {
			int ret = -errno;

			snprintf(c->err, c->errlen, "cannot write %s: %s", p, strerror(errno));
			return ret;
		}
	}
	return 0;
}

int reconcile(const struct rc_inputs *in0, struct rc_result *r, char *err, size_t errlen)
{
	struct rc_inputs in = *in0;
	struct ctx c = {.in = &in, .r = r, .err = err, .errlen = errlen, .ev_min = UINT64_MAX};
	unsigned cap;
	int ret;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	if (!in.slack_ns)
		in.slack_ns = RC_DEFAULT_SLACK_NS;
	cap = in.max_ids ? in.max_ids : RC_DEFAULT_MAX_IDS;
	r->slack_ns = in.slack_ns;
	snprintf(r->title, sizeof(r->title), "%s",
		 in.title ? in.title : "Faultline reconciliation");
	c.ls.fd = c.ws.fd = c.rs.fd = c.xs.fd = c.ks.fd = c.fs.fd = c.es.fd = c.cs.fd = c.us.fd =
	    c.ds.fd = -1;
	pthread_mutex_init(&c.jlock, NULL);

	if (!in.n_ledgers) {
		snprintf(err, errlen,
			 "no ledger given (--ledger FILE, written by loadgen --ledger)");
		return -EINVAL;
	}
	if (!in.n_receipts) {
		snprintf(err, errlen, "no receipts given (--receipts nginx:PATH|ndjson:PATH|URL)");
		return -EINVAL;
	}
	ret = rc_objectives_parse(in.objectives, in.phases, in.n_phases, &c.o, err, errlen);
	if (ret)
		goto out;
	if (in.n_run_errors) {
		r->run_errors = calloc(in.n_run_errors, sizeof(*r->run_errors));
		if (!r->run_errors) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < in.n_run_errors; i++)
			snprintf(r->run_errors[i], sizeof(r->run_errors[i]), "%s",
				 in.run_errors[i]);
		r->n_run_errors = in.n_run_errors;
	}
	if ((ret = idlist_init(&r->missing_ids, cap)) || (ret = idlist_init(&r->ghost_ids, cap)) ||
	    (ret = idlist_init(&r->duplicate_ids, cap)) ||
	    (ret = idlist_init(&r->unexplained_ids, cap)) ||
	    (ret = idlist_init(&r->explained_ids, cap)) ||
	    (ret = idlist_init(&r->recovered_ids, cap)) ||
	    (ret = idlist_init(&r->duplicate_keys, cap)))
		goto out;
	c.all_h = hist_new();
	c.answered_h = hist_new();
	if (!c.all_h || !c.answered_h) {
		ret = -ENOMEM;
		goto out;
	}
	if (in.out_dir) {
		ret = mkdir_p(in.out_dir);
		if (ret) {
			snprintf(err, errlen, "cannot create %s: %s", in.out_dir, strerror(-ret));
			goto out;
		}
	}
	snprintf(c.tmp, sizeof(c.tmp), "%s",
		 in.tmp_dir	    ? in.tmp_dir
		 : in.out_dir	    ? in.out_dir
		 : getenv("TMPDIR") ? getenv("TMPDIR")
				    : "/tmp");
	ret = open_lists(&c);
	if (ret)
		goto out;

	rc_timing(NULL);
	/* 1. event logs */
	if ((ret = spill_open(&c, &c.es, NP)) || (ret = spill_open(&c, &c.cs, NP)))
		goto out;
	ret = rc_read_events(&c);
	if (!ret)
		ret = spill_flush(&c, &c.es);
	if (!ret)
		ret = spill_flush(&c, &c.cs);
	if (ret)
		goto out;
	for (size_t k = 0; k < r->n_faults; k++) {
		struct rc_fault *f = &r->faults[k];

		/* a log that lost its start record: the first injection */
		if (f->start_ns == UINT64_MAX && f->injections)
			f->start_ns = f->first_inject_ns;
	}

	rc_timing("events");
	/* 2. ledgers; the bucket count from their size (records compress to
	 * about a third; a guess too low only makes buckets larger) */
	{
		uint64_t bytes = 0, est;
		struct stat st;

		for (size_t i = 0; i < in.n_ledgers; i++)
			if (!stat(in.ledgers[i], &st))
				bytes += (uint64_t)st.st_size;
		est = bytes * 4 / sizeof(struct fl_ledger_rec);
		c.nb = NB_MIN;
		c.nb_shift = 64 - 4;
		while (c.nb < NB_MAX && (uint64_t)c.nb * BUCKET_RECS < est) {
			c.nb *= 2;
			c.nb_shift--;
		}
	}
	/* 3. receipts, in a thread beside the ledgers */
	if ((ret = rc_read_headers(&c)) || (ret = load_mix_values(&c)))
		goto out;
	if ((ret = spill_open(&c, &c.ls, c.nb)) || (ret = spill_open(&c, &c.ws, c.nb)) ||
	    (ret = spill_open(&c, &c.rs, c.nb)) || (ret = spill_open(&c, &c.xs, c.nb)) ||
	    (ret = spill_open(&c, &c.ks, NK)))
		goto out;
	{
		struct rctx x = {.c = &c, .hint = -1};
		pthread_t th;
		bool threaded = !pthread_create(&th, NULL, rc_read_receipts, &x);

		ret = rc_read_ledgers(&c);
		if (!ret)
			ret = spill_flush(&c, &c.ls);
		if (!ret)
			ret = spill_flush(&c, &c.ws);
		if (threaded)
			pthread_join(th, NULL);
		else if (!ret)
			rc_read_receipts(&x);
		if (!ret && x.ret) {
			ret = x.ret;
			/* spill_flush wrote to c.err, the readers to x.err */
			if (x.err[0])
				snprintf(err, errlen, "%s", x.err);
		}
		r->c.receipts = x.receipts;
		r->c.receipts_noid = x.noid;
		r->c.ghosts += x.ghosts;
		if (ret)
			goto out;
	}

	rc_timing("ledgers");
	/* 4. join */
	if ((ret = spill_open(&c, &c.fs, NP + 1)))
		goto out;
	ret = rc_join_all(&c);
	for (unsigned b = 0; b < NK && !ret; b++)
		ret = rc_join_keys(&c, b);
	if (!ret)
		ret = spill_flush(&c, &c.fs);
	if (ret)
		goto out;

	rc_timing("join");
	/* 5. attribution: direct by 5-tuple and time, then what is left by
	 * socket and time; then by the upstream the receipt names; then what
	 * the scenario declared; the rest is unexplained */
	if ((ret = spill_open(&c, &c.us, NP)) || (ret = spill_open(&c, &c.ds, NP)))
		goto out;
	c.p50_ns = c.answered_h->total ? hist_percentile(c.answered_h, 50) : 0;
	if ((ret = resolve_declared(&c)))
		goto out;
	for (unsigned p = 0; p <= NP && !ret; p++)
		ret = rc_explain_partition(&c, p);
	if (!ret)
		ret = spill_flush(&c, &c.us);
	for (unsigned p = 0; p < NP && !ret && c.have_cookies; p++)
		ret = rc_explain_cookies(&c, p);
	if (!ret)
		ret = spill_flush(&c, &c.ds);
	for (unsigned p = 0; p < NP && !ret; p++)
		ret = rc_explain_dependencies(&c, p);
	if (ret)
		goto out;

	rc_timing("explanation");
	/* 6. statistics, rc_recovery, objectives. A log may hold faults of other
	 * runs (the agent's log holds every run it served): a fault counts when
	 * its window overlaps the scheduled times of this run's requests or it
	 * explains one of its failures. */
	{
		size_t n = 0;

		for (size_t k = 0; k < r->n_faults; k++) {
			struct rc_fault *f = &r->faults[k];
			bool in =
			    f->explained || (r->c.requests && f->start_ns <= r->last_wall_ns &&
					     f->end_ns >= r->first_wall_ns);

			if (!in) {
				json_decref(f->spec);
				hist_free(f->h);
				rc_recovery_free(f);
				continue;
			}
			r->faults[n++] = *f;
		}
		r->n_faults = n;
	}
	rc_latency_of(c.all_h, &r->all);
	for (size_t k = 0; k < r->n_faults; k++)
		rc_latency_of(r->faults[k].h, &r->faults[k].lat);
	rc_recovery(&c);
	if ((ret = rc_make_phases(&c)) || (ret = rc_checks(&c)))
		goto out;
	if (r->n_faults > 1)
		qsort(r->faults, r->n_faults, sizeof(*r->faults), cmp_fault);
	if (r->first_wall_ns == UINT64_MAX)
		r->first_wall_ns = 0;
	qsort(r->missing_ids.ids, r->missing_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->ghost_ids.ids, r->ghost_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->duplicate_ids.ids, r->duplicate_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->unexplained_ids.ids, r->unexplained_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->explained_ids.ids, r->explained_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->recovered_ids.ids, r->recovered_ids.n, RC_ID_LEN, cmp_ids);
	qsort(r->duplicate_keys.ids, r->duplicate_keys.n, RC_ID_LEN, cmp_ids);
	if (r->n_unexplained > 1)
		qsort(r->unexplained, r->n_unexplained, sizeof(*r->unexplained), cmp_fail);
	for (int i = 0; i < 4; i++) {
		if (c.list_fp[i] && fclose(c.list_fp[i]) && !ret) {
			ret = -EIO;
			snprintf(err, errlen, "cannot write the id lists in %s", in.out_dir);
		}
		c.list_fp[i] = NULL;
	}
	if (ret)
		goto out;
	if (in.n_traces) {
		ret = rc_traces_run(in.traces, in.n_traces, in.ledgers, in.n_ledgers, r->faults,
				    r->n_faults, in.trace_top_set ? in.trace_top : 20, cap,
				    &r->traces, err, errlen);
		rc_timing("traces");
		if (ret)
			goto out;
	}
	if (in.out_dir) {
		rc_timing("statistics");
		ret = rc_write_reports(r, in.out_dir, err, errlen);
		rc_timing("reports");
		if (ret)
			goto out;
	}
	ret = r->pass ? 0 : 1;
out:
	pthread_mutex_destroy(&c.jlock);
	for (int i = 0; i < 4; i++)
		if (c.list_fp[i])
			fclose(c.list_fp[i]);
	spill_close(&c.ls);
	spill_close(&c.ws);
	spill_close(&c.xs);
	spill_close(&c.rs);
	spill_close(&c.ks);
	spill_close(&c.fs);
	spill_close(&c.es);
	spill_close(&c.cs);
	spill_close(&c.us);
	spill_close(&c.ds);
	for (int p = 0; p < 256; p++)
		hist_free(c.phase_h[p]);
	hist_free(c.all_h);
	hist_free(c.answered_h);
	free(c.o.lat);
	rc_addr_free(&c.addrs);
	rc_addr_free(&c.ups);
	free(c.listen);
	free(c.url_svc);
	free(c.url_addr);
	free(c.url_port);
	free(c.decl);
	free(c.mix_value);
	if (ret < 0 && !err[0])
		snprintf(err, errlen, "reconciliation failed: %s", strerror(-ret));
	return ret;
}

void rc_result_free(struct rc_result *r)
{
	struct rc_idlist *l[] = {&r->missing_ids,     &r->ghost_ids,	 &r->duplicate_ids,
				 &r->unexplained_ids, &r->explained_ids, &r->recovered_ids,
				 &r->duplicate_keys};

	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		free(l[i]->ids);
	for (size_t i = 0; i < r->n_faults; i++) {
		json_decref(r->faults[i].spec);
		hist_free(r->faults[i].h);
		rc_recovery_free(&r->faults[i]);
	}
	free(r->faults);
	free(r->phases);
	free(r->series.bins);
	free(r->checks);
	free(r->unexplained);
	free(r->chains);
	free(r->run_errors);
	rc_traces_free(r->traces);
	memset(r, 0, sizeof(*r));
}
