/* fuzz_watchstate.c - libFuzzer target: the watcher's state file
 * (watchstate.c), which status and the metrics read. Any input either is
 * refused or parses into a state that formats and parses back to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "watchstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watch_state a, b;
	size_t len;
	char *text;

	if (watchstate_parse((const char *)data, size, &a) != 0)
		return 0;
	text = watchstate_format(&a, &len);
	if (!text)
		abort();
	if (watchstate_parse(text, len, &b) != 0)
		abort();
	/* control characters become '?' in the text: compare what survives */
	if (a.pid != b.pid || a.start_ticks != b.start_ticks || a.started != b.started || a.checks != b.checks ||
	    a.repairs != b.repairs || a.failures != b.failures || a.last_repair != b.last_repair ||
	    a.failing_since != b.failing_since || a.backoff_ms != b.backoff_ms ||
	    strlen(a.boot_id) != strlen(b.boot_id) || strlen(a.last_what) != strlen(b.last_what) ||
	    strlen(a.last_error) != strlen(b.last_error) || strlen(a.watching) != strlen(b.watching))
		abort();
	free(text);
	return 0;
}
