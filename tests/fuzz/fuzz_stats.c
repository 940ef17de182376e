/* fuzz_stats.c - libFuzzer target: the relay's counters file as status reads it
 * (relay_parse_stats, docs/relay.md "Files"). The file is written by the daemon,
 * which runs unprivileged: its contents are not trusted. Whatever the bytes, the
 * parser must stay in bounds, and what it accepts must be consistent. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "relay_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_stats st;
	uint8_t *copy = malloc(size ? size : 1);	/* exactly SIZE: ASan sees any overread */
	volatile uint64_t sink = 0;
	int r;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = relay_parse_stats(copy, size, &st);
	if (r != 0) {
		if (r != -EBADMSG && r != -ENOMEM)
			abort();
		if (st.peers || st.n_peers)	/* nothing to free on failure */
			abort();
		free(copy);
		return 0;
	}
	if (size < sizeof(struct rs_header) || st.n_ports > RELAY_PORTS_MAX || st.n_peers > 4096 ||
	    (st.n_peers && !st.peers) || (!st.n_peers && st.peers) || st.pid < 0)
		abort();
	for (size_t i = 0; i < st.n_ports; i++) {
		sink += st.ports[i].port + st.ports[i].received + st.ports[i].relayed + st.ports[i].rebroadcast;
		for (int d = 0; d < DROP_REASONS; d++)
			sink += st.ports[i].dropped[d];
	}
	for (size_t i = 0; i < st.n_peers; i++) {
		if (memchr(st.peers[i].name, 0, sizeof(st.peers[i].name)) == NULL)
			abort();	/* a name is always a C string */
		sink += strlen(st.peers[i].name) + st.peers[i].sent + st.peers[i].received;
		for (int d = 0; d < DROP_REASONS; d++)
			sink += st.peers[i].dropped[d];
	}
	for (int d = 0; d < DROP_REASONS; d++)
		sink += st.dropped_other[d];
	(void)sink;
	relay_stats_free(&st);
	if (st.peers || st.n_peers)
		abort();
	free(copy);
	return 0;
}
