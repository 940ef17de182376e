/* test_monitor.c - netlink/monitor.c: notifications parsed from crafted
 * messages (no root needed), then, as root in a network namespace of the
 * test's own, the kernel's real notifications for what `ip`, `nft` and a
 * sysctl change: links, addresses, routes, forwarding, nftables tables. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netconf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "monitor.h"

#define MAX_EV 256
struct seen {
	struct mon_event ev[MAX_EV];
	int n;
};

static void collect(const struct mon_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n < MAX_EV)
		s->ev[s->n++] = *ev;
}

/* ---- crafted messages -------------------------------------------------- */

static struct nlmsghdr *route_msg(char *buf, uint16_t type, uint32_t dst, uint8_t len, uint8_t proto, int oif)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = proto;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, htonl(dst));
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return nlh;
}

static void test_route_deleted(void **state)
{
	char buf[512] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, 0xc0a80200, 24, 203, 7);
	struct seen s = { .n = 0 };

	(void)state;
	assert_int_equal(mon_parse(NETLINK_ROUTE, buf, nlh->nlmsg_len, collect, &s), 1);
	assert_int_equal(s.ev[0].kind, MON_ROUTE);
	assert_true(s.ev[0].removed);
	assert_int_equal(s.ev[0].route.dst, 0xc0a80200);
	assert_int_equal(s.ev[0].route.dst_len, 24);
	assert_int_equal(s.ev[0].route.protocol, 203);
	assert_int_equal(s.ev[0].route.oif, 7);
}

/* two messages in one datagram; a third cut short is not read */
static void test_several_and_truncated(void **state)
{
	char buf[1024] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *a = route_msg(buf, RTM_NEWROUTE, 0x0a000000, 8, 4, 1), *b, *c;
	size_t len;
	struct seen s = { .n = 0 };

	(void)state;
	b = route_msg(buf + MNL_ALIGN(a->nlmsg_len), RTM_DELROUTE, 0x0a010000, 16, 4, 2);
	len = MNL_ALIGN(a->nlmsg_len) + MNL_ALIGN(b->nlmsg_len);
	c = route_msg(buf + len, RTM_NEWROUTE, 0x0a020000, 16, 4, 3);
	assert_int_equal(mon_parse(NETLINK_ROUTE, buf, len + c->nlmsg_len - 1, collect, &s), 2);
	assert_false(s.ev[0].removed);
	assert_true(s.ev[1].removed);
	assert_int_equal(s.ev[1].route.oif, 2);
}

static struct nlmsghdr *nft_msg(char *buf, uint16_t msg, const char *table, size_t attr_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	if (table)
		mnl_attr_put(nlh, 1, attr_len, table);
	return nlh;
}

static void test_nft_table(void **state)
{
	char buf[512] __attribute__((aligned(8))) = { 0 }, longname[100];
	struct nlmsghdr *nlh = nft_msg(buf, NFT_MSG_DELRULE, "gatewayctl_x", sizeof("gatewayctl_x"));
	struct seen s = { .n = 0 };

	(void)state;
	assert_int_equal(mon_parse(NETLINK_NETFILTER, buf, nlh->nlmsg_len, collect, &s), 1);
	assert_int_equal(s.ev[0].kind, MON_NFT);
	assert_true(s.ev[0].removed);
	assert_int_equal(s.ev[0].nft.msg, NFT_MSG_DELRULE);
	assert_string_equal(s.ev[0].nft.table, "gatewayctl_x");
	/* a name without its NUL is cut, never read past */
	memset(buf, 0, sizeof(buf));
	nlh = nft_msg(buf, NFT_MSG_NEWTABLE, "abcdef", 3);
	assert_int_equal(mon_parse(NETLINK_NETFILTER, buf, nlh->nlmsg_len, collect, &s), 1);
	assert_string_equal(s.ev[1].nft.table, "ab");
	/* longer than any table name: not an event */
	memset(longname, 'x', sizeof(longname));
	memset(buf, 0, sizeof(buf));
	nlh = nft_msg(buf, NFT_MSG_NEWTABLE, longname, sizeof(longname));
	assert_int_equal(mon_parse(NETLINK_NETFILTER, buf, nlh->nlmsg_len, collect, &s), 0);
	/* another subsystem's message: not ours */
	memset(buf, 0, sizeof(buf));
	nlh = nft_msg(buf, NFT_MSG_NEWTABLE, "t", 2);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | 0;
	assert_int_equal(mon_parse(NETLINK_NETFILTER, buf, nlh->nlmsg_len, collect, &s), 0);
	/* a generation ends a transaction: no table */
	memset(buf, 0, sizeof(buf));
	nlh = nft_msg(buf, NFT_MSG_NEWGEN, NULL, 0);
	assert_int_equal(mon_parse(NETLINK_NETFILTER, buf, nlh->nlmsg_len, collect, &s), 1);
	assert_int_equal(s.ev[2].nft.msg, NFT_MSG_NEWGEN);
	assert_string_equal(s.ev[2].nft.table, "");
}

static void test_netconf(void **state)
{
	char buf[256] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct netconfmsg *ncm;
	struct seen s = { .n = 0 };

	(void)state;
	nlh->nlmsg_type = RTM_NEWNETCONF;
	ncm = mnl_nlmsg_put_extra_header(nlh, MNL_ALIGN(sizeof(*ncm)));
	ncm->ncm_family = AF_INET;
	mnl_attr_put_u32(nlh, NETCONFA_IFINDEX, (uint32_t)NETCONFA_IFINDEX_ALL);
	mnl_attr_put_u32(nlh, NETCONFA_FORWARDING, 0);
	assert_int_equal(mon_parse(NETLINK_ROUTE, buf, nlh->nlmsg_len, collect, &s), 1);
	assert_int_equal(s.ev[0].kind, MON_NETCONF);
	assert_int_equal(s.ev[0].netconf.ifindex, MON_NETCONF_ALL);
	assert_int_equal(s.ev[0].netconf.forwarding, 0);
	assert_int_equal(s.ev[0].netconf.family, AF_INET);
	/* IPv6's, told apart by their family (issue 22); no other family */
	s.n = 0;
	ncm->ncm_family = AF_INET6;
	assert_int_equal(mon_parse(NETLINK_ROUTE, buf, nlh->nlmsg_len, collect, &s), 1);
	assert_int_equal(s.ev[0].netconf.family, AF_INET6);
	ncm->ncm_family = AF_BRIDGE;
	assert_int_equal(mon_parse(NETLINK_ROUTE, buf, nlh->nlmsg_len, collect, &s), 0);
}

/* ---- the kernel's own notifications (root, own network namespace) ------ */

static struct mon mon = { -1, -1 };
static bool in_ns;

static int setup_ns(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return 0;	/* the kernel tests skip */
	in_ns = true;
	return mon_open(&mon) == 0 ? 0 : -1;
}

static int teardown_ns(void **state)
{
	(void)state;
	mon_close(&mon);
	return 0;
}

/* Run CMD (in our namespace), then collect for up to 2 s until PRED holds. */
static const struct mon_event *after(const char *cmd, struct seen *s,
				     bool (*pred)(const struct mon_event *, const void *), const void *want)
{
	s->n = 0;
	if (cmd && system(cmd) != 0)
		fail_msg("`%s` failed", cmd);
	for (int round = 0; round < 40; round++) {
		struct pollfd p[2] = { { .fd = mon.rt_fd, .events = POLLIN }, { .fd = mon.nf_fd, .events = POLLIN } };

		for (int i = 0; i < s->n; i++)
			if (pred(&s->ev[i], want))
				return &s->ev[i];
		if (poll(p, 2, 50) < 0)
			break;
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN)
				assert_true(mon_read(&mon, p[i].fd, collect, s) >= 0);
	}
	return NULL;
}

static bool link_named(const struct mon_event *e, const void *want)
{
	return e->kind == MON_LINK && !strcmp(e->link.name, want);
}

static bool link_gone(const struct mon_event *e, const void *want)
{
	return link_named(e, want) && e->removed;
}

static bool link_up(const struct mon_event *e, const void *want)
{
	return link_named(e, want) && (e->link.flags & IFF_UP);
}

static bool addr_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_ADDR && e->addr.local == *(const uint32_t *)want;
}

static bool route_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_ROUTE && e->route.dst == *(const uint32_t *)want && e->route.protocol == 203;
}

static bool forwarding_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_NETCONF && e->netconf.family == AF_INET && e->netconf.ifindex == MON_NETCONF_ALL &&
	       e->netconf.forwarding == *(const int *)want;
}

static bool route6_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_ROUTE6 && e->route6.dst_len == 64 && e->route6.protocol == 203 &&
	       !memcmp(&e->route6.dst, want, 16);
}

static bool addr6_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_ADDR6 && !memcmp(&e->addr6.local, want, 16);
}

static bool forwarding6_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_NETCONF && e->netconf.family == AF_INET6 && e->netconf.ifindex == MON_NETCONF_ALL &&
	       e->netconf.forwarding == *(const int *)want;
}

static bool nft_table_is(const struct mon_event *e, const void *want)
{
	return e->kind == MON_NFT && !strcmp(e->nft.table, want);
}

static void test_kernel_events(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	const struct mon_event *e;
	uint32_t a = 0x0a090001, r = 0x0a080000;
	int on = 1, off = 0;

	(void)state;
	if (!in_ns) {
		free(s);
		skip();
	}
	assert_non_null(after("ip link add gwm0 type veth peer name gwm1", s, link_named, "gwm0"));
	assert_non_null(after("ip link set gwm0 up && ip link set gwm1 up", s, link_up, "gwm0"));
	e = after("ip address add 10.9.0.1/24 dev gwm0", s, addr_is, &a);
	assert_non_null(e);
	assert_false(e->removed);
	assert_int_equal(e->addr.prefixlen, 24);
	assert_int_equal(e->addr.ifindex, (int)if_nametoindex("gwm0"));
	e = after("ip route add 10.8.0.0/24 dev gwm0 proto 203", s, route_is, &r);
	assert_non_null(e);
	assert_false(e->removed);
	assert_int_equal(e->route.oif, (int)if_nametoindex("gwm0"));
	e = after("ip route del 10.8.0.0/24 dev gwm0 proto 203", s, route_is, &r);
	assert_non_null(e);
	assert_true(e->removed);
	/* IPv6 (issue 22): an address, a route, forwarding */
	if (access("/proc/sys/net/ipv6", F_OK) == 0) {
		struct in6_addr a6, r6;

		inet_pton(AF_INET6, "2001:db8:9::1", &a6);
		inet_pton(AF_INET6, "2001:db8:8::", &r6);
		e = after("ip -6 address add 2001:db8:9::1/64 dev gwm0 nodad", s, addr6_is, &a6);
		assert_non_null(e);
		assert_int_equal(e->addr6.prefixlen, 64);
		e = after("ip -6 route add 2001:db8:8::/64 dev gwm0 proto 203", s, route6_is, &r6);
		assert_non_null(e);
		assert_false(e->removed);
		assert_int_equal(e->route6.oif, (int)if_nametoindex("gwm0"));
		e = after("ip -6 route del 2001:db8:8::/64 dev gwm0 proto 203", s, route6_is, &r6);
		assert_non_null(e);
		assert_true(e->removed);
		assert_non_null(after("echo 1 > /proc/sys/net/ipv6/conf/all/forwarding", s, forwarding6_is, &on));
		assert_non_null(after("echo 0 > /proc/sys/net/ipv6/conf/all/forwarding", s, forwarding6_is, &off));
	}
	assert_non_null(after("echo 1 > /proc/sys/net/ipv4/ip_forward", s, forwarding_is, &on));
	assert_non_null(after("echo 0 > /proc/sys/net/ipv4/ip_forward", s, forwarding_is, &off));
	e = after("nft add table inet gwmtest", s, nft_table_is, "gwmtest");
	assert_non_null(e);
	assert_int_equal(e->nft.msg, NFT_MSG_NEWTABLE);
	e = after("nft add chain inet gwmtest c && nft add rule inet gwmtest c counter", s, nft_table_is, "gwmtest");
	assert_non_null(e);
	e = after("nft delete table inet gwmtest", s, nft_table_is, "gwmtest");
	assert_non_null(e);
	/* the last event about the table is its deletion */
	for (int i = 0; i < s->n; i++)
		if (nft_table_is(&s->ev[i], "gwmtest"))
			e = &s->ev[i];
	assert_true(e->removed);
	assert_int_equal(e->nft.msg, NFT_MSG_DELTABLE);
	e = after("ip link del gwm0", s, link_gone, "gwm0");
	assert_non_null(e);
	free(s);
}

/* A socket too small for a burst: the overrun is reported, and reading goes on. */
static void test_overrun_reported(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct mon small;
	int size = 1, lost = 0;
	char cmd[128];
	FILE *f;

	(void)state;
	if (!in_ns) {
		free(s);
		skip();
	}
	assert_int_equal(mon_open(&small), 0);
	assert_int_equal(setsockopt(small.rt_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)), 0);
	assert_int_equal(system("ip link add gwm2 type veth peer name gwm3 && ip link set gwm2 up"), 0);
	f = fopen("/tmp/gwm-routes.batch", "w");
	assert_non_null(f);
	for (int i = 0; i < 500; i++)
		fprintf(f, "route add 10.77.%d.%d/32 dev gwm2 proto 203\n", i / 250, i % 250);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ip -batch /tmp/gwm-routes.batch");
	assert_int_equal(system(cmd), 0);
	unlink("/tmp/gwm-routes.batch");
	assert_true(mon_read(&small, small.rt_fd, collect, s) >= 1);
	for (int i = 0; i < s->n; i++)
		lost += s->ev[i].kind == MON_LOST;
	assert_true(lost >= 1);
	mon_close(&small);
	assert_int_equal(system("ip link del gwm2"), 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest parse[] = {
		cmocka_unit_test(test_route_deleted),
		cmocka_unit_test(test_several_and_truncated),
		cmocka_unit_test(test_nft_table),
		cmocka_unit_test(test_netconf),
	};
	const struct CMUnitTest kernel[] = {
		cmocka_unit_test(test_kernel_events),
		cmocka_unit_test(test_overrun_reported),
	};
	int r = cmocka_run_group_tests_name("parse", parse, NULL, NULL);

	return r | cmocka_run_group_tests_name("kernel", kernel, setup_ns, teardown_ns);
}
