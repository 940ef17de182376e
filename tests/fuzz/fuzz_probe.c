/* fuzz_probe.c - libFuzzer target: an ICMP packet as the probes read it
 * (probe_reply_parse, probeset.c). Anyone on the path can send one: whatever
 * the bytes, the parser stays in bounds, and what it takes for an echo reply
 * really is one. The first byte picks the socket kind (raw: with an IP header). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probeset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint32_t src = 0;
	uint16_t id = 0, seq = 0;
	bool raw;
	size_t hl;

	if (size < 1)
		return 0;
	raw = data[0] & 1;
	size--;
	copy = malloc(size ? size : 1); /* exactly SIZE: ASan sees any overread */
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size);
	if (probe_reply_parse(copy, size, raw, 0x0a000001, &src, &id, &seq) == 0) {
		hl = raw ? (size_t)(copy[0] & 15) * 4 : 0;
		if (size < hl + 8 || copy[hl] != 0 || copy[hl + 1] != 0)
			abort();
		if (id != (uint16_t)(copy[hl + 4] << 8 | copy[hl + 5]) || seq != (uint16_t)(copy[hl + 6] << 8 | copy[hl + 7]))
			abort();
		if (!raw && src != 0x0a000001)
			abort();
	}
	free(copy);
	return 0;
}
