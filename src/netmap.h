/* netmap.h - `[site] netmap`: the prefix this LAN appears under to its peers
 *
 * Two offices numbered alike (both 192.168.1.0/24) are joined by mapping each
 * LAN host for host onto a prefix of the same length: traffic from our LAN into
 * a tunnel leaves with its source mapped (192.168.1.5 -> 10.1.1.5), traffic out
 * of a tunnel to the map comes in with its destination mapped back. A peer's
 * `networks` then name the peer's map, its `lan_address` the mapped address of
 * the peer gateway. The nftables rules: netlink/nft_netmap.c.
 */
#ifndef GATEWAYCTL_NETMAP_H
#define GATEWAYCTL_NETMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* `netmap = V`: a network written as its first address and prefix length,
 * like 10.1.1.0/24. 0, or -1 with the reason (without the key) in WHY. */
int netmap_parse(const char *v, struct net4 *out, char *why, size_t len);

/* What config.c reports: one error at LINE of the site file. */
typedef void netmap_report_fn(void *ctx, int line, const char *msg);

/* The map against the rest of the file: the LAN's prefix length, and overlapping
 * neither the LAN, nor the WAN subnet, nor a peer's networks. LAN_OK/WAN_OK: those
 * addresses were valid. Each problem is REPORTed at the netmap's line. */
void netmap_check(const struct site *s, bool lan_ok, bool wan_ok, netmap_report_fn *report, void *ctx);

/* The LAN's network (lan_address masked), and what the peers see of it: the
 * netmap when there is one, else the LAN itself. */
struct net4 netmap_lan(const struct site *s);
struct net4 netmap_seen(const struct site *s);

/* ADDR of our LAN as the peers see it (unchanged without a map, or outside the LAN). */
uint32_t netmap_out(const struct site *s, uint32_t addr);

/* Free prefixes of length LEN (inside 10.0.0.0/8, then 172.16.0.0/12) that overlap
 * none of USED[0..N): up to MAX of them into OUT, the count. */
size_t netmap_free(const struct net4 *used, size_t n, uint8_t len, struct net4 *out, size_t max);

#endif
