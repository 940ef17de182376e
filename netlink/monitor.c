/* monitor.c - the kernel's notifications (see monitor.h) */
#include "monitor.h"

#include <errno.h>
#include <linux/netconf.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MON_RCVBUF (4 << 20)	/* a burst of a few thousand routes */
#define MON_DGRAM 65536		/* the largest notification datagram read */

static const unsigned rt_groups[] = { RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE,
				      RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE,
				      RTNLGRP_IPV6_NETCONF };
static const unsigned nf_groups[] = { NFNLGRP_NFTABLES };

static int subscribe(int bus, const unsigned *groups, size_t n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, bus), size = MON_RCVBUF, e;

	if (fd < 0)
		return -errno;
	/* the forced size needs CAP_NET_ADMIN; the plain one is capped by rmem_max */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(groups[i])) < 0)
			goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

int mon_open(struct mon *m)
{
	m->rt_fd = subscribe(NETLINK_ROUTE, rt_groups, sizeof(rt_groups) / sizeof(rt_groups[0]));
	if (m->rt_fd < 0) {
		int e = m->rt_fd;

		m->rt_fd = m->nf_fd = -1;
		return e;
	}
	m->nf_fd = subscribe(NETLINK_NETFILTER, nf_groups, 1);
	if (m->nf_fd < 0) {
		int e = m->nf_fd;

		mon_close(m);
		return e;
	}
	return 0;
}

void mon_close(struct mon *m)
{
	if (m->rt_fd >= 0)
		close(m->rt_fd);
	if (m->nf_fd >= 0)
		close(m->nf_fd);
	m->rt_fd = m->nf_fd = -1;
}

/* rtnl's parsers read RTM_NEW* messages; a deletion has the same body. */
static bool parse_as_new(const struct nlmsghdr *nlh, uint16_t new_type,
			 bool (*parse)(const struct nlmsghdr *, void *), void *out)
{
	struct nlmsghdr *copy;
	bool ok;

	if (nlh->nlmsg_type == new_type)
		return parse(nlh, out);
	copy = malloc(nlh->nlmsg_len);
	if (!copy)
		return false;
	memcpy(copy, nlh, nlh->nlmsg_len);
	copy->nlmsg_type = new_type;
	ok = parse(copy, out);
	free(copy);
	return ok;
}

static bool link_parser(const struct nlmsghdr *nlh, void *out)
{
	return rtnl_parse_link(nlh, out);
}

static bool addr_parser(const struct nlmsghdr *nlh, void *out)
{
	return rtnl_parse_addr(nlh, 0, out);
}

static bool route_parser(const struct nlmsghdr *nlh, void *out)
{
	return rtnl_parse_route(nlh, out);
}

static bool addr6_parser(const struct nlmsghdr *nlh, void *out)
{
	return rtnl_parse_addr6(nlh, 0, out);
}

static bool route6_parser(const struct nlmsghdr *nlh, void *out)
{
	return rtnl_parse_route6(nlh, out);
}

static bool parse_netconf(const struct nlmsghdr *nlh, struct mon_event *ev)
{
	const struct netconfmsg *ncm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	bool have_index = false;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ncm) ||
	    (ncm->ncm_family != AF_INET && ncm->ncm_family != AF_INET6))
		return false;
	ev->netconf.family = ncm->ncm_family;
	ev->netconf.forwarding = -1;
	/* the kernel's netconfmsg is 1 byte, padded to 4 before the attributes */
	mnl_attr_for_each(a, nlh, MNL_ALIGN(sizeof(*ncm))) {
		if (mnl_attr_get_payload_len(a) < sizeof(uint32_t))
			continue;
		if (mnl_attr_get_type(a) == NETCONFA_IFINDEX) {
			ev->netconf.ifindex = (int)mnl_attr_get_u32(a);
			have_index = true;
		} else if (mnl_attr_get_type(a) == NETCONFA_FORWARDING) {
			ev->netconf.forwarding = mnl_attr_get_u32(a) != 0;
		}
	}
	return have_index;
}

/* Every object's table name is its attribute 1 (NFTA_TABLE_NAME,
 * NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, ...); a generation's
 * attribute 1 is its number. */
static bool parse_nft(const struct nlmsghdr *nlh, struct mon_event *ev)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	uint16_t msg;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return false;
	msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (msg >= NFT_MSG_MAX)
		return false;
	ev->nft.msg = msg;
	ev->nft.family = nfg->nfgen_family;
	ev->removed = msg == NFT_MSG_DELTABLE || msg == NFT_MSG_DELCHAIN || msg == NFT_MSG_DELRULE ||
		      msg == NFT_MSG_DELSET || msg == NFT_MSG_DELSETELEM || msg == NFT_MSG_DELOBJ ||
		      msg == NFT_MSG_DELFLOWTABLE;
	if (msg == NFT_MSG_NEWGEN)
		return true;
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		size_t n = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) != 1)
			continue;
		if (n == 0 || n > sizeof(ev->nft.table))
			return false;
		memcpy(ev->nft.table, mnl_attr_get_payload(a), n);
		ev->nft.table[n - 1] = 0;	/* NUL-terminated by the kernel */
		break;
	}
	return true;
}

static bool parse_one(int bus, const struct nlmsghdr *nlh, struct mon_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (bus == NETLINK_NETFILTER) {
		ev->kind = MON_NFT;
		return parse_nft(nlh, ev);
	}
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		ev->kind = MON_LINK;
		ev->removed = nlh->nlmsg_type == RTM_DELLINK;
		return parse_as_new(nlh, RTM_NEWLINK, link_parser, &ev->link);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		ev->kind = MON_ADDR;
		ev->removed = nlh->nlmsg_type == RTM_DELADDR;
		if (parse_as_new(nlh, RTM_NEWADDR, addr_parser, &ev->addr))
			return true;
		ev->kind = MON_ADDR6;
		return parse_as_new(nlh, RTM_NEWADDR, addr6_parser, &ev->addr6);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		ev->kind = MON_ROUTE;
		ev->removed = nlh->nlmsg_type == RTM_DELROUTE;
		if (parse_as_new(nlh, RTM_NEWROUTE, route_parser, &ev->route))
			return true;
		ev->kind = MON_ROUTE6;
		return parse_as_new(nlh, RTM_NEWROUTE, route6_parser, &ev->route6);
	case RTM_NEWNETCONF:
	case RTM_DELNETCONF:
		ev->kind = MON_NETCONF;
		ev->removed = nlh->nlmsg_type == RTM_DELNETCONF;
		return parse_netconf(nlh, ev);
	default:
		return false;
	}
}

int mon_parse(int bus, const void *buf, size_t len, mon_cb cb, void *arg)
{
	const char *p = buf;
	int n = 0;

	/* every message inside the buffer, checked in size_t: mnl_nlmsg_ok
	 * compares a length cast to int and lets one of over 2 GiB through */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t mlen = nlh->nlmsg_len, step = MNL_ALIGN(mlen);
		struct mon_event ev;

		if (mlen < sizeof(*nlh) || mlen > len)
			break;
		p += step < len ? step : len;
		len -= step < len ? step : len;
		if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
			continue;	/* NOOP, ERROR, DONE, OVERRUN: not notifications */
		if (parse_one(bus, nlh, &ev)) {
			cb(&ev, arg);
			n++;
		}
	}
	return n;
}

int mon_read(struct mon *m, int fd, mon_cb cb, void *arg)
{
	static char buf[MON_DGRAM] __attribute__((aligned(8)));
	int bus = fd == m->nf_fd ? NETLINK_NETFILTER : NETLINK_ROUTE, n = 0;

	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t got = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == ENOBUFS) {
			struct mon_event ev = { .kind = MON_LOST };

			cb(&ev, arg);
			n++;
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return n;
		if (got < 0)
			return -errno;
		if (fl != sizeof(from) || from.nl_pid != 0)
			continue;	/* only the kernel speaks here */
		n += mon_parse(bus, buf, (size_t)got, cb, arg);
	}
}
