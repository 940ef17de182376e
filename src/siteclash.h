/* siteclash.h - two sites on one gateway with the same WAN address would drop
 * each other's IKE, ESP and IPIP (each site's nftables table accepts only its
 * own peers on that address): `up` refuses the second one. */
#ifndef GATEWAYCTL_SITECLASH_H
#define GATEWAYCTL_SITECLASH_H

#include <stdio.h>

#include "config.h"

/* Every other site up on this gateway (a state file naming its site file)
 * whose file has S's wan_address: one "FILE:LINE: error: ..." each on ERR,
 * naming both files. The number of such sites. */
int siteclash_check(const struct site *s, FILE *err);

#endif
