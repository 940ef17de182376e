/* test_frame.c - the relay's frame format, reassembly, checksum and token bucket */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

static const struct frame_hdr sample = {
	.hops = 1, .src_addr = 0xc0a80105, .src_port = 5555, .dst_port = 6799,
	.id = 0xdeadbeef, .total = 5, .offset = 0,
};

/* a frame of HDR with PLEN payload bytes (value i & 0xff) in BUF; returns its length */
static size_t build(uint8_t *buf, const struct frame_hdr *h, size_t plen)
{
	frame_encode(buf, h);
	for (size_t i = 0; i < plen; i++)
		buf[FRAME_HDR_LEN + i] = (uint8_t)(h->offset + i);
	return FRAME_HDR_LEN + plen;
}

static void test_round_trip(void **state)
{
	uint8_t buf[64];
	struct frame_hdr h;
	const uint8_t *p;
	size_t plen, n = build(buf, &sample, 5);

	(void)state;
	assert_int_equal(n, 25);
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_OK);
	assert_int_equal(h.version, FRAME_VERSION);
	assert_int_equal(h.hops, 1);
	assert_int_equal(h.src_addr, 0xc0a80105);
	assert_int_equal(h.src_port, 5555);
	assert_int_equal(h.dst_port, 6799);
	assert_int_equal(h.id, 0xdeadbeef);
	assert_int_equal(h.total, 5);
	assert_int_equal(h.offset, 0);
	assert_ptr_equal(p, buf + FRAME_HDR_LEN);
	assert_int_equal(plen, 5);
	/* network byte order on the wire */
	assert_int_equal(buf[0], 0x67);
	assert_int_equal(buf[1], 0x72);
	assert_int_equal(buf[4], 192);
	assert_int_equal(buf[7], 5);
	assert_int_equal(buf[10], 6799 >> 8);
	assert_int_equal(buf[11], 6799 & 0xff);
}

static void test_empty_datagram(void **state)
{
	struct frame_hdr h0 = sample, h;
	uint8_t buf[FRAME_HDR_LEN];
	const uint8_t *p;
	size_t plen;

	(void)state;
	h0.total = 0;
	build(buf, &h0, 0);
	assert_int_equal(frame_parse(buf, sizeof(buf), &h, &p, &plen), FRAME_OK);
	assert_int_equal(plen, 0);
}

static void test_malformed(void **state)
{
	uint8_t buf[128];
	struct frame_hdr h, bad;
	const uint8_t *p;
	size_t plen, n = build(buf, &sample, 5);

	(void)state;
	for (size_t len = 0; len < FRAME_HDR_LEN; len++)
		assert_int_equal(frame_parse(buf, len, &h, &p, &plen), FRAME_SHORT);
	/* payload shorter or longer than total says */
	assert_int_equal(frame_parse(buf, n - 1, &h, &p, &plen), FRAME_OK);	/* 4 of 5 at 0: a fragment */
	buf[n] = 0;
	assert_int_equal(frame_parse(buf, n + 1, &h, &p, &plen), FRAME_BAD_LENGTH);
	buf[0] ^= 1;
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_MAGIC);
	buf[0] ^= 1;
	buf[2] = 2;
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_VERSION);
	buf[2] = 0;
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_VERSION);
	/* offset + payload beyond total */
	bad = sample;
	bad.offset = 1;
	n = build(buf, &bad, 5);
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_LENGTH);
	/* total beyond any UDP payload */
	bad = sample;
	bad.total = 65508;
	n = build(buf, &bad, 5);
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_LENGTH);
	/* an empty fragment of a non-empty datagram */
	bad = sample;
	n = build(buf, &bad, 0);
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_LENGTH);
	/* offset alone beyond total */
	bad = sample;
	bad.offset = 6;
	n = build(buf, &bad, 0);
	assert_int_equal(frame_parse(buf, n, &h, &p, &plen), FRAME_BAD_LENGTH);
	assert_string_equal(frame_strerror(FRAME_BAD_MAGIC), "wrong magic");
}

static void test_too_long_frame(void **state)
{
	uint8_t *buf = calloc(1, 70000);
	struct frame_hdr h0 = sample, h;
	const uint8_t *p;
	size_t plen;

	(void)state;
	assert_non_null(buf);
	h0.total = 65507;
	build(buf, &h0, 0);
	assert_int_equal(frame_parse(buf, 65508, &h, &p, &plen), FRAME_BAD_LENGTH);
	assert_int_equal(frame_parse(buf, 65507, &h, &p, &plen), FRAME_OK);
	assert_int_equal(plen, 65507 - FRAME_HDR_LEN);
	free(buf);
}

static void test_split(void **state)
{
	size_t off, len, sizes[] = { 0, 1, 1472, FRAME_PAYLOAD_MAX, FRAME_PAYLOAD_MAX + 1, 65507 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t t = sizes[i], sum = 0;
		unsigned n = frame_count(t);

		assert_int_equal(n, t <= FRAME_PAYLOAD_MAX ? 1 : 2);
		for (unsigned f = 0; f < n; f++) {
			frame_fragment(t, f, &off, &len);
			assert_int_equal(off, sum);
			assert_true(len <= FRAME_PAYLOAD_MAX);
			assert_true(t == 0 || len > 0);
			sum += len;
		}
		assert_int_equal(sum, t);
	}
}

/* --- reassembly ----------------------------------------------------------------- */

static uint8_t *datagram(size_t n, unsigned seed)
{
	uint8_t *d = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 7 + seed);
	return d;
}

/* feed fragment F of datagram DATA (TOTAL) as peer PEER */
static int feed(struct reasm *r, uint32_t peer, uint32_t id, const uint8_t *data, size_t total, unsigned f,
		uint64_t now, const uint8_t **out, size_t *out_len)
{
	struct frame_hdr h = sample;
	size_t off, len;

	frame_fragment(total, f, &off, &len);
	h.id = id;
	h.total = (uint16_t)total;
	h.offset = (uint16_t)off;
	return reasm_add(r, peer, &h, data + off, len, now, out, out_len);
}

static void test_reasm_in_order_and_reverse(void **state)
{
	struct reasm r;
	uint8_t *d = datagram(65507, 3);
	const uint8_t *out;
	size_t olen;

	(void)state;
	assert_int_equal(reasm_init(&r, 4, 1000), 0);
	assert_int_equal(feed(&r, 1, 10, d, 65507, 0, 0, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 1, 10, d, 65507, 1, 5, &out, &olen), REASM_COMPLETE);
	assert_int_equal(olen, 65507);
	assert_memory_equal(out, d, 65507);
	/* out of order */
	assert_int_equal(feed(&r, 1, 11, d, 65507, 1, 10, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 1, 11, d, 65507, 0, 10, &out, &olen), REASM_COMPLETE);
	assert_memory_equal(out, d, 65507);
	/* the slot is free again: four datagrams in flight fit */
	for (uint32_t id = 20; id < 24; id++)
		assert_int_equal(feed(&r, 1, id, d, 65507, 0, 20, &out, &olen), REASM_PENDING);
	for (uint32_t id = 20; id < 24; id++)
		assert_int_equal(feed(&r, 1, id, d, 65507, 1, 20, &out, &olen), REASM_COMPLETE);
	assert_int_equal(r.evicted, 0);
	assert_int_equal(r.timed_out, 0);
	reasm_free(&r);
	free(d);
}

static void test_reasm_whole_passes_through(void **state)
{
	struct reasm r;
	uint8_t d[100];
	const uint8_t *out;
	size_t olen;

	(void)state;
	memset(d, 0x5a, sizeof(d));
	assert_int_equal(reasm_init(&r, 2, 1000), 0);
	assert_int_equal(feed(&r, 1, 1, d, sizeof(d), 0, 0, &out, &olen), REASM_COMPLETE);
	assert_ptr_equal(out, d);
	assert_int_equal(olen, 100);
	reasm_free(&r);
}

static void test_reasm_duplicates_and_keys(void **state)
{
	struct reasm r;
	uint8_t *d = datagram(70000, 1);
	const uint8_t *out;
	size_t olen;

	(void)state;
	assert_int_equal(reasm_init(&r, 4, 1000), 0);
	assert_int_equal(feed(&r, 1, 5, d, 65507, 0, 0, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 1, 5, d, 65507, 0, 0, &out, &olen), REASM_DUPLICATE);
	/* same id from another peer is another datagram */
	assert_int_equal(feed(&r, 2, 5, d, 65507, 1, 0, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 1, 5, d, 65507, 1, 0, &out, &olen), REASM_COMPLETE);
	assert_memory_equal(out, d, 65507);
	/* after completion a late duplicate starts a new, never completed, datagram */
	assert_int_equal(feed(&r, 1, 5, d, 65507, 1, 1, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 2, 5, d, 65507, 0, 1, &out, &olen), REASM_COMPLETE);
	reasm_free(&r);
	free(d);
}

static void test_reasm_inconsistent(void **state)
{
	struct reasm r;
	uint8_t *d = datagram(65507, 2);
	struct frame_hdr h = sample;
	const uint8_t *out;
	size_t olen;

	(void)state;
	assert_int_equal(reasm_init(&r, 4, 1000), 0);
	/* a sibling claiming another total drops the datagram */
	assert_int_equal(feed(&r, 1, 7, d, 65507, 0, 0, &out, &olen), REASM_PENDING);
	h.id = 7;
	h.total = 65000;
	h.offset = 40000;
	assert_int_equal(reasm_add(&r, 1, &h, d, 1000, 0, &out, &olen), REASM_INCONSISTENT);
	/* overlapping fragments */
	h.total = 60000;
	h.id = 8;
	h.offset = 0;
	assert_int_equal(reasm_add(&r, 1, &h, d, 30000, 0, &out, &olen), REASM_PENDING);
	h.offset = 29999;
	assert_int_equal(reasm_add(&r, 1, &h, d, 30001, 0, &out, &olen), REASM_INCONSISTENT);
	/* the datagram is gone: a fresh start completes */
	h.offset = 0;
	assert_int_equal(reasm_add(&r, 1, &h, d, 30000, 0, &out, &olen), REASM_PENDING);
	h.offset = 30000;
	assert_int_equal(reasm_add(&r, 1, &h, d + 30000, 30000, 0, &out, &olen), REASM_COMPLETE);
	assert_memory_equal(out, d, 60000);
	/* more than FRAME_MAX_FRAGS pieces */
	h.id = 9;
	h.total = 1000;
	for (unsigned i = 0; i < FRAME_MAX_FRAGS; i++) {
		h.offset = (uint16_t)(i * 10);
		assert_int_equal(reasm_add(&r, 1, &h, d, 10, 0, &out, &olen), REASM_PENDING);
	}
	h.offset = 500;
	assert_int_equal(reasm_add(&r, 1, &h, d, 10, 0, &out, &olen), REASM_INCONSISTENT);
	reasm_free(&r);
	free(d);
}

static void test_reasm_timeout(void **state)
{
	struct reasm r;
	uint8_t *d = datagram(65507, 4);
	const uint8_t *out;
	size_t olen;

	(void)state;
	assert_int_equal(reasm_init(&r, 2, 1000), 0);
	assert_int_equal(feed(&r, 1, 1, d, 65507, 0, 100, &out, &olen), REASM_PENDING);
	assert_int_equal(reasm_expire(&r, 1099), 0);
	assert_int_equal(reasm_expire(&r, 1100), 1);
	assert_int_equal(r.timed_out, 1);
	/* the second half alone does not complete anything */
	assert_int_equal(feed(&r, 1, 1, d, 65507, 1, 1100, &out, &olen), REASM_PENDING);
	/* a late sibling of an expired slot is not joined to it */
	assert_int_equal(feed(&r, 1, 2, d, 65507, 0, 2000, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 1, 2, d, 65507, 1, 3500, &out, &olen), REASM_PENDING);
	assert_true(r.timed_out >= 2);
	reasm_free(&r);
	free(d);
}

static void test_reasm_exhaustion(void **state)
{
	struct reasm r;
	uint8_t *d = datagram(65507, 5);
	const uint8_t *out;
	size_t olen;

	(void)state;
	assert_int_equal(reasm_init(&r, 3, 1000), 0);
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(feed(&r, 1, id, d, 65507, 0, id, &out, &olen), REASM_PENDING);
	/* a fourth evicts the oldest (id 1) */
	assert_int_equal(feed(&r, 1, 4, d, 65507, 0, 10, &out, &olen), REASM_PENDING);
	assert_int_equal(r.evicted, 1);
	assert_int_equal(feed(&r, 1, 1, d, 65507, 1, 11, &out, &olen), REASM_PENDING);	/* evicts id 2 */
	assert_int_equal(feed(&r, 1, 3, d, 65507, 1, 12, &out, &olen), REASM_COMPLETE);
	assert_memory_equal(out, d, 65507);
	assert_int_equal(feed(&r, 1, 4, d, 65507, 1, 12, &out, &olen), REASM_COMPLETE);
	assert_memory_equal(out, d, 65507);
	assert_int_equal(r.evicted, 2);
	reasm_free(&r);
	free(d);
}

static void test_reasm_peer_quota(void **state)
{
	struct reasm r;
	uint8_t *d = datagram(65507, 6);
	const uint8_t *out;
	size_t olen;

	(void)state;
	assert_int_equal(reasm_init(&r, 4, 1000), 0);
	/* peer 1 has the first half of a datagram in reassembly */
	assert_int_equal(feed(&r, 1, 100, d, 65507, 0, 0, &out, &olen), REASM_PENDING);
	/* peer 2 (or somebody forging it) floods first halves, newer than peer 1's */
	for (uint32_t id = 1; id <= 50; id++)
		assert_int_equal(feed(&r, 2, id, d, 65507, 0, id, &out, &olen), REASM_PENDING);
	/* peer 2 evicted only its own: peer 1's datagram completes */
	assert_int_equal(feed(&r, 1, 100, d, 65507, 1, 60, &out, &olen), REASM_COMPLETE);
	assert_memory_equal(out, d, 65507);
	/* and peer 2's latest ones are still there */
	assert_int_equal(feed(&r, 2, 50, d, 65507, 1, 61, &out, &olen), REASM_COMPLETE);
	reasm_free(&r);

	/* a fixed quota: a peer holds at most PER_PEER slots even when others are free */
	assert_int_equal(reasm_init(&r, 8, 1000), 0);
	r.per_peer = 2;
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(feed(&r, 2, id, d, 65507, 0, id, &out, &olen), REASM_PENDING);
	assert_int_equal(r.evicted, 1);	/* id 1, its own oldest */
	assert_int_equal(feed(&r, 2, 1, d, 65507, 1, 10, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 2, 3, d, 65507, 1, 11, &out, &olen), REASM_COMPLETE);
	reasm_free(&r);

	/* a full table: a newcomer takes the oldest slot of the peer holding the most */
	assert_int_equal(reasm_init(&r, 4, 1000), 0);
	assert_int_equal(feed(&r, 2, 9, d, 65507, 0, 0, &out, &olen), REASM_PENDING);	/* the oldest of all */
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(feed(&r, 1, id, d, 65507, 0, id, &out, &olen), REASM_PENDING);
	assert_int_equal(feed(&r, 3, 7, d, 65507, 0, 20, &out, &olen), REASM_PENDING);
	assert_int_equal(r.evicted, 1);
	assert_int_equal(feed(&r, 2, 9, d, 65507, 1, 21, &out, &olen), REASM_COMPLETE);	/* kept */
	assert_int_equal(feed(&r, 1, 1, d, 65507, 1, 22, &out, &olen), REASM_PENDING);	/* peer 1's oldest went */
	reasm_free(&r);
	free(d);
}

/* --- checksum and bucket ----------------------------------------------------------- */

static void test_udp_checksum(void **state)
{
	/* 10.0.0.1:1000 -> 10.0.0.2:2000, payload "hi!" : computed by hand
	 * sum = 0a00+0001+0a00+0002+0011+000b + 03e8+07d0+000b+0000 + 6869+2100 */
	uint8_t hdr[8] = { 0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0b, 0, 0 };
	const uint8_t payload[] = { 'h', 'i', '!' };
	uint32_t sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x000b + 0x03e8 + 0x07d0 + 0x000b +
		       0x6869 + 0x2100;
	uint16_t c = udp4_checksum(0x0a000001, 0x0a000002, hdr, 8, payload, 3);

	(void)state;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(c, (uint16_t)~sum);
	/* verifying: the sum over everything including the checksum is 0xffff */
	hdr[6] = (uint8_t)(c >> 8);
	hdr[7] = (uint8_t)c;
	assert_int_equal(udp4_checksum(0x0a000001, 0x0a000002, hdr, 8, payload, 3), 0xffff);
}

static void test_udp_checksum_large(void **state)
{
	uint8_t hdr[8] = { 0x15, 0xb3, 0x1a, 0x8f, 0xff, 0xeb, 0, 0 };	/* 65507 + 8 */
	uint8_t *d = malloc(65507);
	uint16_t c;

	(void)state;
	memset(d, 0xff, 65507);
	c = udp4_checksum(0xc0a80105, 0xc0a802ff, hdr, 8, d, 65507);
	hdr[6] = (uint8_t)(c >> 8);
	hdr[7] = (uint8_t)c;
	/* all-ones data: a checksum of the whole must verify */
	assert_int_equal(udp4_checksum(0xc0a80105, 0xc0a802ff, hdr, 8, d, 65507), 0xffff);
	free(d);
}

static void test_bucket(void **state)
{
	struct bucket b;
	uint64_t t = 1000000000ull;
	int n = 0;

	(void)state;
	bucket_init(&b, 10, t);
	while (bucket_take(&b, 100, 10, t))
		n++;
	assert_int_equal(n, 10);
	/* 100/s: one token per 10 ms */
	assert_false(bucket_take(&b, 100, 10, t + 9999999));
	assert_true(bucket_take(&b, 100, 10, t + 10000000));
	assert_false(bucket_take(&b, 100, 10, t + 10000000));
	/* a long pause refills to the burst, not beyond */
	n = 0;
	while (bucket_take(&b, 100, 10, t + 3600ull * 1000000000ull))
		n++;
	assert_int_equal(n, 10);
	/* time going backwards takes nothing */
	assert_false(bucket_take(&b, 100, 10, t));
	/* extreme settings do not overflow */
	bucket_init(&b, 1000000, 0);
	n = 0;
	while (n < 2000000 && bucket_take(&b, 1000000, 1000000, 0))
		n++;
	assert_int_equal(n, 1000000);
	assert_true(bucket_take(&b, 1000000, 1000000, UINT64_MAX / 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_datagram),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_long_frame),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_reasm_in_order_and_reverse),
		cmocka_unit_test(test_reasm_whole_passes_through),
		cmocka_unit_test(test_reasm_duplicates_and_keys),
		cmocka_unit_test(test_reasm_inconsistent),
		cmocka_unit_test(test_reasm_timeout),
		cmocka_unit_test(test_reasm_exhaustion),
		cmocka_unit_test(test_reasm_peer_quota),
		cmocka_unit_test(test_udp_checksum),
		cmocka_unit_test(test_udp_checksum_large),
		cmocka_unit_test(test_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
