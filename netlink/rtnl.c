/* rtnl.c - links, addresses, routes and IPv4 settings over rtnetlink (libmnl) */
#include "rtnl.h"
#include "rtnl_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* IFLA_LINKINFO of an ipip link: kind and parameters */
static void put_ipip_info(struct nlmsghdr *nlh, const struct ipip_spec *spec)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO), *data;

	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ipip");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_IPTUN_LOCAL, htonl(spec->local));
	mnl_attr_put_u32(nlh, IFLA_IPTUN_REMOTE, htonl(spec->remote));
	mnl_attr_put_u8(nlh, IFLA_IPTUN_TTL, spec->ttl);
	mnl_attr_put_u8(nlh, IFLA_IPTUN_PMTUDISC, spec->pmtudisc ? 1 : 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

static void put_ipip(struct nlmsghdr *nlh, const void *spec)
{
	put_ipip_info(nlh, spec);
}

void rtnl_add_ipip(struct rtnl_batch *b, const struct ipip_spec *spec)
{
	struct rt_tunnel t = { spec->name, spec->alias, spec->mtu, spec->group, put_ipip, spec };

	rt_add_tunnel(b, &t);
}

void rtnl_change_ipip(struct rtnl_batch *b, int ifindex, const struct ipip_spec *spec, bool up)
{
	struct rt_tunnel t = { NULL, spec->alias, spec->mtu, 0, put_ipip, spec };

	rt_change_tunnel(b, ifindex, &t, up);
}

void rtnl_set_link(struct rtnl_batch *b, int ifindex, bool up, unsigned mtu)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!rt_op_begin(b) || !(nlh = rt_msg_begin(b, RTM_NEWLINK, 0, -1)))
		return;
	ifi = rt_put_ifinfo(nlh, ifindex);
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	rt_msg_end(b, nlh);
}

void rtnl_set_alias(struct rtnl_batch *b, int ifindex, const char *alias)
{
	struct nlmsghdr *nlh;

	if (!rt_op_begin(b) || !rt_check_alias(b, alias) ||
	    !(nlh = rt_msg_begin(b, RTM_NEWLINK, 0, -1)))
		return;
	rt_put_ifinfo(nlh, ifindex);
	rt_put_alias(nlh, alias ? alias : "");
	rt_msg_end(b, nlh);
}

void rtnl_del_link(struct rtnl_batch *b, int ifindex)
{
	struct nlmsghdr *nlh;

	if (!rt_op_begin(b) || !(nlh = rt_msg_begin(b, RTM_DELLINK, 0, -1)))
		return;
	rt_put_ifinfo(nlh, ifindex);
	rt_msg_end(b, nlh);
}

static void addr_msg(struct rtnl_batch *b, uint16_t type, uint16_t flags, int ifindex,
		     uint32_t local, uint8_t prefixlen, uint32_t broadcast)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!rt_op_begin(b))
		return;
	if (prefixlen > 32) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "invalid prefix length");
		return;
	}
	if (!(nlh = rt_msg_begin(b, type, flags, -1)))
		return;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(local));
	mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(local));
	if (broadcast)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(broadcast));
	rt_msg_end(b, nlh);
}

void rtnl_add_addr(struct rtnl_batch *b, int ifindex, uint32_t local, uint8_t prefixlen,
		   uint32_t broadcast)
{
	addr_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, local, prefixlen, broadcast);
}

void rtnl_del_addr(struct rtnl_batch *b, int ifindex, uint32_t local, uint8_t prefixlen)
{
	addr_msg(b, RTM_DELADDR, 0, ifindex, local, prefixlen, 0);
}

static void route_msg(struct rtnl_batch *b, uint16_t type, uint16_t flags,
		      const struct route_info *r, bool add)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t table = r->table ? r->table : RT_TABLE_MAIN;

	if (!rt_op_begin(b))
		return;
	if (r->dst_len > 32) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "invalid prefix length");
		return;
	}
	if (!(nlh = rt_msg_begin(b, type, flags, -1)))
		return;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = r->protocol;
	if (add) {
		rtm->rtm_scope = r->gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
	} else {
		/* Match any scope; type 0 matches any type. */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
		rtm->rtm_type = r->type;
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (r->dst_len)
		mnl_attr_put_u32(nlh, RTA_DST, htonl(r->dst));
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->gateway)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(r->gateway));
	if (r->prefsrc)
		mnl_attr_put_u32(nlh, RTA_PREFSRC, htonl(r->prefsrc));
	rt_msg_end(b, nlh);
}

void rtnl_add_route(struct rtnl_batch *b, const struct route_info *r)
{
	route_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, true);
}

void rtnl_del_route(struct rtnl_batch *b, const struct route_info *r)
{
	route_msg(b, RTM_DELROUTE, 0, r, false);
}

void rtnl_set_inet_conf(struct rtnl_batch *b, int ifindex, int conf, uint32_t value)
{
	struct nlmsghdr *nlh;
	struct nlattr *af, *inet, *cnf;

	if (!rt_op_begin(b))
		return;
	if (conf <= 0 || conf > IPV4_DEVCONF_MAX) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "invalid IPv4 devconf index");
		return;
	}
	if (!(nlh = rt_msg_begin(b, RTM_NEWLINK, 0, -1)))
		return;
	rt_put_ifinfo(nlh, ifindex);
	af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet = mnl_attr_nest_start(nlh, AF_INET);
	cnf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
	mnl_attr_put_u32(nlh, (uint16_t)conf, value);
	mnl_attr_nest_end(nlh, cnf);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, af);
	rt_msg_end(b, nlh);
}


/* ------------------------------------------------------------------------ */
/* Links                                                                    */
/* ------------------------------------------------------------------------ */

/* IPv4 setting CONF (IPV4_DEVCONF_*) of the link in NLH: IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF */
static bool link_inet_conf(const struct nlmsghdr *nlh, int conf, uint32_t *value)
{
	const struct nlattr *tb[IFLA_MAX + 1], *af[AF_MAX + 1], *in[IFLA_INET_MAX + 1];

	rt_parse_attrs(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX);
	if (!tb[IFLA_AF_SPEC])
		return false;
	rt_parse_nested(tb[IFLA_AF_SPEC], af, AF_MAX);
	if (!af[AF_INET])
		return false;
	rt_parse_nested(af[AF_INET], in, IFLA_INET_MAX);
	if (!in[IFLA_INET_CONF] || mnl_attr_get_payload_len(in[IFLA_INET_CONF]) < (size_t)conf * 4)
		return false;
	memcpy(value, (const char *)mnl_attr_get_payload(in[IFLA_INET_CONF]) + (size_t)(conf - 1) * 4, 4);
	return true;
}

static bool is_link_msg(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type == RTM_NEWLINK &&
	       mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifinfomsg);
}

bool rtnl_parse_inet_conf(const struct nlmsghdr *nlh, int conf, uint32_t *value)
{
	return is_link_msg(nlh) && conf > 0 && conf <= IPV4_DEVCONF_MAX &&
	       link_inet_conf(nlh, conf, value);
}

bool rtnl_parse_link(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1];

	memset(li, 0, sizeof(*li));
	if (!is_link_msg(nlh))
		return false;
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	rt_parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX);
	rt_get_str(tb[IFLA_IFNAME], li->name, sizeof(li->name));
	rt_get_str(tb[IFLA_IFALIAS], li->alias, sizeof(li->alias));
	li->mtu = rt_get_u32(tb[IFLA_MTU], 0);
	li->link = (int)rt_get_u32(tb[IFLA_LINK], 0);
	li->group = rt_get_u32(tb[IFLA_GROUP], 0);
	if (!link_inet_conf(nlh, IPV4_DEVCONF_RP_FILTER, &li->rp_filter))
		li->rp_filter = 0;
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *info[IFLA_INFO_MAX + 1];

		rt_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
		rt_get_str(info[IFLA_INFO_KIND], li->kind, sizeof(li->kind));
		if (info[IFLA_INFO_DATA])
			rtnl_parse_tun(li->kind, info[IFLA_INFO_DATA], li);
	}
	if (tb[IFLA_STATS64]) {
		struct rtnl_link_stats64 st;
		size_t len = mnl_attr_get_payload_len(tb[IFLA_STATS64]);

		memset(&st, 0, sizeof(st));
		memcpy(&st, mnl_attr_get_payload(tb[IFLA_STATS64]),
		       len < sizeof(st) ? len : sizeof(st));
		li->rx_packets = st.rx_packets;
		li->tx_packets = st.tx_packets;
		li->rx_bytes = st.rx_bytes;
		li->tx_bytes = st.tx_bytes;
		li->rx_errors = st.rx_errors;
		li->tx_errors = st.tx_errors;
		li->rx_dropped = st.rx_dropped;
		li->tx_dropped = st.tx_dropped;
	}
	return true;
}

static int links_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li;

	if (!is_link_msg(nlh))
		return MNL_CB_OK;
	if (!(li = rt_vec_push(data)))
		return MNL_CB_ERROR;
	rtnl_parse_link(nlh, li);
	return MNL_CB_OK;
}

int rtnl_links(struct nl *nl, struct link_info **out, size_t *n)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = rt_dump_req(buf, nl, RTM_GETLINK, NLM_F_DUMP);
	struct rt_vec v = { .elsize = sizeof(struct link_info) };

	rt_put_ifinfo(nlh, 0);
	return rt_vec_finish(nl_dump_stable(nl, nlh, links_cb, rt_vec_reset, &v), &v, (void **)out, n);
}

struct one_link {
	struct link_info *li;
	bool found;
	int conf;		/* rtnl_inet_conf: which value, and what came */
	uint32_t value;
	bool has_value;
};

static int one_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct one_link *o = data;

	if (!is_link_msg(nlh))
		return MNL_CB_OK;
	o->found = true;
	if (o->li)
		rtnl_parse_link(nlh, o->li);
	if (o->conf > 0 && link_inet_conf(nlh, o->conf, &o->value))
		o->has_value = true;
	return MNL_CB_OK;
}

/* RTM_GETLINK of one link, by index or by name. */
static int get_link(struct nl *nl, int ifindex, const char *name, struct one_link *o)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = rt_dump_req(buf, nl, RTM_GETLINK, NLM_F_ACK);
	int ret;

	rt_put_ifinfo(nlh, ifindex);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = nl_talk(nl, nlh, nlh->nlmsg_len, one_link_cb, o);
	if (ret == 0 && !o->found)
		ret = -ENODEV;
	return ret;
}

int rtnl_link_by_name(struct nl *nl, const char *name, struct link_info *out)
{
	struct one_link o = { .li = out };

	if (!name || !name[0] || strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	return get_link(nl, 0, name, &o);
}

int rtnl_inet_conf(struct nl *nl, int ifindex, int conf, uint32_t *value)
{
	struct one_link o = { .conf = conf };
	int ret;

	if (conf <= 0 || conf > IPV4_DEVCONF_MAX || ifindex <= 0)
		return -EINVAL;
	ret = get_link(nl, ifindex, NULL, &o);
	if (ret < 0)
		return ret;
	if (!o.has_value)
		return -ENODATA;
	*value = o.value;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Addresses and routes                                                     */
/* ------------------------------------------------------------------------ */

bool rtnl_parse_addr(const struct nlmsghdr *nlh, int ifindex, struct addr_info *ai)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;

	memset(ai, 0, sizeof(*ai));
	if (!(ifa = rt_addr_head(nlh, AF_INET, ifindex, tb)))
		return false;
	ai->ifindex = (int)ifa->ifa_index;
	ai->prefixlen = ifa->ifa_prefixlen;
	ai->peer = rt_get_in_addr(tb[IFA_ADDRESS]);
	ai->local = tb[IFA_LOCAL] ? rt_get_in_addr(tb[IFA_LOCAL]) : ai->peer;
	ai->broadcast = rt_get_in_addr(tb[IFA_BROADCAST]);
	ai->flags = rt_get_u32(tb[IFA_FLAGS], ifa->ifa_flags);
	return true;
}

static bool addr_parser(const struct nlmsghdr *nlh, int ifindex, void *out)
{
	return rtnl_parse_addr(nlh, ifindex, out);
}

int rtnl_addrs(struct nl *nl, int ifindex, struct addr_info **out, size_t *n)
{
	return rt_dump_addrs(nl, AF_INET, ifindex, sizeof(**out), addr_parser, (void **)out, n);
}

bool rtnl_parse_route(const struct nlmsghdr *nlh, struct route_info *ri)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t table;

	memset(ri, 0, sizeof(*ri));
	if (!(rtm = rt_route_head(nlh, AF_INET, tb, &table)))
		return false;
	ri->dst = rt_get_in_addr(tb[RTA_DST]);
	ri->dst_len = rtm->rtm_dst_len;
	ri->protocol = rtm->rtm_protocol;
	ri->scope = rtm->rtm_scope;
	ri->type = rtm->rtm_type;
	ri->table = table;
	ri->oif = (int)rt_get_u32(tb[RTA_OIF], 0);
	ri->gateway = rt_get_in_addr(tb[RTA_GATEWAY]);
	ri->prefsrc = rt_get_in_addr(tb[RTA_PREFSRC]);
	return true;
}

static bool route_parser(const struct nlmsghdr *nlh, int ifindex, void *out)
{
	(void)ifindex;
	return rtnl_parse_route(nlh, out);
}

int rtnl_routes(struct nl *nl, struct route_info **out, size_t *n)
{
	return rt_dump_routes(nl, AF_INET, sizeof(**out), route_parser, (void **)out, n);
}

/* ------------------------------------------------------------------------ */
/* Probing for ipip                                                         */
/* ------------------------------------------------------------------------ */

static int del_link_by_name(struct nl *nl, const char *name)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = rt_dump_req(buf, nl, RTM_DELLINK, NLM_F_ACK);

	rt_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh, nlh->nlmsg_len, NULL, NULL);
}

int rtnl_probe_ipip(struct nl *nl)
{
	struct rtnl_batch *b = rtnl_batch_new();
	unsigned pid = (unsigned)getpid();
	char name[IFNAMSIZ];
	int ret = -EEXIST, tries;

	if (!b)
		return -ENOMEM;
	/* A scratch tunnel with a unique name and unique endpoints (a tunnel
	 * with the same endpoints as an existing one, e.g. the fallback tunl0
	 * with none, is refused with EEXIST). */
	for (tries = 0; tries < 8 && ret == -EEXIST; tries++) {
		struct ipip_spec spec = {
			.name = name,
			/* 192.0.2.0/24 (TEST-NET-1): nobody's real peer */
			.remote = 0xc0000200u | ((pid + (unsigned)tries * 37u) % 254u + 1u),
		};
		char msg[sizeof(nl->err_msg)];

		snprintf(name, sizeof(name), "gwctl-pr%06x%x", pid & 0xffffffu, (unsigned)tries);
		rtnl_batch_reset(b);
		rtnl_add_ipip(b, &spec);
		ret = rtnl_flush(nl, b, NULL);
		if (ret < 0)
			continue;
		/* Keep nothing of the probe but its answer. */
		ret = del_link_by_name(nl, name);
		msg[0] = '\0';
		if (ret < 0)
			snprintf(msg, sizeof(msg), "%s", nl->err_msg);
		snprintf(nl->err_msg, sizeof(nl->err_msg), "%s", msg);
	}
	rtnl_batch_free(b);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* sysctl                                                                   */
/* ------------------------------------------------------------------------ */

int sysctl_read_u32(const char *path, uint32_t *v)
{
	char buf[64], *end;
	unsigned long val;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	errno = 0;
	val = strtoul(buf, &end, 10);
	if (errno || end == buf || val > UINT32_MAX || buf[strspn(buf, " \t")] == '-')
		return -EINVAL;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	*v = (uint32_t)val;
	return 0;
}

int sysctl_write_u32(const char *path, uint32_t v)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u\n", v);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do
		n = write(fd, buf, (size_t)len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (close(fd) < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}
