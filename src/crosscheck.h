/* crosscheck.h - several site files checked as one network (gatewayctl check A B ...) */
#ifndef GATEWAYCTL_CROSSCHECK_H
#define GATEWAYCTL_CROSSCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

struct crosscheck_result {
	size_t errors, warnings;
};

/*
 * Check N valid, loaded sites as one network: for every peer that names a site
 * of the set, the two files must agree (endpoint = the other's wan_address,
 * networks = the other's LAN or what it routes on to its other peers, peer
 * lan_address = the other's, both name each other, encryption and key, relay
 * ports). Errors and warnings go to ERR as "FILE:LINE: error: ..." (naming the
 * other file and line), sorted by file (in the order given) and line.
 * INCOMPLETE: some files of the set could not be loaded, so a peer missing from
 * the set is not worth a warning of its own.
 */
struct crosscheck_result crosscheck(const struct site *sites, size_t n, bool incomplete, FILE *err);

#endif
