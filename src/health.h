/* health.h - the one judgement of a site's health: `status` (text and JSON)
 * and its Prometheus output (gatewayctl_site_healthy) both read the site
 * through here, so they agree on every fault: what up would refuse for, a site
 * not up, drift, IPsec not established, a pending change nothing will end, a
 * failed probe. */
#ifndef GATEWAYCTL_HEALTH_H
#define GATEWAYCTL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "model.h"
#include "peerwatch.h"
#include "pending.h"
#include "probe.h"

struct health_reason {
	char text[300];
	char fix[300];	/* "" when there is no one command to give */
};

struct health {
	struct plan plan;	/* what up would do: the drift */
	struct live live;	/* the kernel as read (IPsec read again after a diagnosis) */
	bool up;		/* anything of the site is in the kernel */
	int refusals;		/* preflight's findings (the first reasons) */
	bool have_pending;	/* a change made by up --confirm, in PENDING */
	struct pending_view pending;
	struct probe *probes;	/* with PROBE: one per peer (error set: not probed) */
	bool *probed;		/* ... per peer: the echoes were tried (false: our own
				 * tunnel is missing or down, or the site is not up) */
	char (*ipsec_why)[1024];	/* per peer: why IPsec is not established ("": not asked) */
	bool have_watch;	/* gatewayctl watch runs and probes the peers: WATCH */
	struct pw_file watch;
	struct health_reason *reasons;
	size_t n_reasons;
	bool lost;		/* a reason could not be kept (out of memory): not healthy */
};

/* Read site S's kernel state through RT and NF, plan, and judge: with PROBE,
 * each peer is pinged through its tunnel. 0 with *H filled (free it with
 * health_free), or -1 when the kernel could not be read (said on ERR). */
int health_read(struct nl *rt, struct nl *nf, struct site *s, bool probe, struct health *h, FILE *err);
void health_free(struct health *h);

/* Healthy: no reason at all. */
static inline bool health_ok(const struct health *h)
{
	return h->n_reasons == 0 && !h->lost;
}

/* The command that brings site S up, "gatewayctl up FILE", into FIX. */
const char *health_up_fix(const struct site *s, char *fix, size_t len);

#endif
