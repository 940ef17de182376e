/* apply.h - carrying out a plan, all or nothing */
#ifndef GATEWAYCTL_APPLY_H
#define GATEWAYCTL_APPLY_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

struct apply {
	const char *cmd;		/* for messages: "up" */
	struct nl *rt, *nf;
	const struct site *site;
	const struct live *live;	/* what plan_build saw */
	struct plan *plan;
	FILE *err;
	bool verbose;
};

/* Apply every step of A->plan in order. On failure: the failed step and the
 * kernel's message on A->err, every step done so far undone, -errno returned. */
int apply_plan(struct apply *a);
/* "step N of M failed: TEXT", then DETAIL or the kernel's message, and a hint. */
void apply_report_failure(struct apply *a, const struct step *st, int err, const struct nl *nl,
			  const char *detail);

/* down: carrying out plan_down's steps, best effort (apply_down.c). */
struct removal {
	struct nl *rt, *nf;
	const char *site;
	const struct live *live;	/* links, routes and addresses plan_down read */
	const struct plan *plan;
	FILE *out, *err;
	int changes, failures;		/* counted on; FAILURES may start above 0 */
};
/* Every step of D->plan, in order, whatever failed before: each change on
 * D->out and in the audit log, each failure on D->err. IPsec stays when a
 * tunnel could not be deleted; the block policies stay after any failure.
 * 0, or -1 when something failed. */
int apply_removal(struct removal *d);

#endif
