/* fuzz_frame.c - libFuzzer target: the frame parser and reassembly.
 * The input is a sequence of records: u8 time step, u16 length (big endian),
 * then that many bytes of frame (fewer at the end of the input). Every record
 * goes through frame_parse and, when it parses, reasm_add (as peer step % 3). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static struct reasm r;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now;

	if (!r.slots) {
		if (reasm_init(&r, 4, 100) < 0)
			abort();
		r.per_peer = 2;	/* 3 peers x 2 > 4 slots: quotas and evictions both happen */
	}
	while (size >= 3) {
		uint8_t step = data[0];
		size_t len = (size_t)data[1] << 8 | data[2], plen, olen;
		const uint8_t *frame = data + 3, *payload, *out;
		struct frame_hdr h;
		uint8_t again[FRAME_HDR_LEN];
		int ret;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		data += len;
		size -= len;
		now += step;
		ret = frame_parse(frame, len, &h, &payload, &plen);
		if (ret != FRAME_OK) {
			if (ret > 0 || ret < FRAME_BAD_LENGTH)
				abort();
			continue;
		}
		/* what parses re-encodes to the same header, and stays in bounds */
		frame_encode(again, &h);
		if (memcmp(again, frame, FRAME_HDR_LEN) != 0)
			abort();
		if (payload != frame + FRAME_HDR_LEN || plen + FRAME_HDR_LEN != len ||
		    h.offset + plen > h.total || h.total > UDP_PAYLOAD_MAX)
			abort();
		ret = reasm_add(&r, step % 3, &h, payload, plen, now, &out, &olen);
		if (ret == REASM_COMPLETE) {
			volatile uint8_t sink = 0;

			if (olen != h.total)
				abort();
			for (size_t i = 0; i < olen; i++)	/* touch every byte: ASan checks */
				sink ^= out[i];
			(void)sink;
		} else if (ret != REASM_PENDING && ret != REASM_DUPLICATE && ret != REASM_INCONSISTENT) {
			abort();
		}
		if (step == 0xff)
			reasm_expire(&r, now);
		for (uint32_t p = 0; p < 3; p++) {
			size_t held = 0;

			for (size_t i = 0; i < r.n_slots; i++)
				held += r.slots[i].used && r.slots[i].peer == p;
			if (held > r.per_peer)
				abort();
		}
	}
	return 0;
}
