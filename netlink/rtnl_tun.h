/* rtnl_tun.h - the tunnels that carry both families: sit and ip6tnl in mode
 * any (IFLA_IPTUN_PROTO 0).
 *
 *   sit     over an IPv4 underlay: IPv6 in IPv4 (protocol 41) and IPv4 in
 *           IPv4 (protocol 4) through one link (`ip link add NAME type sit
 *           mode any local L remote R ttl T`); 20 bytes of outer header, MTU
 *           1480 on a 1500 path.
 *   ip6tnl  over an IPv6 underlay: IPv4 and IPv6 in IPv6 (next header 4 and
 *           41; `ip link add NAME type ip6tnl mode any local L remote R
 *           hoplimit H encaplimit none`). Always created with
 *           IP6_TNL_F_IGN_ENCAP_LIMIT: no tunnel encapsulation limit option
 *           (a destination options header of 8 bytes, which the kernel adds by
 *           default, even with a limit of 0, and takes from the MTU: 1452),
 *           so the outer header is the 40 bytes of IPv6 alone: MTU 1460, and
 *           the packets are what `encaplimit none` sends. A peer that does add
 *           the option is still received (the kernel parses it on input).
 *
 * Built in the same batch as everything else (rtnl.h); read back by
 * rtnl_parse_link (struct link_info's tunnel fields). */
#ifndef GATEWAYCTL_RTNL_TUN_H
#define GATEWAYCTL_RTNL_TUN_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "rtnl.h"

#define TUN_MTU_SIT 1480	/* 1500 - 20 */
#define TUN_MTU_IP6TNL 1460	/* 1500 - 40, no encapsulation limit option */

struct tun_spec {
	const char *name;
	const char *alias;		/* RTNL_ALIAS_PREFIX "site/peer" */
	bool v6;			/* false: sit over IPv4; true: ip6tnl over IPv6 */
	uint32_t local, remote;		/* sit: host byte order, 0 = any */
	struct in6_addr local6, remote6;	/* ip6tnl, :: = any */
	uint8_t ttl;			/* sit: TTL, non-zero forces DF; ip6tnl: hop limit */
	bool pmtudisc;			/* sit only */
	unsigned mtu;			/* 0: the kernel's default */
	uint32_t group;			/* link group set at creation, 0: default */
};

/* As rtnl_add_ipip (CREATE|EXCL, left down, the alias a second message sent
 * once the creation was acked, both one request): a sit or ip6tnl link in
 * mode any. */
void rtnl_add_tun(struct rtnl_batch *b, const struct tun_spec *spec);
/* As rtnl_change_ipip: endpoints, ttl, pmtudisc (sit), mtu (if non-zero),
 * alias (if non-NULL), mode any, and up/down; spec->name is unused. The kind
 * of a link cannot change: a sit link given spec->v6 fails (-EOPNOTSUPP or
 * -EINVAL from the kernel). */
void rtnl_change_tun(struct rtnl_batch *b, int ifindex, const struct tun_spec *spec, bool up);

/* Whether LI is a link as SPEC makes it (kind, mode any, endpoints, ttl,
 * pmtudisc, encapsulation limit), mtu and alias aside. */
bool rtnl_tun_matches(const struct link_info *li, const struct tun_spec *spec);

#endif
