/* rtnl6.c - IPv6 addresses, routes and forwarding (rtnl6.h), built on the
 * shared batch and parsers (rtnl_batch.c). */
#include "rtnl6.h"
#include "rtnl_priv.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static bool any6(const struct in6_addr *a)
{
	static const struct in6_addr zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

static void get_in6(const struct nlattr *a, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a && mnl_attr_get_payload_len(a) >= sizeof(*out))
		memcpy(out, mnl_attr_get_payload(a), sizeof(*out));
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

static void addr6_msg(struct rtnl_batch *b, uint16_t type, uint16_t flags, int ifindex,
		      const struct in6_addr *local, uint8_t prefixlen, uint32_t ifa_flags)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!rt_op_begin(b))
		return;
	if (prefixlen > 128) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "invalid prefix length");
		return;
	}
	if (!(nlh = rt_msg_begin(b, type, flags, -1)))
		return;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*local), local);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*local), local);
	if (ifa_flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, ifa_flags);
	rt_msg_end(b, nlh);
}

void rtnl_add_addr6(struct rtnl_batch *b, int ifindex, const struct in6_addr *local, uint8_t prefixlen,
		    bool nodad)
{
	addr6_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, local, prefixlen,
		  nodad ? IFA_F_NODAD : 0);
}

void rtnl_del_addr6(struct rtnl_batch *b, int ifindex, const struct in6_addr *local, uint8_t prefixlen)
{
	addr6_msg(b, RTM_DELADDR, 0, ifindex, local, prefixlen, 0);
}

static void route6_msg(struct rtnl_batch *b, uint16_t type, uint16_t flags, const struct route6_info *r,
		       bool add)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t table = r->table ? r->table : RT_TABLE_MAIN;

	if (!rt_op_begin(b))
		return;
	if (r->dst_len > 128) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "invalid prefix length");
		return;
	}
	if (!(nlh = rt_msg_begin(b, type, flags, -1)))
		return;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;	/* IPv6 routes have no other */
	rtm->rtm_type = add ? RTN_UNICAST : r->type;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (r->dst_len)
		mnl_attr_put(nlh, RTA_DST, sizeof(r->dst), &r->dst);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (!any6(&r->gateway))
		mnl_attr_put(nlh, RTA_GATEWAY, sizeof(r->gateway), &r->gateway);
	if (!any6(&r->prefsrc))
		mnl_attr_put(nlh, RTA_PREFSRC, sizeof(r->prefsrc), &r->prefsrc);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	rt_msg_end(b, nlh);
}

void rtnl_add_route6(struct rtnl_batch *b, const struct route6_info *r)
{
	route6_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, true);
}

void rtnl_del_route6(struct rtnl_batch *b, const struct route6_info *r)
{
	route6_msg(b, RTM_DELROUTE, 0, r, false);
}

/* ------------------------------------------------------------------------ */
/* Dumps                                                                    */

bool rtnl_parse_addr6(const struct nlmsghdr *nlh, int ifindex, struct addr6_info *ai)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;

	memset(ai, 0, sizeof(*ai));
	if (!(ifa = rt_addr_head(nlh, AF_INET6, ifindex, tb)))
		return false;
	ai->ifindex = (int)ifa->ifa_index;
	ai->prefixlen = ifa->ifa_prefixlen;
	ai->scope = ifa->ifa_scope;
	get_in6(tb[IFA_ADDRESS], &ai->peer);
	if (tb[IFA_LOCAL])
		get_in6(tb[IFA_LOCAL], &ai->local);
	else
		ai->local = ai->peer;
	ai->flags = rt_get_u32(tb[IFA_FLAGS], ifa->ifa_flags);
	return true;
}

static bool addr6_parser(const struct nlmsghdr *nlh, int ifindex, void *out)
{
	return rtnl_parse_addr6(nlh, ifindex, out);
}

int rtnl_addrs6(struct nl *nl, int ifindex, struct addr6_info **out, size_t *n)
{
	return rt_dump_addrs(nl, AF_INET6, ifindex, sizeof(**out), addr6_parser, (void **)out, n);
}

bool rtnl_parse_route6(const struct nlmsghdr *nlh, struct route6_info *ri)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t table;

	memset(ri, 0, sizeof(*ri));
	if (!(rtm = rt_route_head(nlh, AF_INET6, tb, &table)))
		return false;
	if (rtm->rtm_dst_len > 128)
		return false;
	get_in6(tb[RTA_DST], &ri->dst);
	ri->dst_len = rtm->rtm_dst_len;
	ri->protocol = rtm->rtm_protocol;
	ri->type = rtm->rtm_type;
	ri->table = table;
	ri->metric = rt_get_u32(tb[RTA_PRIORITY], 0);
	ri->oif = (int)rt_get_u32(tb[RTA_OIF], 0);
	get_in6(tb[RTA_GATEWAY], &ri->gateway);
	get_in6(tb[RTA_PREFSRC], &ri->prefsrc);
	return true;
}

static bool route6_parser(const struct nlmsghdr *nlh, int ifindex, void *out)
{
	(void)ifindex;
	return rtnl_parse_route6(nlh, out);
}

int rtnl_routes6(struct nl *nl, struct route6_info **out, size_t *n)
{
	return rt_dump_routes(nl, AF_INET6, sizeof(**out), route6_parser, (void **)out, n);
}

/* ------------------------------------------------------------------------ */
/* Forwarding                                                               */

/* /proc/sys/net/ipv6/conf/IFNAME/KEY, IFNAME checked (no path tricks) */
static int conf_path(const char *ifname, const char *key, char *path, size_t len)
{
	if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') ||
	    strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return -EINVAL;
	snprintf(path, len, "/proc/sys/net/ipv6/conf/%s/%s", ifname, key);
	return 0;
}

static int conf_read(const char *ifname, const char *key, uint32_t *value)
{
	char path[96];
	int r = conf_path(ifname, key, path, sizeof(path));

	return r < 0 ? r : sysctl_read_u32(path, value);
}

static int conf_write(const char *ifname, const char *key, uint32_t value)
{
	char path[96];
	int r = conf_path(ifname, key, path, sizeof(path));

	return r < 0 ? r : sysctl_write_u32(path, value);
}

int rtnl_ipv6_forwarding(const char *ifname, uint32_t *value)
{
	return conf_read(ifname, "forwarding", value);
}

int rtnl_set_ipv6_forwarding(const char *ifname, uint32_t value)
{
	return conf_write(ifname, "forwarding", value);
}

int rtnl_ipv6_accept_ra(const char *ifname, uint32_t *value)
{
	return conf_read(ifname, "accept_ra", value);
}

int rtnl_set_ipv6_accept_ra(const char *ifname, uint32_t value)
{
	return conf_write(ifname, "accept_ra", value);
}
