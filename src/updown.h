/* updown.h - the work of `up` and `down` on one site, without their command
 * lines, for the rollback of a pending change (pending.c, watcher.c). The
 * caller holds the site's lock (state_lock). */
#ifndef GATEWAYCTL_UPDOWN_H
#define GATEWAYCTL_UPDOWN_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

struct live;
struct up_opts {
	const char *cmd;	/* for messages: "gatewayctl up" */
	FILE *out, *err;
	bool verbose;
	/* Called once the plan has steps, before anything changes (up --confirm
	 * records its pending change there); non-zero aborts with nothing changed. */
	int (*before_change)(void *ctx, const struct site *site, const struct live *live);
	void *ctx;
};

/* Make the kernel match SITE (parsed from a file or from memory; site->path is
 * recorded in the state file and given to the relay), all or nothing. The
 * number of changes applied (0: "no changes"), or -1 with the reason on
 * o->err (the kernel is then as before). */
int up_site(struct site *site, const struct up_opts *o);

/* Remove everything gatewayctl created for SITE. 0, or -1 when a step failed
 * (every failure on ERR). */
int down_site_named(const char *site, FILE *out, FILE *err);

#endif
