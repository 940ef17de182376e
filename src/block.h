/* block.h - fail closed for `encryption = ipsec` peers: gatewayctl's own xfrm
 * block policies (netlink/xfrm_block.h) for each IP protocol of the peer's
 * tunnel (ipsec_protocols: 4, and 41 for a sit or ip6tnl) between the site's
 * WAN address and the peer's endpoint (IPv4, or IPv6 for an IPv6 endpoint),
 * in and out, with two marks each: four per protocol, four or eight per peer.
 * Planned, applied, undone and removed like the other steps. */
#ifndef GATEWAYCTL_BLOCK_H
#define GATEWAYCTL_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "xfrm_block.h"

/* the most policies of one peer: 2 protocols x 2 directions x 2 marks */
#define BLOCK_PER_PEER 8

struct site;
struct peer;
struct plan;
struct live;
struct apply;
struct step;

struct block_live {
	bool read;		/* the kernel's policies could be read */
	char error[160];	/* why not */
	bool failed;		/* ... a failure (not a kernel without xfrm): the site's
				 * state is unknown, so live_read fails */
	unsigned wanted;	/* policies the site's ipsec peers need */
	unsigned present;	/* ... of them in the kernel */
	uint8_t *have;		/* per site peer: a bit per policy present (block_wanted's order) */
	struct xfrm_pol *stale;	/* the site's policies that no peer asks for */
	size_t n_stale;
};

/* The priority of site SITE's policies: XFRM_BLOCK_PRIO_BASE + 16 bits of its name. */
uint32_t block_priority(const char *site);
/* Peer P's policies: per protocol, out and in, each with mark value 0 and
 * XFRM_BLOCK_MARK. Their count (4 or 8). */
int block_wanted(const struct site *s, const struct peer *p, struct xfrm_pol out[BLOCK_PER_PEER]);

/* Read the kernel's policies for S. Never fails: a kernel without xfrm, or
 * one that cannot be read, leaves read false and error saying why. */
void block_live_read(const struct site *s, struct block_live *bl);
void block_live_free(struct block_live *bl);

/* The steps: add each ipsec peer's missing policies, delete the stale ones. */
void block_plan(struct plan *plan, const struct site *s, const struct live *live);
/* Apply the plan's block steps (before any tunnel changes). 0, or -errno
 * after reporting the failed step (the caller rolls back). */
int block_apply(struct apply *a);
int block_undo(struct apply *a, struct step *st);

/* `down`: a step per block policy of SITE in the kernel (plan_down). 0, or
 * -errno when they cannot be read (said on ERR). */
int block_plan_down(const char *site, struct plan *plan, FILE *err);
/* Delete PLAN's block policies, each printed on OUT (failures on ERR). 0 or
 * -errno (the first failure); *CHANGES counts the deletions. */
int block_remove(const struct plan *plan, FILE *out, FILE *err, int *changes);

#endif
