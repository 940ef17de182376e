/* preflight.h - what must hold on this gateway before `up` changes anything:
 * the interfaces exist (and, without manage_interfaces, are up and carry their
 * addresses), charon answers when a peer is encrypted, no foreign link or route
 * is in the way. `up` refuses when a check fails; `plan` and `status` run the
 * same checks so that they say what `up` would say. */
#ifndef GATEWAYCTL_PREFLIGHT_H
#define GATEWAYCTL_PREFLIGHT_H

#include <stdio.h>

#include "config.h"

struct live;

/* Every problem as "FILE:LINE: error: ..." (with a fix) on ERR; the number of
 * problems, 0 when `up` may go ahead. */
int preflight(const struct site *s, const struct live *live, FILE *err);

/* preflight6.c: whether a peer of S has an IPv6 endpoint (a tunnel over the
 * IPv6 WAN); then each such endpoint is routed out of the WAN (a lookup in the
 * main table, ignoring routes into tunnels: up deletes a bogus host route)
 * and, when the file gives an IPv6 gateway, the WAN's IPv6 default route goes
 * through it. The number of problems, each said on ERR. */
bool preflight6_over_ipv6(const struct site *s);
int preflight6_routes(const struct site *s, const struct live *live, FILE *err);

#endif
