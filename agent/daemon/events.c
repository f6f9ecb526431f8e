// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <zlib.h>
#include "event_json.h"
#include "events.h"
#include "log.h"
#include "proto.h"

static struct ring_buffer *rb;
static int rb_fd = -1;
static gzFile gz;
static uint64_t written;
static char host[256];
static void (*user_cb)(const struct fl_event *e, void *arg);
static void *user_arg;

static void write_line(const char *s, size_t len)
{
	if (gz && gzwrite(gz, s, len) == (int)len && gzputc(gz, '\n') >= 0)
		written++;
}

static void write_record(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (!s)
		return;
	write_line(s, strlen(s));
	free(s);
}

/* An event record, straight from its text (the hot path: no jansson). */
static void write_event(const struct fl_event *e, uint64_t wall_ns)
{
	char buf[EVENT_JSON_MAX];
	size_t len = event_json_format(e, wall_ns, host, buf, sizeof(buf));

	if (len)
		write_line(buf, len);
}

static int wall_offset_ns(int64_t *off)
{
	*off = (int64_t)(now_wall_ns() - now_mono_ns());
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct fl_event *e = data;
	int64_t off = *(int64_t *)ctx;

	if (len < sizeof(*e))
		return 0;
	if (user_cb)
		user_cb(e, user_arg);
	write_event(e, e->ts_ns + off);
	return 0;
}

static int64_t cur_off;

void events_write(const struct fl_event *e)
{
	int64_t off;

	wall_offset_ns(&off);
	on_event(&off, (void *)e, sizeof(*e));
}

int events_open(const char *path, char *err, size_t errlen)
{
	int ret;

	gethostname(host, sizeof(host) - 1);
	rb_fd =
	    bpf_map_create(BPF_MAP_TYPE_RINGBUF, "fl_events", 0, 0, FL_EVENTS_RINGBUF_BYTES, NULL);
	if (rb_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create the events ring buffer: %s", strerror(errno));
		return ret;
	}
	rb = ring_buffer__new(rb_fd, on_event, &cur_off, NULL);
	if (!rb) {
		ret = -errno;
		snprintf(err, errlen, "cannot map the events ring buffer: %s", strerror(errno));
		goto fail;
	}
	/* A log of an earlier agent (perhaps cut short by a crash) is kept
	 * beside ours, not appended to: a torn gzip member would hide ours. */
	{
		char old[600];

		snprintf(old, sizeof(old), "%s.1", path);
		if (!access(path, F_OK) && rename(path, old))
			fl_log("cannot move the old event log %s aside: %s", path, strerror(errno));
	}
	/* Level 1: a latency fault can log tens of thousands of records a
	 * second, and deflate's default level costs three times as much CPU
	 * for a little less disk. */
	gz = gzopen(path, "wb1");
	if (!gz) {
		ret = errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot open the event log %s: %s", path, strerror(-ret));
		goto fail;
	}
	gzbuffer(gz, 256 * 1024);
	return 0;
fail:
	ring_buffer__free(rb);
	rb = NULL;
	close(rb_fd);
	rb_fd = -1;
	return ret;
}

int events_ringbuf_fd(void)
{
	return rb_fd;
}

int events_epoll_fd(void)
{
	return rb ? ring_buffer__epoll_fd(rb) : -1;
}

int events_poll(void)
{
	if (!rb)
		return 0;
	wall_offset_ns(&cur_off);
	return ring_buffer__consume(rb);
}

void events_flush(void)
{
	if (gz)
		gzflush(gz, Z_SYNC_FLUSH);
}

uint64_t events_written(void)
{
	return written;
}

void events_set_callback(void (*cb)(const struct fl_event *e, void *arg), void *arg)
{
	user_cb = cb;
	user_arg = arg;
}

void events_fault_start(uint32_t id, const char *backend, const struct fl_fault_spec *s)
{
	write_record(json_pack("{s:s,s:I,s:I,s:s,s:I,s:s,s:o}", "type", "start", "wall_ns",
			       (json_int_t)now_wall_ns(), "mono_ns", (json_int_t)now_mono_ns(),
			       "host", host, "fault_id", (json_int_t)id, "backend", backend,
			       "fault", fault_spec_to_json(s)));
}

void events_fault_end(uint32_t id, const char *why)
{
	write_record(json_pack("{s:s,s:I,s:I,s:s,s:I,s:s}", "type", "end", "wall_ns",
			       (json_int_t)now_wall_ns(), "mono_ns", (json_int_t)now_mono_ns(),
			       "host", host, "fault_id", (json_int_t)id, "reason", why));
}

void events_emit(const struct fl_event *e)
{
	events_emit_with(e, NULL);
}

void events_emit_with(const struct fl_event *e, json_t *extra)
{
	uint64_t wall_ns = now_wall_ns() - now_mono_ns() + e->ts_ns;
	json_t *j;

	if (user_cb)
		user_cb(e, user_arg);
	if (!extra) {
		write_event(e, wall_ns);
		return;
	}
	j = event_to_json(e, wall_ns, host);
	if (j)
		json_object_update(j, extra);
	json_decref(extra);
	write_record(j);
}

void events_lost(uint64_t n)
{
	write_record(json_pack("{s:s,s:I,s:I,s:s,s:I}", "type", "lost", "wall_ns",
			       (json_int_t)now_wall_ns(), "mono_ns", (json_int_t)now_mono_ns(),
			       "host", host, "count", (json_int_t)n));
}

void events_close(void)
{
	if (rb) {
		events_poll();
		ring_buffer__free(rb);
		rb = NULL;
	}
	if (rb_fd >= 0)
		close(rb_fd);
	rb_fd = -1;
	if (gz)
		gzclose(gz);
	gz = NULL;
}
