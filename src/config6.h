/* config6.h - the site file's IPv6 (issue 22): the IPv6 item of the keys that
 * take one address per family, IPv6 networks and endpoints, and their relations
 * to the rest of the file. config.c calls these and hears of every problem
 * through REPORT, at its line: config6.c uses nothing of the loader. */
#ifndef GATEWAYCTL_CONFIG6_H
#define GATEWAYCTL_CONFIG6_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef void config6_report_fn(void *ctx, int line, const char *msg);

struct c6 {
	config6_report_fn *report;
	void *ctx;
};

/* `KEY = V` at LINE, one address per family (`192.168.1.126/24,
 * 2001:db8:1::126/64`, in either order): the IPv6 item (one with a `:`) into
 * V6, the other (IPv4, `auto`, or a typo for config.c to report) into V4, LEN
 * bytes each, "" for none. false, reported: an empty item, more than two, two
 * of one family. */
bool c6_split(const struct c6 *c, int line, const char *key, const char *v, char *v4, char *v6, size_t len);

/* The IPv6 item V6 of `KEY` (lan_address, wan_address): a unicast host address
 * and its prefix length (1 to 127), into OUT. false (OUT zeroed), reported. */
bool c6_host_prefix(const struct c6 *c, int line, const char *key, const char *v6, struct net6 *out);

/* `gateway`'s IPv6 item V6 into S->gateway6: link-local (the usual router
 * advertisement's), or a host of S's IPv6 WAN subnet, which it needs (WAN6:
 * `wan_address` has an IPv6 item, valid or not). */
void c6_gateway(const struct c6 *c, int line, const char *v6, bool wan6, struct site *s);

/* IPv6 item IT of peer P's `networks` at LINE, appended to P->networks6 (which
 * has room) when valid: no host bits, at most a /16, nothing link-local,
 * multicast or reserved, no overlap with one listed before it. */
void c6_network(const struct c6 *c, int line, const char *it, struct peer *p);

/* IPv6 item IT of `endpoint` at LINE into E (addr6, ipv6 set); false, reported. */
bool c6_endpoint_item(const struct c6 *c, int line, const char *it, struct endpoint_item *e);

/* Once P's endpoint items are read (`endpoint = V`): one family for all of them
 * (NAMES6: the WAN is IPv6 only, a name is looked up as IPv6), no repeated
 * IPv6 item; endpoint_v6 and endpoint6 from the first (:: for a name). */
void c6_endpoint_family(const struct c6 *c, const char *v, bool names6, struct peer *p);

/* The IPv6 item V6 of peer P's `lan_address` at LINE, inside P's IPv6 networks
 * (NETS6: `networks` has IPv6 items, valid or not: none valid is said there). */
void c6_peer_lan_address(const struct c6 *c, int line, const char *v6, bool nets6, struct peer *p);

/* The relations across the file: each peer's endpoint family has a
 * wan_address of its family (WAN4 / WAN6: an item of that family was written,
 * valid or not); peers' IPv6 networks need an IPv6 LAN address (LAN6: one was
 * written, valid or not); the IPv6 WAN against the IPv6 LAN; peers' IPv6 networks
 * against the IPv6 LAN, WAN and each other; IPv6 endpoints against those and
 * against each other. */
void c6_check(const struct c6 *c, const struct site *s, bool wan4, bool wan6, bool lan6);

#endif
