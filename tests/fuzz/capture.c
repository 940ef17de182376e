/* capture.c - record the kernel's answers to the dumps gatewayctl makes, as
 * seeds for the netlink fuzzers (tests/fuzz/seeds/capture.sh builds and runs it).
 *
 *   capture nft DIR     in the current network namespace (a scratch one:
 *                       it flushes the ruleset): builds gatewayctl's table
 *                       with the product's own nft_table_replace (site
 *                       manhattan, as fuzz_nft.c expects it) plus a foreign
 *                       table, then records the answers to GETGEN, GETTABLE,
 *                       GETCHAIN, GETSET, GETSETELEM (each set) and GETRULE
 *                       (and the ip6 table of a dual-stack site: the same
 *                       dumps of family ip6, files NAME6)
 *   capture rtnl DIR    records the answers to the link, address and route
 *                       dumps of the current namespace, one link asked by
 *                       name, and an error with an extended ack
 *   capture rtnl6 DIR   the IPv6 address and route dumps (addrs6, routes6)
 *                       and the link dump (links6: sit, ip6tnl where the
 *                       kernel has them) of the current namespace
 *
 * Each DIR/NAME file holds the datagrams as the kernel sent them, one after
 * the other (so: a sequence of netlink messages); DIR/all has them all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "nft.h"
#include "rtnl.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static struct mnl_socket *sock;
static FILE *all;
static const char *dir;
static uint32_t seq = 1;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void open_sock(int bus)
{
	int on = 1;

	sock = mnl_socket_open(bus);
	if (!sock || mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink socket");
	mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &on, sizeof(on));
	if (bus == NETLINK_ROUTE)
		mnl_socket_setsockopt(sock, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
}

/* Send REQ, write every datagram of the answer to DIR/NAME (and DIR/all
 * unless NAME ends in "-all": all holds one read as gatewayctl makes it),
 * until NLMSG_DONE or an error (or the ack of a non-dump request). */
static void record(const char *name, struct nlmsghdr *req)
{
	static char buf[65536];
	char path[4096];
	FILE *f;
	int end = 0;
	size_t nl = strlen(name);
	bool in_all = nl < 4 || strcmp(name + nl - 4, "-all") != 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		die(path);
	if (mnl_socket_sendto(sock, req, req->nlmsg_len) < 0)
		die("sendto");
	while (!end) {
		ssize_t n = mnl_socket_recvfrom(sock, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rem = (int)n;

		if (n < 0)
			die("recvfrom");
		fwrite(buf, 1, (size_t)n, f);
		if (in_all)
			fwrite(buf, 1, (size_t)n, all);
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
				end = 1;
	}
	fclose(f);
}

static uint16_t nft_family = NFPROTO_IPV4;

static struct nlmsghdr *nft_req(char *buf, uint16_t type, uint16_t flags)
{
	memset(buf, 0, 1024);
	return nftnl_nlmsg_build_hdr(buf, type, nft_family, flags, seq++);
}

/* The dumps of one family's objects, files NAME SUFFIX. */
static void capture_nft_objects(const char *suffix)
{
	const char *sets[] = { "masq", "tunnels", "endpoints" };
	char buf[1024], name[32];
	struct nlmsghdr *nlh;

	snprintf(name, sizeof(name), "chains%s", suffix);
	record(name, nft_req(buf, NFT_MSG_GETCHAIN, NLM_F_DUMP));
	for (int i = 0; i < 2; i++) {
		struct nftnl_set *st = nftnl_set_alloc();

		nlh = nft_req(buf, NFT_MSG_GETSET, NLM_F_DUMP);
		if (i) {
			nftnl_set_set_str(st, NFTNL_SET_TABLE, "gatewayctl-manhattan");
			nftnl_set_nlmsg_build_payload(nlh, st);
		}
		nftnl_set_free(st);
		snprintf(name, sizeof(name), "%s%s", i ? "sets" : "sets-all", suffix);
		record(name, nlh);
	}
	for (int i = 0; i < 3; i++) {
		struct nftnl_set *st = nftnl_set_alloc();

		nlh = nft_req(buf, NFT_MSG_GETSETELEM, NLM_F_DUMP);
		nftnl_set_set_str(st, NFTNL_SET_TABLE, "gatewayctl-manhattan");
		nftnl_set_set_str(st, NFTNL_SET_NAME, sets[i]);
		nftnl_set_elems_nlmsg_build_payload(nlh, st);
		nftnl_set_free(st);
		snprintf(name, sizeof(name), "elems-%s%s", sets[i], suffix);
		record(name, nlh);
	}
	{
		struct nftnl_rule *r = nftnl_rule_alloc();

		nlh = nft_req(buf, NFT_MSG_GETRULE, NLM_F_DUMP);
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "gatewayctl-manhattan");
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		snprintf(name, sizeof(name), "rules%s", suffix);
		record(name, nlh);
	}
	snprintf(name, sizeof(name), "rules-all%s", suffix);
	record(name, nft_req(buf, NFT_MSG_GETRULE, NLM_F_DUMP));
}

static void capture_nft(void)
{
	static const char tunnels[][16] = { "gw-brooklyn", "gw-queens" };
	static const uint32_t endpoints[] = { IP4(172, 17, 2, 10), IP4(198, 51, 100, 7) };
	static const struct nft_net nets[] = {
		{ IP4(192, 168, 2, 0), 24 }, { IP4(172, 17, 2, 10), 32 }, { IP4(10, 20, 0, 0), 16 },
	};
	static struct nft_net6 nets6[1];
	static struct in6_addr ep6[1];
	struct nft_spec s = {
		.site = "manhattan", .lan = "eth0", .lan_addr = IP4(192, 168, 1, 126),
		.lan_broadcast = IP4(192, 168, 1, 255), .masq = nets, .n_masq = 3,
		.tunnels = tunnels, .n_tunnels = 2, .endpoints = endpoints, .n_endpoints = 2,
		.wan_addr = IP4(172, 16, 1, 12), .mss_clamp = true,
		/* dual-stack: sit peers, the ip6 table */
		.sit = true, .v6 = true, .masq6 = nets6, .n_masq6 = 1, .endpoints6 = ep6, .n_endpoints6 = 1,
	};
	char buf[1024], err[512];
	struct nlmsghdr *nlh;
	struct nl nl;

	inet_pton(AF_INET6, "2001:db8:2::", &nets6[0].addr);
	nets6[0].len = 64;
	inet_pton(AF_INET6, "2001:db8:ff::2", &ep6[0]);
	inet_pton(AF_INET6, "2001:db8:1::126", &s.lan_addr6);
	inet_pton(AF_INET6, "2001:db8:ff::1", &s.wan_addr6);
	if (system("nft flush ruleset && nft add table ip other '{ comment \"by hand\"; }' && "
		   "nft add chain ip other c && nft add rule ip other c counter accept") != 0)
		die("nft");
	if (nl_open(&nl, NETLINK_NETFILTER) < 0 || nft_table_replace(&nl, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "nft_table_replace: %s\n", err);
		exit(1);
	}
	nl_close(&nl);
	open_sock(NETLINK_NETFILTER);

	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq++);
	record("gen", nlh);
	record("tables", nft_req(buf, NFT_MSG_GETTABLE, NLM_F_DUMP));
	capture_nft_objects("");
	nft_family = NFPROTO_IPV6;
	capture_nft_objects("6");
	nft_family = NFPROTO_UNSPEC;
	record("tables-all", nft_req(buf, NFT_MSG_GETTABLE, NLM_F_DUMP));
	record("gen-again", nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK,
						  seq++));
}

static struct nlmsghdr *rt_req(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, 1024);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq++;
	return nlh;
}

/* the link, address and route dumps of FAMILY, recorded as links, addrs and
 * routes with SUFFIX ("" or "6") */
static void capture_dumps(unsigned char family, const char *suffix)
{
	char buf[1024], name[16];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct rtmsg *rtm;

	nlh = rt_req(buf, RTM_GETLINK, NLM_F_DUMP);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	snprintf(name, sizeof(name), "links%s", suffix);
	record(name, nlh);
	nlh = rt_req(buf, RTM_GETADDR, NLM_F_DUMP);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	snprintf(name, sizeof(name), "addrs%s", suffix);
	record(name, nlh);
	nlh = rt_req(buf, RTM_GETROUTE, NLM_F_DUMP);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_MAIN;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	snprintf(name, sizeof(name), "routes%s", suffix);
	record(name, nlh);
}

static void capture_rtnl(void)
{
	char buf[1024];
	struct nlmsghdr *nlh;

	open_sock(NETLINK_ROUTE);
	capture_dumps(AF_INET, "");
	nlh = rt_req(buf, RTM_GETLINK, NLM_F_ACK);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "lo");
	record("link-lo", nlh);
	/* an error with an extended ack: a link of a kind that does not exist */
	nlh = rt_req(buf, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "gwfuzz0");
	{
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "nosuchkind");
		mnl_attr_nest_end(nlh, info);
	}
	record("error", nlh);
}

static void capture_rtnl6(void)
{
	open_sock(NETLINK_ROUTE);
	capture_dumps(AF_INET6, "6");
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc != 3 || (strcmp(argv[1], "nft") && strcmp(argv[1], "rtnl") && strcmp(argv[1], "rtnl6"))) {
		fprintf(stderr, "usage: capture nft|rtnl|rtnl6 DIR\n");
		return 2;
	}
	dir = argv[2];
	snprintf(path, sizeof(path), "%s/all", dir);
	all = fopen(path, "wb");
	if (!all)
		die(path);
	if (strcmp(argv[1], "nft") == 0)
		capture_nft();
	else if (strcmp(argv[1], "rtnl6") == 0)
		capture_rtnl6();
	else
		capture_rtnl();
	fclose(all);
	mnl_socket_close(sock);
	return 0;
}
