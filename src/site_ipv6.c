/* site_ipv6.c - until the engine applies IPv6 (issue 22), a site file with an
 * IPv6 item is refused by plan and up (and so by the watcher and rollback),
 * never applied in half: check accepts it, the engine does not yet. The
 * engine's IPv6 work removes this file and its two calls. */
#include "site.h"

int site_ipv6_unsupported(const struct site *s, const char *cmd, FILE *err)
{
	int line;

	if (!site_has_ipv6(s, &line))
		return 0;
	fprintf(err, "%s: error: IPv6 in %s:%d is parsed, but this build does not apply it yet: nothing "
		"changed (`check` accepts the file; without its IPv6 items this build can apply it)\n", cmd,
		s->path, line);
	return -1;
}
