/* rtnl6.h - IPv6 addresses, routes and forwarding over rtnetlink (libmnl),
 * beside rtnl.h's IPv4 ones: the same batch (rtnl_flush), the same rules.
 * Addresses are struct in6_addr (network byte order). */
#ifndef GATEWAYCTL_RTNL6_H
#define GATEWAYCTL_RTNL6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "rtnl.h"

struct addr6_info {
	int ifindex;
	struct in6_addr local;	/* IFA_LOCAL, else IFA_ADDRESS */
	struct in6_addr peer;	/* IFA_ADDRESS */
	uint8_t prefixlen;
	uint8_t scope;		/* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK (fe80::/10), RT_SCOPE_HOST */
	uint32_t flags;		/* IFA_F_* (IFA_F_TENTATIVE, IFA_F_NODAD, IFA_F_PERMANENT...) */
};

struct route6_info {
	struct in6_addr dst;
	uint8_t dst_len;
	uint8_t protocol, type;
	uint32_t table;
	uint32_t metric;	/* RTA_PRIORITY; adding: 0 = the kernel's 1024; deleting: 0 = any */
	int oif;		/* 0 if none */
	struct in6_addr gateway;	/* :: if none */
	struct in6_addr prefsrc;	/* :: if none */
};

/* NLM_F_CREATE|NLM_F_EXCL. NODAD: IFA_F_NODAD, the address usable at once
 * (no duplicate address detection, never tentative: a route may name it as
 * its src right away). */
void rtnl_add_addr6(struct rtnl_batch *b, int ifindex, const struct in6_addr *local, uint8_t prefixlen,
		    bool nodad);
void rtnl_del_addr6(struct rtnl_batch *b, int ifindex, const struct in6_addr *local, uint8_t prefixlen);
/* CREATE|EXCL; table r->table, 0 = main; protocol as given; type unicast;
 * RTA_DST only when dst_len > 0; RTA_OIF, RTA_GATEWAY, RTA_PREFSRC,
 * RTA_PRIORITY when non-zero. The kernel refuses a prefsrc that is not one
 * of the host's usable addresses (tentative ones included: add them NODAD). */
void rtnl_add_route6(struct rtnl_batch *b, const struct route6_info *r);
/* Deletes the route of table (0 = main) matching dst/dst_len and every other
 * non-zero field (protocol, oif, gateway, metric); RTPROT_GATEWAYCTL deletes
 * only gatewayctl's route (-ESRCH otherwise). */
void rtnl_del_route6(struct rtnl_batch *b, const struct route6_info *r);

/* Dumps; 0 or -errno; results malloc'd (NULL when none), caller frees.
 * IPv6 addresses of IFINDEX (0 = all); a non-existent IFINDEX: -ENODEV. */
int rtnl_addrs6(struct nl *nl, int ifindex, struct addr6_info **out, size_t *n);
/* IPv6, table main, every protocol and type, no cached clones. */
int rtnl_routes6(struct nl *nl, struct route6_info **out, size_t *n);

/* The parsers of those dumps' answers (and of the notifications, monitor.c),
 * one message at a time, as rtnl_parse_addr / _route: an IPv6 RTM_NEWADDR of
 * IFINDEX (0 = any), an IPv6 RTM_NEWROUTE of table main, not a clone. */
bool rtnl_parse_addr6(const struct nlmsghdr *nlh, int ifindex, struct addr6_info *out);
bool rtnl_parse_route6(const struct nlmsghdr *nlh, struct route6_info *out);

/* net.ipv6.conf.IFNAME.forwarding ("all", "default" or a link's name),
 * through /proc/sys (the kernel takes no IPv6 setting in RTM_SETLINK:
 * inet6_set_link_af knows only the token and the address generation mode).
 * Writing "all" sets every link's, as the sysctl does; forwarding on a
 * link also turns the acceptance of router advertisements off there unless
 * its accept_ra is 2. 0 or -errno (-EINVAL for a bad name, -ENOENT for a link
 * without IPv6). */
int rtnl_ipv6_forwarding(const char *ifname, uint32_t *value);
int rtnl_set_ipv6_forwarding(const char *ifname, uint32_t value);
/* net.ipv6.conf.IFNAME.accept_ra the same way: 0 never, 1 unless the link
 * forwards, 2 even when it forwards. */
int rtnl_ipv6_accept_ra(const char *ifname, uint32_t *value);
int rtnl_set_ipv6_accept_ra(const char *ifname, uint32_t value);

#endif
