/* fuzz_peerwatch.c - libFuzzer target: the watcher's probes file as status and
 * the metrics read it (peerwatch_parse, peerwatch_file.c). Whatever the bytes,
 * the parser stays in bounds, and what it accepts is within its ranges and
 * prints as status and JSON do. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1); /* exactly SIZE: ASan sees any overread */
	struct pw_file f;
	FILE *null;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (peerwatch_parse(copy, size, &f) == 0) {
		null = fopen("/dev/null", "w");
		for (size_t i = 0; i < f.n; i++) {
			const struct pw_file_peer *p = &f.peers[i];
			char why[300];

			if (!isfinite(p->rtt_ms) || p->loss < 0 || p->loss > 1 || p->n_history > PW_HISTORY ||
			    p->state > PW_DOWN)
				abort();
			if (null) {
				peerwatch_print(null, &f, p->name);
				peerwatch_json(null, &f, p->name);
				peerwatch_down(&f, p->name, why, sizeof(why));
			}
		}
		if (null)
			fclose(null);
		pw_file_free(&f);
	}
	free(copy);
	return 0;
}
