/* ipsecmove.h - the "ike" source of `gatewayctl watch`: encrypted peers that
 * move without DNS. charon follows a peer that changes its address inside the
 * authenticated IKE_SA (MOBIKE, RFC 4555) and says so on its VICI socket
 * (`ike-update`: the SA's new addresses; `ike-updown`: an SA established).
 * The watcher subscribes to those events; when one says that the IKE_SA of
 * one of the site's own connections (gatewayctl-SITE_PEER), established,
 * with the peer's identity, now talks to another address, the peer's endpoint
 * moves there through the engine like a DNS move: the tunnel's remote, the
 * nftables peer sets, the xfrm block policies and the IKE connection, all or
 * nothing.
 *
 * An IPv6 peer (an ip6tnl over the IPv6 WAN) moves the same way, to an IPv6
 * address only: charon reporting a peer at an address of the other family
 * moves nothing (said once).
 *
 * The address is recorded in the site's state (an endpoint line with `ike
 * BASE`, IPv4 or IPv6: BASE is the file's choice it stands for) by the loop's prepare hook,
 * under the site's lock; every later up, plan, status and repair keeps it
 * while the file still chooses BASE (endpoints_fill). An event for any other
 * connection, an SA not established, another identity, an address that is
 * ours or inside the LAN or a peer's networks, or another peer's endpoint
 * moves nothing. Without charon (not running yet, restarted) the source
 * retries every IKEMOVE_RETRY_MS, said once, and lists the SAs when it
 * connects (moves made while it was away). */
#ifndef GATEWAYCTL_IPSECMOVE_H
#define GATEWAYCTL_IPSECMOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "vici.h"

#define IKEMOVE_RETRY_MS 10000

struct state;
struct watch;
struct wl;

/* One encrypted peer of the site as last applied */
struct ike_peer {
	char name[SITE_NAME_MAX + 1];
	char conn[VICI_NAME_MAX + 1];	/* its connection: gatewayctl-SITE_PEER */
	uint32_t endpoint;		/* the address in use */
	bool v6;			/* an IPv6 endpoint: endpoint6 (endpoint 0) */
	uint8_t endpoint6[16];
};

/* Whether event E says that one of PEERS moved: its index, and the new
 * address in *ADDR (an IPv4 peer's) or ADDR6 (an IPv6 peer's: the address
 * stays of the peer's family); -1 when it moves nothing (WHY says why when it
 * is one of our connections, "" otherwise). */
int ikemove_judge(const struct ike_peer *peers, size_t n, const struct vici_ike_event *e, uint32_t *addr,
		  uint8_t addr6[16], char *why, size_t len);

/* Record in ST that IKE found peer P at ADDR: its endpoint line gets ADDR and
 * the file's choice it stands for (kept from an earlier move; else the
 * address the line had, or P's endpoint). ADDR equal to that choice: the
 * peer is back, the line loses its `ike`. */
void ikemove_record(struct state *st, const struct peer *p, uint32_t addr);
/* The same for a peer with endpoint_v6, found at ADDR6 */
void ikemove_record6(struct state *st, const struct peer *p, const uint8_t addr6[16]);

/* Register the "ike" source on watcher W's LOOP. 0 or -errno. */
int ikemove_source_add(const struct watch *w, struct wl *loop);

#endif
