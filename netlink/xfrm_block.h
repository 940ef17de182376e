/* xfrm_block.h - gatewayctl's own xfrm BLOCK policies (NETLINK_XFRM): for
 * each `encryption = ipsec` peer, the IP protocols of its tunnel (4, and 41
 * for a sit or ip6tnl) between our WAN address and the peer's endpoint, of
 * either family, are blocked, in and out, by policies that neither charon nor
 * nftables owns. Charon's transport-mode policies for the same traffic take
 * precedence (a lower priority number), so with an SA the tunnel works; without
 * charon, without its policies, with the nftables ruleset flushed, the
 * kernel drops the IPIP packets instead of sending or accepting them in clear.
 *
 * The kernel treats two policies with the same selector, direction and mark as
 * one (a second NEWPOLICY fails, an UPDPOLICY replaces it). Charon's policies
 * carry no mark, so ours carry XFRM_BLOCK_MARK in their mask: one policy for
 * packets without that mark bit (value 0) and one for those with it (value
 * XFRM_BLOCK_MARK); together they match every packet, and neither can be
 * mistaken for charon's nor replaced by it. */
#ifndef GATEWAYCTL_XFRM_BLOCK_H
#define GATEWAYCTL_XFRM_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nlsock.h"

#define XFRM_BLOCK_MARK 0x800000u
/* Priorities of gatewayctl's block policies: XFRM_BLOCK_PRIO_BASE plus 16
 * bits of the site (far behind charon's, which stay below 0x10000). */
#define XFRM_BLOCK_PRIO_BASE 0x7fff0000u

/* One policy, as gatewayctl writes or reads it. */
struct xfrm_pol {
	uint8_t family;		/* the selector's: AF_INET or AF_INET6 */
	uint32_t src, dst;	/* AF_INET: selector, host byte order */
	uint8_t src6[16], dst6[16];	/* AF_INET6: selector */
	uint8_t src_len, dst_len;
	uint8_t proto;		/* selector's IP protocol (IPv6: next header), 0 any */
	uint8_t dir;		/* XFRM_POLICY_IN, _OUT, _FWD */
	uint8_t action;		/* XFRM_POLICY_ALLOW, _BLOCK */
	uint8_t type;		/* XFRM_POLICY_TYPE_MAIN, _SUB */
	uint32_t priority;
	uint32_t index;		/* the kernel's, 0 when unknown */
	uint32_t mark_v, mark_m;
	uint32_t if_id;
	int ifindex;		/* selector's device, 0 any */
	size_t n_tmpl;		/* transforms it asks for */
};

/* The block policy of IP protocol PROTO (4 or 41), DIR (XFRM_POLICY_IN or
 * _OUT) with mark value MARK_V (0 or XFRM_BLOCK_MARK) between LOCAL and REMOTE
 * at PRIORITY: IPv4 addresses (host byte order), or IPv6 ones (_pol6). */
void xfrm_block_pol(struct xfrm_pol *p, uint32_t local, uint32_t remote, uint8_t proto, uint8_t dir,
		    uint32_t mark_v, uint32_t priority);
void xfrm_block_pol6(struct xfrm_pol *p, const uint8_t local[16], const uint8_t remote[16], uint8_t proto,
		     uint8_t dir, uint32_t mark_v, uint32_t priority);
/* Whether P is exactly such a policy, of either family, of any priority
 * (*PRIORITY gets it). */
bool xfrm_block_shape(const struct xfrm_pol *p, uint32_t *priority);
/* Same selector, direction, mark and action and priority. */
bool xfrm_pol_same(const struct xfrm_pol *a, const struct xfrm_pol *b);

/* The messages, built into BUF (at least MNL_SOCKET_BUFFER_SIZE bytes):
 * XFRM_MSG_NEWPOLICY (exclusive) for P; XFRM_MSG_DELPOLICY of P by its index
 * when it has one, else by selector, direction and mark. The header's length
 * tells the size. */
struct nlmsghdr *xfrm_pol_new_msg(void *buf, uint32_t seq, const struct xfrm_pol *p);
struct nlmsghdr *xfrm_pol_del_msg(void *buf, uint32_t seq, const struct xfrm_pol *p);
/* Parse one XFRM_MSG_NEWPOLICY message (a dump's answer): 1 a policy of
 * family AF_INET or AF_INET6, 0 another family or a message too short or
 * malformed (skip it). Reads
 * nothing outside the message's length. */
struct nlmsghdr;
int xfrm_pol_parse(const struct nlmsghdr *nlh, struct xfrm_pol *p);

/* Every IPv4 and IPv6 policy of the kernel (*V malloc'd). 0 or -errno. */
int xfrm_pols(struct nl *nl, struct xfrm_pol **v, size_t *n);
/* Add P (exclusive: -EEXIST when a policy with its selector, direction and
 * mark exists). 0 or -errno. */
int xfrm_pol_add(struct nl *nl, const struct xfrm_pol *p);
/* Delete P (by index when known). 0, -ENOENT when gone, or -errno. */
int xfrm_pol_del(struct nl *nl, const struct xfrm_pol *p);

#endif
