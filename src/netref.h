/* netref.h - every network of every peer of a site, sorted by address then
 * length, so that the overlaps between peers (and an endpoint inside a peer's
 * network) are found by binary search: a site with thousands of peers is
 * checked in O(n log n). IPv4 (config.c) and IPv6 (config6.c). */
#ifndef GATEWAYCTL_NETREF_H
#define GATEWAYCTL_NETREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct net_ref {
	struct net4 net;
	uint32_t peer, k;	/* peers[peer].networks[k] */
};

/* for qsort: by address, length, peer, position */
int net_ref_cmp(const void *a, const void *b);

/* The references of V (sorted by net_ref_cmp) that contain ADDR (as a host)
 * or, with OF, that overlap the network OF, into OUT (sorted by peer, then by
 * position in the peer's list, as the messages come in that order). Returns
 * the count. */
size_t net_matches(const struct net_ref *v, size_t n, struct net4 of, bool host,
		   const struct net_ref **out, size_t cap);

/* The same for the IPv6 networks (peers[peer].networks6[k]) */
struct ref6 {
	struct net6 net;
	uint32_t peer, k;
};

struct nets6 {
	struct ref6 *v;
	size_t n;
	bool lens[129];		/* the prefix lengths present */
	const struct ref6 **found;	/* what nets6_matches found (room for n) */
};

/* S's IPv6 networks, sorted (exits when out of memory, as the loader does) */
void nets6_build(struct nets6 *s, const struct site *site);
void nets6_free(struct nets6 *n);

/* The networks that overlap OF (HOST: that contain the address OF.addr) into
 * N->found, sorted by peer then position; their count. */
size_t nets6_matches(struct nets6 *n, struct net6 of, bool host);

#endif
