/* test_probeset.c - ICMP echoes to many peers from one socket (probeset.c):
 * the reply parser on good and bad packets, and a round over loopback (when
 * this user may open an ICMP socket: a ping socket or CAP_NET_RAW). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "probeset.h"

static void test_reply_parse(void **state)
{
	/* an IP header (20 bytes, source 192.168.2.126) and an echo reply id 0x1234 seq 7 */
	uint8_t raw[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 192, 168, 2, 126, 192, 168, 1, 126,
			    0, 0, 0, 0, 0x12, 0x34, 0, 7 };
	uint32_t src;
	uint16_t id, seq;

	(void)state;
	assert_int_equal(probe_reply_parse(raw, sizeof(raw), true, 0, &src, &id, &seq), 0);
	assert_int_equal(src, 0xc0a8027e);
	assert_int_equal(id, 0x1234);
	assert_int_equal(seq, 7);
	/* a ping socket's: no IP header, the source from recvfrom */
	assert_int_equal(probe_reply_parse(raw + 20, 8, false, 0x0a000001, &src, &id, &seq), 0);
	assert_int_equal(src, 0x0a000001);
	assert_int_equal(seq, 7);
	/* short, not IPv4, a header length past the end, an echo request, a code */
	assert_int_equal(probe_reply_parse(raw, 27, true, 0, &src, &id, &seq), -1);
	assert_int_equal(probe_reply_parse(raw + 20, 7, false, 0, &src, &id, &seq), -1);
	assert_int_equal(probe_reply_parse(raw, 19, true, 0, &src, &id, &seq), -1);
	raw[0] = 0x65;
	assert_int_equal(probe_reply_parse(raw, sizeof(raw), true, 0, &src, &id, &seq), -1);
	raw[0] = 0x4f; /* 60 bytes of header in 28 */
	assert_int_equal(probe_reply_parse(raw, sizeof(raw), true, 0, &src, &id, &seq), -1);
	raw[0] = 0x44; /* 16 bytes: too short for a header */
	assert_int_equal(probe_reply_parse(raw, sizeof(raw), true, 0, &src, &id, &seq), -1);
	raw[0] = 0x45;
	raw[20] = 8;
	assert_int_equal(probe_reply_parse(raw, sizeof(raw), true, 0, &src, &id, &seq), -1);
	raw[20] = 0;
	raw[21] = 1;
	assert_int_equal(probe_reply_parse(raw, sizeof(raw), true, 0, &src, &id, &seq), -1);
}

/* Two loopback addresses answer, one address nobody has does not; every
 * answer is credited to the target it came from. */
static void test_loopback_round(void **state)
{
	struct probe_target t[3] = { { .addr = 0x7f000001 }, { .addr = 0x7f000002 }, { .addr = 0xc0000201 } };
	struct probeset ps;
	char err[200];

	(void)state;
	if (probeset_open(&ps, 0x7f000001, err, sizeof(err)) < 0) {
		printf("# skipped: %s\n", err);
		skip();
	}
	assert_int_equal(probeset_round(&ps, t, 3, 2, 50, 300), 2);
	assert_true(t[0].received >= 1 && t[0].received <= 2);
	assert_true(t[1].received >= 1 && t[1].received <= 2);
	assert_int_equal(t[2].received, 0);
	assert_int_equal(t[2].answered_ms, 0);
	assert_true(t[0].rtt_ms >= 0 && t[0].rtt_ms < 300);
	/* answered ones are not sent to again in the same round: one echo each */
	assert_int_equal(t[0].sent, 1);
	assert_int_equal(t[2].sent, 2);
	/* an index past the array is refused */
	assert_int_equal(probeset_send(&ps, t, 3, 3), -EINVAL);
	probeset_close(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test(test_loopback_round),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
