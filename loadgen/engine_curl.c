// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The curl engine: libcurl's multi interface, one easy handle per
 * connection slot, for https:// and HTTP/2 (negotiated by ALPN). Slower than
 * the fast engine (about 0.4x on our machines); same ledger, same models.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include "log.h"
#include "lg_run.h"

struct cslot {
	CURL *easy;
	struct curl_slist *hdrs;
	struct lg_thread *t;
	unsigned i;
	char url[2400];
};

struct ceng {
	CURLM *multi;
	struct cslot *s;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_global(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct cslot *cs = arg;

	cs->t->slots[cs->i].bytes_in += (uint32_t)(sz * n);
	(void)p;
	return sz * n;
}

static int curl_init(struct lg_thread *t)
{
	struct ceng *e;
	unsigned i;

	pthread_once(&curl_once, curl_global);
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	t->eng = e;
	e->multi = curl_multi_init();
	e->s = calloc(t->cap, sizeof(*e->s));
	if (!e->multi || !e->s)
		return -ENOMEM;
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)t->cap);
	curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	for (i = 0; i < t->cap; i++) {
		struct cslot *cs = &e->s[i];

		cs->t = t;
		cs->i = i;
		/* the pool's first connections now; the rest when it grows */
		if (i < t->nslots && !(cs->easy = curl_easy_init()))
			return -ENOMEM;
	}
	return 0;
}

static void curl_send(struct lg_thread *t, unsigned i, uint64_t now)
{
	const struct lg_config *c = t->run->cfg;
	struct ceng *e = t->eng;
	struct cslot *cs = &e->s[i];
	struct lg_slot *s = &t->slots[i];
	const struct lg_req *r = &c->reqs.r[s->mix];
	char line[REQ_VAR_MAX + 80];
	CURL *h;
	unsigned k;

	if (!cs->easy && !(cs->easy = curl_easy_init())) {
		lg_complete(t, i, FL_OUT_OTHER, 0, ENOMEM, now);
		return;
	}
	h = cs->easy;
	curl_slist_free_all(cs->hdrs);
	cs->hdrs = NULL;
	for (k = 0; k < r->nhdrs; k++)
		cs->hdrs = curl_slist_append(cs->hdrs, r->hdrs[k]);
	snprintf(line, sizeof(line), "%s: %s", c->reqs.id_header, s->id);
	cs->hdrs = curl_slist_append(cs->hdrs, line);
	if (r->idem_header) {
		snprintf(line, sizeof(line), "%s: %s", r->idem_header,
			 (s->flags & FL_REC_DUP) ? t->twin_key : s->id);
		cs->hdrs = curl_slist_append(cs->hdrs, line);
	}
	snprintf(cs->url, sizeof(cs->url), "%s%s", c->url.origin, r->path);
	curl_easy_setopt(h, CURLOPT_URL, cs->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, cs->hdrs);
	curl_easy_setopt(h, CURLOPT_PRIVATE, cs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, cs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_PIPEWAIT, 0L);
	/* the slot's deadline: from the scheduled time in the population model */
	if (s->deadline_ns)
		curl_easy_setopt(
		    h, CURLOPT_TIMEOUT_MS,
		    (long)(s->deadline_ns > now ? (s->deadline_ns - now) / 1000000 ?: 1 : 1));
	else
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->is_head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (r->body_len || strcmp(r->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->is_head ? NULL : r->method);
	}
	s->bytes_out = (uint32_t)(r->head_len + strlen(s->id) + 4 + r->body_len);
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK)
		lg_complete(t, i, FL_OUT_OTHER, 0, EINVAL, now);
}

static unsigned curl_outcome(CURLcode rc, int *err)
{
	*err = (int)rc;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		*err = ECONNREFUSED;
		return FL_OUT_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		*err = ETIMEDOUT;
		return FL_OUT_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		*err = ECONNRESET;
		return FL_OUT_RESET;
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		*err = 0;
		return FL_OUT_EOF;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
		*err = EBADMSG;
		return FL_OUT_PARSE;
	default:
		return FL_OUT_OTHER; /* err is the CURLcode */
	}
}

/* An address curl reports as text ("10.0.0.1", "::1") into the ledger's bytes. */
static uint8_t ip_bytes(const char *txt, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!txt || !*txt)
		return 0;
	if (inet_pton(AF_INET, txt, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, txt, out) == 1)
		return AF_INET6;
	return 0;
}

/* The connection's 5-tuple: from the socket while curl still holds it open,
 * else from what curl noted of the last connect attempt. */
static void conn_info(CURL *h, struct lg_slot *s)
{
	curl_socket_t sk = CURL_SOCKET_BAD;
	char *lip = NULL, *pip = NULL;
	long lport = 0, pport = 0;
	uint8_t fam;

	lg_slot_forget_conn(s);
	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sk) == CURLE_OK && sk != CURL_SOCKET_BAD) {
		lg_slot_sockinfo(s, sk, NULL);
		if (s->lport)
			return;
	}
	curl_easy_getinfo(h, CURLINFO_LOCAL_IP, &lip);
	curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &lport);
	curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &pip);
	curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &pport);
	s->lport = (uint16_t)lport;
	s->addrs.pport = (uint16_t)pport;
	fam = ip_bytes(lip, s->addrs.laddr);
	s->addrs.family = ip_bytes(pip, s->addrs.paddr) ?: fam;
}

static int curl_wait(struct lg_thread *t, uint64_t until)
{
	struct ceng *e = t->eng;
	uint64_t now = now_mono_ns();
	int running, left, ms = 0;
	CURLMsg *m;

	if (until > now)
		ms = (int)((until - now + 999999) / 1000000);
	curl_multi_perform(e->multi, &running);
	if (curl_multi_poll(e->multi, NULL, 0, ms, NULL) != CURLM_OK)
		return -EIO;
	curl_multi_perform(e->multi, &running);
	now = now_mono_ns();
	while ((m = curl_multi_info_read(e->multi, &left))) {
		struct cslot *cs = NULL;
		long code = 0;
		unsigned outcome;
		int err = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&cs);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		conn_info(m->easy_handle, &t->slots[cs->i]);
		if (m->data.result == CURLE_OK) {
			const struct lg_req *r = &t->run->cfg->reqs.r[t->slots[cs->i].mix];

			outcome = req_status_ok(r, (unsigned)code) ? FL_OUT_OK : FL_OUT_STATUS;
		} else {
			outcome = curl_outcome(m->data.result, &err);
			code = 0;
		}
		curl_multi_remove_handle(e->multi, m->easy_handle);
		lg_complete(t, cs->i, outcome, (unsigned)code, err, now);
		/* curl picks the next request's connection itself: unknown at its start */
		lg_slot_forget_conn(&t->slots[cs->i]);
	}
	return 0;
}

static void curl_timeouts(struct lg_thread *t, uint64_t now)
{
	(void)t;
	(void)now; /* libcurl enforces CURLOPT_TIMEOUT_MS itself */
}

static void curl_fini(struct lg_thread *t)
{
	struct ceng *e = t->eng;
	unsigned i;

	if (!e)
		return;
	for (i = 0; e->s && i < t->cap; i++) {
		if (e->s[i].easy) {
			if (e->multi)
				curl_multi_remove_handle(e->multi, e->s[i].easy);
			curl_easy_cleanup(e->s[i].easy);
		}
		curl_slist_free_all(e->s[i].hdrs);
	}
	if (e->multi)
		curl_multi_cleanup(e->multi);
	free(e->s);
	free(e);
	t->eng = NULL;
}

const struct lg_engine lg_engine_curl = {
    .name = "curl",
    .init = curl_init,
    .send = curl_send,
    .wait = curl_wait,
    .timeouts = curl_timeouts,
    .fini = curl_fini,
};
