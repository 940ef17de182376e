/* test_budget.c - the relay's budgets: datagrams and bytes, fair between senders */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "budget.h"
#include "frame.h"

#define MS 1000000ull
#define SEC 1000000000ull

static void test_limits(void **state)
{
	struct limits l;

	(void)state;
	limits_init(&l, 1000, 200);
	assert_int_equal(l.rate, 1000);
	assert_int_equal(l.burst, 200);
	assert_int_equal(l.byte_rate, 1000 * BUDGET_DATAGRAM_BYTES);
	assert_int_equal(l.byte_burst, 200 * BUDGET_DATAGRAM_BYTES);
	/* a small burst still lets the largest datagram through */
	limits_init(&l, 50, 10);
	assert_int_equal(l.byte_burst, BUDGET_MIN_BYTE_BURST);
	/* the extremes the site file allows do not overflow */
	limits_init(&l, 1000000, 1000000);
	assert_int_equal(l.byte_rate, 1500000000ull);
}

/* the old bucket counted datagrams only: 1000/s of 64 KiB is 500 Mbit/s */
static void test_bytes_count(void **state)
{
	struct limits l;
	struct tbucket b;
	int n = 0;

	(void)state;
	limits_init(&l, 1000, 200);
	tbucket_init(&b, &l, 1, 0);
	while (tbucket_take(&b, &l, 1, 65000, 0))
		n++;
	assert_int_equal(n, 4);	/* 300000 bytes deep: 4 x 65000 */
	/* small datagrams: the datagram count binds */
	tbucket_init(&b, &l, 1, 0);
	n = 0;
	while (tbucket_take(&b, &l, 1, 64, 0))
		n++;
	assert_int_equal(n, 200);
	/* over 10 s of 65000-byte datagrams offered at 2000/s: the byte rate binds */
	tbucket_init(&b, &l, 1, 0);
	n = 0;
	for (uint64_t t = 0; t < 10 * SEC; t += SEC / 2000)
		n += tbucket_take(&b, &l, 1, 65000, t);
	/* 1.5 MB/s x 10 s + 300 KB of depth = 15.3 MB = 235 datagrams */
	assert_in_range(n, 230, 236);
}

static void test_refill_long_idle(void **state)
{
	struct limits l;
	struct tbucket b;

	(void)state;
	limits_init(&l, 1000000, 1000000);
	tbucket_init(&b, &l, 1, 0);
	for (int i = 0; i < 1000000; i++)
		assert_true(tbucket_take(&b, &l, 1, 1, 0));
	assert_false(tbucket_take(&b, &l, 1, 1, 0));
	/* a year later: full, not wrapped around */
	assert_true(tbucket_take(&b, &l, 1, 65507, 365ull * 24 * 3600 * SEC));
	assert_int_equal(b.dg, (1000000ull - 1) * SEC);
	/* shares of the smallest budget still pass the largest datagram */
	limits_init(&l, 1, 1);
	tbucket_init(&b, &l, 64, 0);
	assert_true(tbucket_take(&b, &l, 64, 65507, 0));
}

/* Host A floods (65000 bytes at 2000/s), host B stays modest (200 bytes at
 * 20/s): B gets all its datagrams through, A gets the rest of the budget, and
 * the total stays within it. */
static void test_fair_flood(void **state)
{
	struct limits l;
	struct fair f;
	int a = 0, b = 0, b_sent = 0;
	uint64_t a_bytes = 0, b_bytes = 0;

	(void)state;
	limits_init(&l, 1000, 200);
	fair_init(&f, &l, 0);
	for (uint64_t t = 0; t < 10 * SEC; t += SEC / 2000) {
		if (fair_take(&f, 0xc0a80105, 65000, t)) {
			a++;
			a_bytes += 65000;
		}
		if (t % (SEC / 20) == 0) {
			b_sent++;
			if (fair_take(&f, 0xc0a80109, 200, t)) {
				b++;
				b_bytes += 200;
			}
		}
	}
	assert_int_equal(b_sent, 200);
	assert_int_equal(b, b_sent);
	/* the whole byte budget: 1.5 MB/s x 10 s + 300 KB of depth */
	assert_true(a_bytes + b_bytes <= 15300000);
	assert_true(a_bytes >= 13000000);	/* A still gets what B leaves */
	assert_int_equal(f.active, 2);
}

/* The same with the old rule (one bucket per port counting datagrams, first
 * come first served) gives B almost nothing, and A 1000 x 65000 bytes a second:
 * what the fair byte budget is for. */
static void test_old_rule_unfair(void **state)
{
	struct bucket port;
	int a = 0, b = 0;

	(void)state;
	bucket_init(&port, 200, 0);
	for (uint64_t t = 0; t < 10 * SEC; t += SEC / 2000) {
		a += bucket_take(&port, 1000, 200, t);
		if (t % (SEC / 20) == 0)
			b += bucket_take(&port, 1000, 200, t);
	}
	assert_true(b < 20);
	assert_true(a > 10000);
}

/* Two hosts flooding alike share evenly; a lone host has the whole budget. */
static void test_fair_even_and_alone(void **state)
{
	struct limits l;
	struct fair f;
	int a = 0, b = 0, alone = 0;

	(void)state;
	limits_init(&l, 100, 10);
	fair_init(&f, &l, 0);
	for (uint64_t t = 0; t < 20 * SEC; t += MS) {
		a += fair_take(&f, 1, 100, t);
		b += fair_take(&f, 2, 100, t);
	}
	/* 100/s for 20 s + 10 deep */
	assert_in_range(a + b, 1990, 2010);
	assert_in_range(a, 800, 1200);
	assert_in_range(b, 800, 1200);
	/* after both went quiet, one host alone gets the whole rate again */
	for (uint64_t t = 30 * SEC; t < 40 * SEC; t += MS)
		alone += fair_take(&f, 3, 100, t);
	assert_in_range(alone, 990, 1010);
	assert_int_equal(f.active, 1);
}

/* Many senders (or one forging many addresses): the table stays bounded, the
 * port's budget still holds, and a host already known keeps getting its share. */
static void test_fair_many_senders(void **state)
{
	struct limits l;
	struct fair f;
	int total = 0, known = 0, known_sent = 0;

	(void)state;
	limits_init(&l, 1000, 100);
	fair_init(&f, &l, 0);
	for (uint64_t t = 0; t < 5 * SEC; t += SEC / 10000) {
		uint32_t forged = 0x0a000000u + (uint32_t)(t / (SEC / 10000)) % 5000;

		total += fair_take(&f, forged, 100, t);
		if (t % (SEC / 10) == 0) {
			known_sent++;
			known += fair_take(&f, 0x0a0100ffu, 100, t);
		}
	}
	assert_true(total + known <= 1000 * 5 + 100 + 1);
	assert_true(f.active <= FAIR_SENDERS + 1);
	/* the known host holds a table entry: its share is 1/65 of 1000/s, more
	 * than the 10/s it sends */
	assert_true(known >= known_sent * 9 / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bytes_count),
		cmocka_unit_test(test_refill_long_idle),
		cmocka_unit_test(test_fair_flood),
		cmocka_unit_test(test_old_rule_unfair),
		cmocka_unit_test(test_fair_even_and_alone),
		cmocka_unit_test(test_fair_many_senders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
