// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The addresses a process serves on: its listening TCP sockets and its
 * unconnected UDP sockets, for the start events of process faults
 * (docs/events.md, "Addresses a process listens on"). Reconciliation
 * matches them with the upstream a service's receipt names, so that a kill
 * or pause of a database explains the API's failures as a dependency.
 *
 * Read from /proc, from the process's own view: /proc/PID/fd gives its
 * socket inodes, /proc/PID/net/{tcp,tcp6,udp,udp6} the sockets of its
 * network namespace with their inodes (only those the process holds are
 * taken), and for a wildcard listener (0.0.0.0, ::) the namespace's local
 * addresses from /proc/PID/net/fib_trie and /proc/PID/net/if_inet6. No
 * setns: the agent never leaves its own namespace for this. Everything is
 * capped (LISTEN_MAX, ADDRS_MAX, FDS_MAX, LINES_MAX): a process with a
 * million sockets costs a bounded read, and the record says it was cut.
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc.h"

#define LISTEN_MAX 16	 /* listeners per record */
#define ADDRS_MAX  16	 /* local addresses of the namespace per record */
#define FDS_MAX	   4096	 /* socket fds of the process looked at */
#define LINES_MAX  65536 /* lines of each /proc/PID/net file read */

struct lsn {
	int family, proto;
	uint8_t a[16];
	unsigned port;
};

struct found {
	struct lsn v[LISTEN_MAX];
	int n;
	bool cut;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The process's socket inodes, sorted; -errno when its fds cannot be read. */
static int socket_inodes(pid_t pid, uint64_t *ino, int *n, bool *cut)
{
	char path[64], link[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	*n = 0;
	while ((d = readdir(dir))) {
		ssize_t len;
		unsigned long long v;

		if (d->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%llu]", &v) != 1)
			continue;
		if (*n == FDS_MAX) {
			*cut = true;
			break;
		}
		ino[(*n)++] = v;
	}
	closedir(dir);
	qsort(ino, (size_t)*n, sizeof(*ino), cmp_u64);
	return 0;
}

/* "0100007F" (one 32-bit word as the kernel prints it: in host order) ->
 * its 4 bytes in network order; "...32 hex digits" -> 16 bytes. */
static int hex_addr(const char *s, size_t len, uint8_t *a)
{
	for (size_t w = 0; w * 8 < len; w++) {
		char word[9];
		uint32_t v;
		char *end;

		memcpy(word, s + w * 8, 8);
		word[8] = '\0';
		v = (uint32_t)strtoul(word, &end, 16);
		if (*end)
			return -EINVAL;
		memcpy(a + w * 4, &v, 4);
	}
	return 0;
}

static bool seen(const struct found *f, const struct lsn *l)
{
	for (int i = 0; i < f->n; i++)
		if (f->v[i].family == l->family && f->v[i].proto == l->proto &&
		    f->v[i].port == l->port && !memcmp(f->v[i].a, l->a, 16))
			return true;
	return false;
}

/* One of /proc/PID/net/{tcp,tcp6,udp,udp6}: the listeners (TCP state 0A;
 * UDP: state 07 with no remote port) whose inode the process holds. */
static void scan_net(pid_t pid, const char *file, int family, int proto, const uint64_t *ino,
		     int nino, struct found *f)
{
	size_t alen = family == AF_INET ? 8 : 32;
	char path[64], line[512];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, file);
	fp = fopen(path, "re");
	if (!fp)
		return;
	for (int k = 0; k < LINES_MAX && fgets(line, sizeof(line), fp); k++) {
		char la[40], ra[40];
		unsigned lport, rport, st;
		unsigned long long inode;
		struct lsn l = {.family = family, .proto = proto};

		/* sl local:port rem:port st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line,
			   " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u "
			   "%*u %llu",
			   la, &lport, ra, &rport, &st, &inode) != 6)
			continue; /* the header */
		if (proto == IPPROTO_TCP ? st != 0x0a : st != 0x07 || rport != 0)
			continue;
		if (!lport || strlen(la) != alen || hex_addr(la, alen, l.a))
			continue;
		if (!bsearch(&(uint64_t){inode}, ino, (size_t)nino, sizeof(*ino), cmp_u64))
			continue;
		l.port = lport;
		if (seen(f, &l))
			continue;
		if (f->n == LISTEN_MAX) {
			f->cut = true;
			break;
		}
		f->v[f->n++] = l;
	}
	fclose(fp);
}

static bool all_zero(const uint8_t *a, size_t n)
{
	while (n--)
		if (*a++)
			return false;
	return true;
}

static void add_addr(json_t *arr, int family, const void *a, bool *cut)
{
	char s[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, a, s, sizeof(s)))
		return;
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (!strcmp(json_string_value(json_array_get(arr, i)), s))
			return;
	if (json_array_size(arr) >= ADDRS_MAX) {
		*cut = true;
		return;
	}
	json_array_append_new(arr, json_string(s));
}

/* The namespace's local IPv4 addresses ("|-- A" then "/32 host LOCAL" in
 * fib_trie) and IPv6 ones (if_inet6), for wildcard listeners. */
static void local_addrs(pid_t pid, bool v4, bool v6, json_t *arr, bool *cut)
{
	char path[64], line[256], last[64] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/net/fib_trie", (int)pid);
	fp = v4 ? fopen(path, "re") : NULL;
	for (int k = 0; fp && k < LINES_MAX && fgets(line, sizeof(line), fp); k++) {
		const char *p = strstr(line, "|-- ");
		struct in_addr in;

		if (p)
			sscanf(p + 4, "%63s", last);
		else if (strstr(line, "/32 host LOCAL") && inet_pton(AF_INET, last, &in) == 1)
			add_addr(arr, AF_INET, &in, cut);
	}
	if (fp)
		fclose(fp);
	snprintf(path, sizeof(path), "/proc/%d/net/if_inet6", (int)pid);
	fp = v6 ? fopen(path, "re") : NULL;
	for (int k = 0; fp && k < LINES_MAX && fgets(line, sizeof(line), fp); k++) {
		char hex[33];
		uint8_t a[16];

		if (sscanf(line, "%32[0-9a-fA-F]", hex) != 1 || strlen(hex) != 32)
			continue;
		/* printed byte by byte, in network order */
		for (int i = 0; i < 16; i++) {
			unsigned b;

			sscanf(hex + 2 * i, "%2x", &b);
			a[i] = (uint8_t)b;
		}
		add_addr(arr, AF_INET6, a, cut);
	}
	if (fp)
		fclose(fp);
}

json_t *proc_listen(pid_t pid)
{
	static const struct {
		const char *file;
		int family, proto;
	} nets[] = {{"tcp", AF_INET, IPPROTO_TCP},
		    {"tcp6", AF_INET6, IPPROTO_TCP},
		    {"udp", AF_INET, IPPROTO_UDP},
		    {"udp6", AF_INET6, IPPROTO_UDP}};
	uint64_t *ino = malloc(FDS_MAX * sizeof(*ino));
	struct found *f = calloc(1, sizeof(*f));
	json_t *out = NULL, *arr = NULL, *addrs = NULL;
	bool any4 = false, any6 = false, cut = false;
	char path[64];
	struct stat st;
	int nino = 0;

	if (!ino || !f || socket_inodes(pid, ino, &nino, &f->cut) || !nino)
		goto out;
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		scan_net(pid, nets[i].file, nets[i].family, nets[i].proto, ino, nino, f);
	if (!f->n)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	out = json_object();
	arr = json_array();
	if (!out || !arr)
		goto fail;
	if (!stat(path, &st))
		json_object_set_new(out, "netns", json_integer((json_int_t)st.st_ino));
	for (int i = 0; i < f->n; i++) {
		const struct lsn *l = &f->v[i];
		char a[INET6_ADDRSTRLEN];
		bool any = all_zero(l->a, l->family == AF_INET ? 4 : 16);

		inet_ntop(l->family, l->a, a, sizeof(a));
		any4 |= any && l->family == AF_INET;
		any6 |= any && l->family == AF_INET6;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:i}", "proto",
						     l->proto == IPPROTO_TCP ? "tcp" : "udp", "dst",
						     a, "dport", (int)l->port));
	}
	json_object_set_new(out, "listen", arr);
	arr = NULL;
	if (any4 || any6) {
		addrs = json_array();
		if (!addrs)
			goto fail;
		local_addrs(pid, any4, any6, addrs, &cut);
		json_object_set_new(out, "netns_addrs", addrs);
	}
	if (f->cut || cut)
		json_object_set_new(out, "listen_truncated", json_true());
	goto out;
fail:
	json_decref(arr);
	json_decref(out);
	out = NULL;
out:
	free(ino);
	free(f);
	return out;
}
