/* crosscheck6.h - the cross-site check's IPv6 half (issue 22): what two site
 * files must agree on in IPv6, and IPv4 endpoints of sites whose WAN is IPv6
 * only. crosscheck.c calls these; they report through REPORT (no use back). */
#ifndef GATEWAYCTL_CROSSCHECK6_H
#define GATEWAYCTL_CROSSCHECK6_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* a diagnostic at LINE of the FILE'th site, an error or a WARNING */
typedef void xc6_report_fn(void *ctx, size_t file, int line, bool warning, const char *msg);

struct xc6 {
	const struct site *sites;
	size_t n;
	xc6_report_fn *report;
	void *ctx;
};

/* Every IPv6 wan_address of the set belongs to one site. */
void xc6_unique(const struct xc6 *x);

/* Site IA's peer P reaches site IB at its endpoint: true when that is this
 * file's to check (an IPv6 endpoint, which must be IB's IPv6 wan_address; or
 * an IPv4 one while IB's WAN is IPv6 only), false for crosscheck.c's IPv4. */
bool xc6_endpoint(const struct xc6 *x, size_t ia, const struct peer *p, size_t ib);

/* IA's view of IB in IPv6: P's IPv6 lan_address is IB's, P's IPv6 networks lie
 * inside IB's IPv6 LAN or what IB routes on to another peer, and include IB's
 * IPv6 LAN when IA has an IPv6 LAN too. */
void xc6_direction(const struct xc6 *x, size_t ia, const struct peer *p, size_t ib);

#endif
