/* relay_log.c - the relay daemon's log: syslog once it runs detached,
 * standard error before (relay.c, relay_io.c) */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "gatewayctl.h"
#include "relay_daemon.h"

bool rlog_syslog;

void rlog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (rlog_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "%s relay: ", prog);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
