/* fuzz_vici_events.c - libFuzzer target: what charon sends on an event
 * connection (the watcher's "ike" source), fed to vici_stream_feed in pieces
 * whose sizes the first input byte picks; every event read as an IKE event.
 * Nothing may crash, leak or read out of bounds; what parses must be
 * NUL-terminated text within its fields (abort otherwise). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vici.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		abort();
}

static int on_event(const char *event, const struct vici_node *msg, void *arg)
{
	struct vici_ike_event e;
	int r = vici_ike_event_parse(event, msg, &e);

	(void)arg;
	if (r != 0 && r != -ENOENT && r != -EPROTO)
		abort();
	if (r == 0) {
		check_field(e.conn, sizeof(e.conn));
		check_field(e.state, sizeof(e.state));
		check_field(e.local_id, sizeof(e.local_id));
		check_field(e.remote_id, sizeof(e.remote_id));
		check_field(e.remote_host, sizeof(e.remote_host));
		check_field(e.old_remote_host, sizeof(e.old_remote_host));
		if (!e.conn[0] || !e.remote_host[0])
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vici_stream s = { 0 };
	size_t piece;

	if (size < 1)
		return 0;
	piece = data[0] ? data[0] : size;
	data++;
	size--;
	for (size_t off = 0; off < size; off += piece)
		if (vici_stream_feed(&s, data + off, off + piece > size ? size - off : piece, on_event, NULL) < 0)
			break;
	vici_stream_free(&s);
	return 0;
}
