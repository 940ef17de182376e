/* fuzz_pending.c - libFuzzer target: the pending-change record (pending.c).
 * Any input either is refused or parses into a record that formats and parses
 * back to the same record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pending p, q;
	size_t len;
	char *text;

	if (pending_parse((const char *)data, size, &p) != 0)
		return 0;
	text = pending_format(&p, &len);
	if (!text)
		abort();
	if (pending_parse(text, len, &q) != 0)
		abort();
	/* the text form of a value never holds a control character: compare what survives */
	if (strcmp(p.site, q.site) || strcmp(p.id, q.id) || p.seconds != q.seconds || p.applied != q.applied ||
	    p.deadline != q.deadline || p.deadline_boot_ms != q.deadline_boot_ms || strcmp(p.boot_id, q.boot_id) ||
	    p.watcher_pid != q.watcher_pid || p.watcher_start != q.watcher_start || p.was_up != q.was_up ||
	    p.failed_at != q.failed_at || strlen(p.file) != strlen(q.file) || p.started != q.started ||
	    memcmp(&p.probe, &q.probe, sizeof(p.probe)))
		abort();
	free(text);
	return 0;
}
