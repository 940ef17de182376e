/* crosscheck_netmap.h - the cross-site check's part for offices numbered alike */
#ifndef GATEWAYCTL_CROSSCHECK_NETMAP_H
#define GATEWAYCTL_CROSSCHECK_NETMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Every network the N sites use (LANs, maps, WAN subnets, peers' networks):
 * a malloc'd array of *N_USED, what free prefixes are chosen outside of. NULL
 * when out of memory. */
struct net4 *xc_netmap_used(const struct site *sites, size_t n, size_t *n_used);

/* Sites A and B name each other: when their LANs overlap and not both have a
 * netmap, true, and the error (naming both files, with free prefixes for the
 * sites that lack a map) in *MSG, malloc'd (NULL: out of memory). */
bool xc_netmap_clash(const struct site *a, const struct site *b, const struct net4 *used, size_t n_used,
		     char **msg);

#endif
