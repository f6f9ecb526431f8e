// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The strict parsers of agent/common/parse.c: what people type, and what they mistype. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_duration_good(void **state)
{
	static const struct {
		const char *in;
		uint64_t ns;
	} good[] = {
	    {"250ms", 250000000ULL},
	    {"1.5s", 1500000000ULL},
	    {"5m", 300000000000ULL},
	    {"1h", 3600000000000ULL},
	    {"30s", 30000000000ULL},
	    {"100us", 100000ULL},
	    {"20ns", 20ULL},
	    {"0", 0},
	    {"0s", 0},
	    {"7", 7000000000ULL}, /* a bare number is seconds */
	    {"1.5", 1500000000ULL},
	    {"0.001s", 1000000ULL},
	    {"2.5m", 150000000000ULL},
	    {"1e3ms", 1000000000ULL},
	    {"4000000000s", 4000000000000000000ULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t ns = 12345;

		if (parse_duration_ns(good[i].in, &ns) != 0) {
			print_error("refused duration '%s'\n", good[i].in);
			fail();
		}
		if (ns != good[i].ns) {
			print_error("'%s': %llu ns, expected %llu\n", good[i].in,
				    (unsigned long long)ns, (unsigned long long)good[i].ns);
			fail();
		}
	}
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
	    "abc",	    "-1s",	    "-0",    "+5s",  "",      " 5s",
	    "10s ",	    "10 s",	    "10sec", "5M",   "s",     "ms",
	    "1.5.2s",	    "nan",	    "inf",   "infs", "1e30s", "18446744073709551616",
	    "99999999999h", "18446744074s", "5m\n",  "5mm",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t ns = 4242;

		if (parse_duration_ns(bad[i], &ns) != -EINVAL) {
			print_error("accepted duration '%s' as %llu ns\n", bad[i],
				    (unsigned long long)ns);
			fail();
		}
		assert_int_equal(ns, 4242); /* untouched on error */
	}
	assert_int_equal(parse_duration_ns(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_duration_limit(void **state)
{
	uint64_t ns = 0;

	(void)state;
	/* Just under 1.8e19 ns is taken (through a double: to 1e-15), just over is not. */
	assert_int_equal(parse_duration_ns("17999999999s", &ns), 0);
	assert_true(ns > 17999999998999990000ULL && ns < 17999999999000010000ULL);
	assert_int_equal(parse_duration_ns("18000000000s", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("4999999h", &ns), 0);
	assert_int_equal(parse_duration_ns("5000000h", &ns), -EINVAL);
}

static void test_format_duration(void **state)
{
	static const struct {
		uint64_t ns;
		const char *out;
	} fixed[] = {
	    {250000000ULL, "250ms"},  {1500000000ULL, "1.5s"},
	    {300000000000ULL, "5m"},  {3600000000000ULL, "1h"},
	    {7200000000000ULL, "2h"}, {30000000000ULL, "30s"},
	    {90000000000ULL, "90s"},  {100000ULL, "100us"},
	    {20ULL, "20ns"},	      {0, "0ns"},
	};
	static const uint64_t trips[] = {
	    0,
	    1,
	    999,
	    1000,
	    1500,
	    999999,
	    1000000,
	    250000000ULL,
	    999999999ULL,
	    1000000000ULL,
	    1234567891ULL, /* more digits than %g keeps */
	    59999999999ULL,
	    60000000000ULL,
	    61000000000ULL,
	    3599999999999ULL,
	    3600000000000ULL,
	    3600000000001ULL,
	    86400000000000ULL,
	    123456789012345ULL,
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		format_duration(fixed[i].ns, buf, sizeof(buf));
		assert_string_equal(buf, fixed[i].out);
	}
	/* Whatever it writes, parse_duration_ns reads back to the same value. */
	for (size_t i = 0; i < ARRAY_SIZE(trips); i++) {
		uint64_t back = ~0ULL;

		format_duration(trips[i], buf, sizeof(buf));
		if (parse_duration_ns(buf, &back) || back != trips[i]) {
			print_error("%llu ns -> '%s' -> %llu ns\n", (unsigned long long)trips[i],
				    buf, (unsigned long long)back);
			fail();
		}
	}
	/* A short buffer is cut, never overrun. */
	memset(buf, 'x', sizeof(buf));
	format_duration(1500000000ULL, buf, 3);
	assert_string_equal(buf, "1.");
	assert_int_equal(buf[3], 'x');
}

static void test_prob(void **state)
{
	static const struct {
		const char *in;
		double p;
	} good[] = {
	    {"30%", 0.3}, {"0.3", 0.3},	   {"1", 1.0},	 {"0", 0.0},	{"100%", 1.0},
	    {"0%", 0.0},  {"0.5%", 0.005}, {"1.0", 1.0}, {".25", 0.25},
	};
	static const struct {
		const char *in;
		int err;
	} bad[] = {
	    {"1.5", -ERANGE}, {"-0.1", -ERANGE}, {"150%", -ERANGE},  {"-1%", -ERANGE},
	    {"abc", -EINVAL}, {"", -EINVAL},	 {" 0.5", -EINVAL},  {"0.5 ", -EINVAL},
	    {"%", -EINVAL},   {"30%%", -EINVAL}, {"30 %", -EINVAL},  {"nan", -EINVAL},
	    {"inf", -EINVAL}, {"0.3x", -EINVAL}, {"1e999", -EINVAL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		double p = -1;

		if (parse_prob(good[i].in, &p)) {
			print_error("refused probability '%s'\n", good[i].in);
			fail();
		}
		assert_float_equal(p, good[i].p, 1e-12);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		double p = 42;
		int ret = parse_prob(bad[i].in, &p);

		if (ret != bad[i].err) {
			print_error("probability '%s': %d, expected %d\n", bad[i].in, ret,
				    bad[i].err);
			fail();
		}
		assert_float_equal(p, 42, 0);
	}
	assert_int_equal(parse_prob(NULL, &(double){0}), -EINVAL);
}

static void test_ports(void **state)
{
	static const struct {
		const char *in;
		uint16_t lo, hi;
	} good[] = {
	    {"80", 80, 80},	     {"1", 1, 1},
	    {"65535", 65535, 65535}, {"8000-8100", 8000, 8100},
	    {"1-65535", 1, 65535},   {"22-22", 22, 22},
	    {"080", 80, 80},
	};
	static const struct {
		const char *in;
		int err;
	} bad[] = {
	    {"0", -ERANGE},
	    {"70000", -ERANGE},
	    {"65536", -ERANGE},
	    {"0-80", -ERANGE},
	    {"80-70000", -ERANGE},
	    {"80-70", -EINVAL},
	    {"", -EINVAL},
	    {"-80", -EINVAL},
	    {"80-", -EINVAL},
	    {"-", -EINVAL},
	    {"80-90-100", -EINVAL},
	    {"123456", -EINVAL},
	    {"+80", -EINVAL},
	    {" 80", -EINVAL},
	    {"80 ", -EINVAL},
	    {"http", -EINVAL},
	    {"8o", -EINVAL},
	    {"80--90", -EINVAL},
	    {"99999999999", -EINVAL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint16_t lo = 0, hi = 0;

		if (parse_port_range(good[i].in, &lo, &hi)) {
			print_error("refused port range '%s'\n", good[i].in);
			fail();
		}
		assert_int_equal(lo, good[i].lo);
		assert_int_equal(hi, good[i].hi);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint16_t lo = 7, hi = 7;
		int ret = parse_port_range(bad[i].in, &lo, &hi);

		if (ret != bad[i].err) {
			print_error("port range '%s': %d, expected %d\n", bad[i].in, ret,
				    bad[i].err);
			fail();
		}
	}
	assert_int_equal(parse_port_range(NULL, &(uint16_t){0}, &(uint16_t){0}), -EINVAL);
}

/* The 16 bytes of a parsed address or mask, as they are in memory. */
static void assert_bytes(const uint32_t w[4], const char *hex)
{
	char got[33];
	const unsigned char *b = (const unsigned char *)w;

	for (int i = 0; i < 16; i++)
		snprintf(got + 2 * i, 3, "%02x", b[i]);
	assert_string_equal(got, hex);
}

static void test_cidr(void **state)
{
	static const struct {
		const char *in;
		uint8_t family;
		const char *addr, *mask;
	} good[] = {
	    {"10.0.0.0/8", AF_INET, "0a000000000000000000000000000000",
	     "ff000000000000000000000000000000"},
	    {"1.2.3.4", AF_INET, "01020304000000000000000000000000",
	     "ffffffff000000000000000000000000"},
	    {"10.1.2.3/8", AF_INET, "0a000000000000000000000000000000", /* host bits cleared */
	     "ff000000000000000000000000000000"},
	    {"192.168.255.1/12", AF_INET, "c0a00000000000000000000000000000",
	     "fff00000000000000000000000000000"},
	    {"1.2.3.4/32", AF_INET, "01020304000000000000000000000000",
	     "ffffffff000000000000000000000000"},
	    {"1.2.3.4/0", AF_INET, "00000000000000000000000000000000",
	     "00000000000000000000000000000000"},
	    {"::/0", AF_INET6, "00000000000000000000000000000000",
	     "00000000000000000000000000000000"},
	    {"2001:db8::/32", AF_INET6, "20010db8000000000000000000000000",
	     "ffffffff000000000000000000000000"},
	    {"fd00::1", AF_INET6, "fd000000000000000000000000000001",
	     "ffffffffffffffffffffffffffffffff"},
	    {"fd00::1/128", AF_INET6, "fd000000000000000000000000000001",
	     "ffffffffffffffffffffffffffffffff"},
	    {"2001:db8:abcd:12ff::1/57", AF_INET6, "20010db8abcd12800000000000000000",
	     "ffffffffffffff800000000000000000"},
	    {"::ffff:1.2.3.4/96", AF_INET6, "00000000000000000000ffff00000000",
	     "ffffffffffffffffffffffff00000000"},
	};
	static const char *const bad[] = {
	    "/33",
	    "1.2.3.4/33",
	    "1.2.3.4/",
	    "1.2.3.4/-1",
	    "1.2.3.4/+8",
	    "1.2.3.4/8x",
	    "1.2.3.4/ 8",
	    "::/129",
	    "1.2.3.256",
	    "1.2.3",
	    "abc",
	    "",
	    "/",
	    "1.2.3.4//8",
	    "1.2.3.4/8/8",
	    " 1.2.3.4",
	    "1.2.3.4 ",
	    "fd00::/64x",
	    "1.2.3.4/99999999999999999999",
	    "2001:0db8:0000:0000:0000:ff00:0042:8329:1234/64",		/* too many groups */
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8", /* longer than the buffer */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint32_t addr[4], mask[4];
		uint8_t fam = 0;

		memset(addr, 0x5a, sizeof(addr));
		memset(mask, 0x5a, sizeof(mask));
		if (parse_cidr(good[i].in, &fam, addr, mask)) {
			print_error("refused CIDR '%s'\n", good[i].in);
			fail();
		}
		assert_int_equal(fam, good[i].family);
		assert_bytes(addr, good[i].addr);
		assert_bytes(mask, good[i].mask);
		/* The program's test: (packet & mask) == addr. */
		for (int w = 0; w < 4; w++)
			assert_int_equal(addr[w] & mask[w], addr[w]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint32_t addr[4] = {}, mask[4] = {};
		uint8_t fam = 0;

		if (parse_cidr(bad[i], &fam, addr, mask) != -EINVAL) {
			print_error("accepted CIDR '%s'\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(parse_cidr(NULL, &(uint8_t){0}, (uint32_t[4]){}, (uint32_t[4]){}),
			 -EINVAL);
}

static void test_cidr_every_prefix(void **state)
{
	char buf[64];

	(void)state;
	/* Count the one bits of every prefix length: the mask has exactly that many, leading. */
	for (int v6 = 0; v6 < 2; v6++) {
		int max = v6 ? 128 : 32;

		for (int bits = 0; bits <= max; bits++) {
			uint32_t addr[4], mask[4];
			const unsigned char *m = (const unsigned char *)mask;
			uint8_t fam;
			int ones = 0, seen_zero = 0;

			snprintf(buf, sizeof(buf), "%s/%d",
				 v6 ? "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" : "255.255.255.255",
				 bits);
			assert_int_equal(parse_cidr(buf, &fam, addr, mask), 0);
			for (int i = 0; i < 16; i++)
				for (int b = 7; b >= 0; b--) {
					if (m[i] & (1 << b)) {
						assert_false(seen_zero);
						ones++;
					} else {
						seen_zero = 1;
					}
				}
			assert_int_equal(ones, bits);
			assert_memory_equal(addr, mask, 16);
		}
	}
}

static void test_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("0", &v, false), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("18446744073709551615", &v, false), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", &v, false), -ERANGE);
	assert_int_equal(parse_u64("10k", &v, true), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(parse_u64("10K", &v, true), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(parse_u64("3M", &v, true), 0);
	assert_int_equal(v, 3000000);
	assert_int_equal(parse_u64("2G", &v, true), 0);
	assert_int_equal(v, 2000000000);
	assert_int_equal(parse_u64("18446744073709552k", &v, true), -ERANGE);
	assert_int_equal(parse_u64("10k", &v, false), -EINVAL);
	assert_int_equal(parse_u64("10kk", &v, true), -EINVAL);
	assert_int_equal(parse_u64("10x", &v, true), -EINVAL);
	assert_int_equal(parse_u64("", &v, true), -EINVAL);
	assert_int_equal(parse_u64("-1", &v, false), -EINVAL);
	assert_int_equal(parse_u64("+1", &v, false), -EINVAL);
	assert_int_equal(parse_u64(" 1", &v, false), -EINVAL);
	assert_int_equal(parse_u64("1 ", &v, false), -EINVAL);
	assert_int_equal(parse_u64("0x10", &v, false), -EINVAL);
	assert_int_equal(parse_u64("k", &v, true), -EINVAL);
	assert_int_equal(parse_u64(NULL, &v, true), -EINVAL);
}

static void test_size(void **state)
{
	static const struct {
		const char *in;
		uint64_t bytes;
	} good[] = {
	    {"64", 64},		{"4k", 4096},
	    {"4K", 4096},	{"10M", 10485760},
	    {"1G", 1073741824}, {"1kB", 1024},
	    {"1KiB", 1024},	{"2MiB", 2097152},
	    {"0", 0},		{"17179869183G", 17179869183ULL << 30},
	};
	static const struct {
		const char *in;
		int err;
	} bad[] = {
	    {"1x", -EINVAL},
	    {"1kb", -EINVAL},
	    {"1T", -EINVAL},
	    {"", -EINVAL},
	    {"-1", -EINVAL},
	    {"1 k", -EINVAL},
	    {"k", -EINVAL},
	    {"1GiBs", -EINVAL},
	    {"17179869184G", -ERANGE},
	    {"99999999999999999999", -ERANGE},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t b = 1;

		if (parse_size(good[i].in, &b)) {
			print_error("refused size '%s'\n", good[i].in);
			fail();
		}
		assert_true(b == good[i].bytes);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t b = 1;
		int ret = parse_size(bad[i].in, &b);

		if (ret != bad[i].err) {
			print_error("size '%s': %d, expected %d\n", bad[i].in, ret, bad[i].err);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_good),
	    cmocka_unit_test(test_duration_bad),
	    cmocka_unit_test(test_duration_limit),
	    cmocka_unit_test(test_format_duration),
	    cmocka_unit_test(test_prob),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_cidr_every_prefix),
	    cmocka_unit_test(test_u64),
	    cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
