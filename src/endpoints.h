/* endpoints.h - the parts of a site file known only at run time, filled in
 * before planning: peers' endpoints given as DNS names (resolved with
 * resolve.h), `wan_address = auto` (the WAN interface's primary IPv4 address
 * and prefix) and `gateway = auto` (its default route's gateway), read from
 * the kernel. Everything downstream (model, nftables sets, IPsec, status)
 * then reads peer->endpoint, site->wan_address and site->gateway as usual. */
#ifndef GATEWAYCTL_ENDPOINTS_H
#define GATEWAYCTL_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct nl;
struct addr_info;
struct route_info;
struct resolved;
struct state;

enum ep_dns {
	EP_DNS_RESOLVE,		/* resolve every name now (plan, up) */
	EP_DNS_RECORDED,	/* a name's address recorded by the last up (status);
				 * resolved only when there is none */
};

/* Whether the site has anything to fill (a name or an auto). */
bool endpoints_dynamic(const struct site *s);

/*
 * Fill SITE's run-time fields: every name resolved (all at once, each within
 * RESOLVE_TIMEOUT_MS) unless its item has addresses already (a watcher's),
 * auto read from the kernel through RT (NULL: a socket of its own). A peer
 * keeps the address its last up recorded (with site->endpoints_chosen: the
 * one in p->endpoint) while that is still among its choices, else takes the
 * first. 0, or -1 with every problem on ERR
 * as "FILE:LINE: error: ..." (a name that does not resolve, or resolves to
 * this gateway's address or into the LAN or a peer's networks; no address on
 * the WAN) and SITE unchanged; or ENDPOINTS_NO_GATEWAY when the only problem
 * is `gateway = auto` with no default route on the WAN (its one error line
 * on ERR): SITE is then filled as if the file named no gateway (status judges
 * the rest; up and the watcher stop as on any error).
 */
#define ENDPOINTS_NO_GATEWAY (-2)
int endpoints_fill(struct site *site, struct nl *rt, enum ep_dns how, FILE *err);

/* Whether S's `wan_address = auto` or `gateway = auto` cannot be read from
 * the kernel now (no address, no default route on the WAN): the watcher then
 * repairs as soon as one appears, not at its next retry. */
bool endpoints_auto_missing(const struct site *s);

/* The WAN's primary address (the first that is not secondary) and its default
 * route's gateway, from dumps of WAN_IFINDEX's addresses and of the main
 * table. 0, or -ENOENT with WHY saying which is missing (ADDR or GW NULL: not
 * wanted). */
int endpoints_wan_auto(int wan_ifindex, const struct addr_info *a, size_t na, const struct route_info *r,
		       size_t nr, struct net4 *addr, uint32_t *gw, char *why, size_t len);

/* Whether ADDR may not be peer P's endpoint: not unicast, this gateway's own
 * address, inside the LAN or a peer's networks. WHY says so. */
bool endpoints_refused(const struct site *s, const struct peer *p, uint32_t addr, char *why, size_t len);

/* The same for an IPv6 ADDR (a peer with endpoint_v6): not unicast, this
 * gateway's own IPv6 WAN or LAN address, inside the IPv6 LAN or a peer's IPv6 networks. */
bool endpoints_refused6(const struct site *s, const struct peer *p, const uint8_t addr[16], char *why,
			size_t len);

/* Name item E of peer P resolved as RES (A, or AAAA into addrs6): keep its addresses and TTL. 0, or -1
 * with WHY (the name does not resolve, or an address is refused): P unchanged. */
int endpoints_take(const struct site *s, struct peer *p, size_t e, const struct resolved *res, char *why,
		   size_t len);

/* P's endpoint among its choices (the items in order, a name's addresses in the
 * DNS's order): KEEP when it is one of them, else the first. */
uint32_t endpoints_choose(const struct peer *p, uint32_t keep);
/* The same for a peer with endpoint_v6, into OUT (KEEP NULL or ::: none);
 * false (OUT ::) when it has no address yet. */
bool endpoints_choose6(const struct peer *p, const uint8_t keep[16], uint8_t out[16]);

/* Whether P has an endpoint address in use (endpoint, or endpoint6 with endpoint_v6). */
bool endpoints_in_use(const struct peer *p);
/* Whether that address is where IKE found P instead of the file's choice
 * (endpoint_ike, or endpoint_ike6 with endpoint_v6). */
bool endpoints_from_ike(const struct peer *p);

/* Record in ST the address in use of every peer with a name or a list. */
void endpoints_record(const struct site *s, struct state *st);

/* The named item P's endpoint address came from; with no address yet, its
 * first name; NULL when the address was written as one (or there is no name). */
const struct endpoint_item *endpoints_named(const struct peer *p);

/* "brooklyn.example.net (172.17.2.10, TTL 60 s)", or the address alone */
const char *endpoints_describe(const struct peer *p, char *buf, size_t len);

#endif
