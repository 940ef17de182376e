/* apply.h - carrying out a plan, all or nothing */
#ifndef GATEWAYCTL_APPLY_H
#define GATEWAYCTL_APPLY_H

#include <stdbool.h>
#include <stdio.h>

#include "ipsec.h"
#include "model.h"

struct apply {
	const char *cmd;		/* for messages: "up" */
	struct nl *rt, *nf;
	const struct site *site;
	const struct live *live;	/* what plan_build saw */
	struct plan *plan;
	FILE *err;
	bool verbose;
	struct ipsec_session ipsec;	/* the IPsec steps' session (apply_ipsec.c); zero before */
};

/* Apply every step of A->plan in order. On failure: the failed step and the
 * kernel's message on A->err, every step done so far undone, -errno returned. */
int apply_plan(struct apply *a);
/* "step N of M failed: TEXT", then DETAIL or the kernel's message, and a hint. */
void apply_report_failure(struct apply *a, const struct step *st, int err, const struct nl *nl,
			  const char *detail);

/* The IPsec step backend (apply_ipsec.c), called by apply_plan: carry out
 * the plan's IPsec steps (loads, then unloads); on failure report it on
 * A->err and return -errno (the caller rolls back). */
int apply_ipsec(struct apply *a);
/* Undo step ST: 0, or -EIO when it could not be undone (said on A->err):
 * the rollback then failed, and says so. */
int apply_ipsec_undo(struct apply *a, struct step *st);
/* After every step succeeded: forget the stale shared keys, write the record,
 * ask charon to initiate the new connections (not waiting for them). */
void apply_ipsec_commit(struct apply *a);
/* After a rollback: unload a private key this run loaded, keep in the record
 * what could not be undone, close the session. The number of changes that
 * could not be undone (said on A->err). */
int apply_ipsec_release(struct apply *a);

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
