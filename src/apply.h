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

#endif
