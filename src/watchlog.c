/* watchlog.c - the watcher's one log line (syslog, and stderr unless under
 * systemd), for the loop, its sources and the repair alike: its own file so
 * that they all use it without using each other. */
#include "watch.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "gatewayctl.h"

void watch_log(const struct watch *w, int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(LOG_DAEMON | prio, "watch site=%s: %s", w->name, line);
	if (w->to_stderr)
		fprintf(stderr, "%s watch: site %s: %s\n", prog, w->name, line);
}
