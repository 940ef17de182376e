/* test_model.c - planning (model.c): the steps from a kernel state to what the file asks.
 * The kernel states here are written by hand as data; the kernel tests in
 * tests/kernel/ check the same steps against a real kernel. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>

#include "config.h"
#include "model.h"
#include "preflight.h"
#include "relay.h"

static struct site site;

static int setup(void **state)
{
	(void)state;
	return config_load("sites/manhattan.ini", &site, stderr);
}

static int teardown(void **state)
{
	(void)state;
	config_free(&site);
	return 0;
}

static char *plan_text(const struct plan *plan)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	plan_print(plan, f);
	fclose(f);
	return text;
}

static size_t count(const struct plan *plan, enum step_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < plan->n; i++)
		n += plan->steps[i].kind == kind;
	return n;
}

static void from_nothing(void **state)
{
	struct plan plan = { 0 };
	char *text;

	(void)state;
	plan_build(&plan, &site, NULL);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "sysctl -w net.ipv4.ip_forward=1\n"));
	assert_non_null(strstr(text, "ip link add name gw-brooklyn mtu 1480 up "
				     "type ipip local 172.16.1.12 remote 172.17.2.10 ttl 64 pmtudisc\n"
				     "ip link set gw-brooklyn alias gatewayctl:manhattan/brooklyn\n"));
	assert_non_null(strstr(text, "ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src 192.168.1.126\n"));
	assert_non_null(strstr(text, "snat to 192.168.1.126"));
	assert_non_null(strstr(text, "192.168.2.0/24"));
	/* manage_interfaces = no: no addresses, no default route */
	assert_null(strstr(text, "ip address add"));
	assert_null(strstr(text, "default"));
	/* the bogus host route is never created */
	assert_null(strstr(text, "172.17.2.10/32"));
	assert_int_equal(count(&plan, STEP_TUNNEL_ADD), 1);
	assert_int_equal(count(&plan, STEP_ROUTE_ADD), 1);
	assert_int_equal(count(&plan, STEP_NFT_REPLACE), 1);
	free(text);
	plan_free(&plan);
}

static void manage_interfaces(void **state)
{
	struct plan plan = { 0 };
	char *text;

	(void)state;
	site.manage_interfaces = true;
	plan_build(&plan, &site, NULL);
	site.manage_interfaces = false;
	text = plan_text(&plan);
	assert_non_null(strstr(text, "ip address add 192.168.1.126/24 broadcast 192.168.1.255 dev eth0\n"));
	assert_non_null(strstr(text, "ip address add 172.16.1.12/27 broadcast 172.16.1.31 dev eth1\n"));
	assert_non_null(strstr(text, "ip link set eth1 up\n"));
	assert_non_null(strstr(text, "ip route add default via 172.16.1.30 dev eth1 proto 203\n"));
	/* addresses before the routes that use them as source */
	assert_true(strstr(text, "ip address add 192.168.1.126") < strstr(text, "ip route add 192.168.2.0/24"));
	free(text);
	plan_free(&plan);
}

/* A kernel that already has everything: the article's gateway after `up`. */
static struct link_info links[4];
static struct route_info routes[4];
static struct addr_info addrs[2];
static uint32_t rpf[1];

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct link_info *)a)->name, ((const struct link_info *)b)->name);
}

static void healthy(struct live *live)
{
	memset(live, 0, sizeof(*live));
	memset(links, 0, sizeof(links));
	links[0] = (struct link_info){ .ifindex = 2, .name = "eth0", .flags = IFF_UP, .mtu = 1500 };
	links[1] = (struct link_info){ .ifindex = 3, .name = "eth1", .flags = IFF_UP, .mtu = 1500 };
	links[2] = (struct link_info){ .ifindex = 7, .name = "gw-brooklyn", .kind = "ipip",
				       .alias = "gatewayctl:manhattan/brooklyn", .flags = IFF_UP, .mtu = 1480,
				       .local = 0xac10010c, .remote = 0xac11020a, .ttl = 64, .pmtudisc = 1 };
	links[3] = (struct link_info){ .ifindex = 4, .name = "tunl0", .kind = "ipip", .mtu = 1480 };
	/* sorted by name, as live_read leaves them */
	qsort(links, 4, sizeof(links[0]), by_name);
	routes[0] = (struct route_info){ .dst = 0, .dst_len = 0, .gateway = 0xac10011e, .oif = 3,
					 .protocol = RTPROT_BOOT, .table = RT_TABLE_MAIN };
	routes[1] = (struct route_info){ .dst = 0xc0a80200, .dst_len = 24, .oif = 7, .protocol = RTPROT_GATEWAYCTL,
					 .scope = RT_SCOPE_LINK, .table = RT_TABLE_MAIN, .prefsrc = 0xc0a8017e };
	addrs[0] = (struct addr_info){ .ifindex = 2, .local = 0xc0a8017e, .prefixlen = 24 };
	addrs[1] = (struct addr_info){ .ifindex = 3, .local = 0xac10010c, .prefixlen = 27 };
	live->links = links;
	live->n_links = 4;
	live->routes = routes;
	live->n_routes = 2;
	live->addrs = addrs;
	live->n_addrs = 2;
	live->ip_forward = 1;
	live->nft_match = 1;
	live->nft_present = true;
	rpf[0] = 0;
	live->peer_rp_filter = rpf;
	live->relay_pid = 4242;
	live->relay_hash = relay_config_hash(&site);
}

static void no_changes_when_healthy(void **state)
{
	struct plan plan = { 0 };
	struct live live;

	(void)state;
	healthy(&live);
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 0);
	plan_free(&plan);
}

static void drift_each_fixed_alone(void **state)
{
	struct plan plan = { 0 };
	struct live live;
	char *text;

	(void)state;
	/* route deleted by hand */
	healthy(&live);
	live.n_routes = 1;
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_ROUTE_ADD);
	assert_string_equal(plan.steps[0].why, "route 192.168.2.0/24 via gw-brooklyn is missing");
	plan_free(&plan);

	/* tunnel down and with another mtu: changed in place */
	healthy(&live);
	for (int i = 0; i < 4; i++)
		if (!strcmp(links[i].name, "gw-brooklyn")) {
			links[i].flags = 0;
			links[i].mtu = 1400;
		}
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_TUNNEL_CHANGE);
	assert_string_equal(plan.steps[0].why, "mtu is 1400, not 1480");
	plan_free(&plan);

	/* forwarding off, table changed */
	healthy(&live);
	live.ip_forward = 0;
	live.nft_match = 0;
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 2);
	assert_int_equal(count(&plan, STEP_FORWARDING), 1);
	assert_int_equal(count(&plan, STEP_NFT_REPLACE), 1);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "# table gatewayctl-manhattan differs from the file\n"));
	free(text);
	plan_free(&plan);
}

static void relay_started_and_restarted(void **state)
{
	struct plan plan = { 0 };
	struct live live;

	(void)state;
	healthy(&live);
	live.relay_pid = 0;
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_RELAY_START);
	assert_string_equal(plan.steps[0].why, "the broadcast relay is not running");
	plan_free(&plan);

	healthy(&live);
	live.relay_hash ^= 1; /* runs with other settings */
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_RELAY_START);
	assert_int_equal(plan.steps[0].value, 4242); /* stopped first */
	plan_free(&plan);

	healthy(&live);
	site.relay.enabled = false;
	plan_build(&plan, &site, &live);
	site.relay.enabled = true;
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_RELAY_STOP);
	plan_free(&plan);
}

static void bogus_host_route_deleted(void **state)
{
	struct plan plan = { 0 };
	struct live live;
	char *text;

	(void)state;
	healthy(&live);
	/* the article's `ifconfig tunl0 ... pointopoint 172.17.2.10` leaves this */
	routes[2] = (struct route_info){ .dst = 0xac11020a, .dst_len = 32, .oif = 4, .protocol = RTPROT_KERNEL,
					 .scope = RT_SCOPE_LINK, .table = RT_TABLE_MAIN };
	live.n_routes = 3;
	live_index(&live);
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_ROUTE_DEL);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "# bogus host route: peer brooklyn's endpoint is routed into tunl0"));
	assert_non_null(strstr(text, "ip route del 172.17.2.10/32 dev tunl0 proto 2\n"));
	free(text);
	plan_free(&plan);

	/* a host route to the endpoint through the WAN is fine */
	for (int i = 0; i < 3; i++)
		if (routes[i].dst_len == 32)
			routes[i].oif = 3;
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 0);
	plan_free(&plan);
}

static void foreign_objects_left_alone(void **state)
{
	struct plan plan = { 0 };
	struct live live;

	(void)state;
	healthy(&live);
	/* somebody else's route through our tunnel, and a tunnel of another site */
	routes[2] = (struct route_info){ .dst = 0x0a000000, .dst_len = 8, .oif = 7, .protocol = RTPROT_BOOT,
					 .scope = RT_SCOPE_LINK, .table = RT_TABLE_MAIN };
	live.n_routes = 3;
	live_index(&live);
	for (int i = 0; i < 4; i++)
		if (!strcmp(links[i].name, "tunl0"))
			strcpy(links[i].alias, "gatewayctl:queens/x");
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 0);
	plan_free(&plan);
}

/* An up killed between creating a tunnel and setting its alias leaves a link
 * that only its group marks as ours: the next up finishes it. */
static void unfinished_tunnel_adopted(void **state)
{
	struct plan plan = { 0 };
	struct live live;

	(void)state;
	healthy(&live);
	for (int i = 0; i < 4; i++)
		if (!strcmp(links[i].name, "gw-brooklyn")) {
			links[i].alias[0] = '\0';
			links[i].group = RTNL_LINK_GROUP;
		}
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_TUNNEL_CHANGE);
	assert_string_equal(plan.steps[0].why,
			    "gw-brooklyn lacks its alias gatewayctl:manhattan/brooklyn (an interrupted up?)");
	plan_free(&plan);
	/* without the group it is somebody else's: no step (up's preflight refuses) */
	for (int i = 0; i < 4; i++)
		if (!strcmp(links[i].name, "gw-brooklyn"))
			links[i].group = 0;
	plan_build(&plan, &site, &live);
	assert_int_equal(count(&plan, STEP_TUNNEL_CHANGE), 0);
	assert_int_equal(count(&plan, STEP_TUNNEL_ADD), 0);
	plan_free(&plan);
}

static void stale_peer_removed(void **state)
{
	struct plan plan = { 0 };
	struct live live;

	(void)state;
	healthy(&live);
	for (int i = 0; i < 4; i++)
		if (!strcmp(links[i].name, "tunl0"))
			strcpy(links[i].alias, "gatewayctl:manhattan/bronx");
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_TUNNEL_DEL);
	assert_string_equal(plan.steps[0].text, "ip link delete tunl0");
	assert_string_equal(plan.steps[0].why, "peer bronx is no longer in the file");
	plan_free(&plan);
}

static void strict_rp_filter_loosened(void **state)
{
	struct plan plan = { 0 };
	struct live live;

	(void)state;
	healthy(&live);
	live.rp_filter_all = 1;
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, STEP_RP_FILTER);
	assert_string_equal(plan.steps[0].text, "sysctl -w net.ipv4.conf.gw-brooklyn.rp_filter=2");
	plan_free(&plan);
	rpf[0] = 2; /* loose on the device wins over strict in all */
	plan_build(&plan, &site, &live);
	assert_int_equal(plan.n, 0);
	plan_free(&plan);
}


/* IPv6 (issue 22): a dual-stack peer over IPv4 gets a sit in mode any, routes
 * per family with their family's src, IPv6 forwarding, the ip6 table; an
 * ipip link of the peer's name (the site before it had IPv6) is replaced. */
static void dual_stack(void **state)
{
	struct site ds;
	struct plan plan = { 0 };
	struct live live;
	char *text;

	(void)state;
	assert_int_equal(config_load("sites/dual-stack/manhattan.ini", &ds, stderr), 0);
	plan_build(&plan, &ds, NULL);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "ip link add name gw-brooklyn mtu 1480 up type sit mode any local 172.16.1.12 "
				     "remote 172.17.2.10 ttl 64 pmtudisc\n"));
	assert_non_null(strstr(text, "ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src "
				     "192.168.1.126\n"));
	assert_non_null(strstr(text, "ip -6 route add 2001:db8:2::/64 dev gw-brooklyn proto 203 src 2001:db8:1::126\n"));
	assert_non_null(strstr(text, "sysctl -w net.ipv6.conf.all.forwarding=1\n"));
	assert_non_null(strstr(text, "nft 'add table ip6 gatewayctl-manhattan'"));
	assert_non_null(strstr(text, "ip protocol 41 ip saddr @endpoints counter accept comment \"6in4-peers\""));
	assert_int_equal(count(&plan, STEP_ROUTE_ADD), 2);
	assert_int_equal(count(&plan, STEP_FORWARDING), 2);
	assert_true(plan.nft.v6 && plan.nft.sit);
	free(text);
	plan_free(&plan);

	/* the IPv4-only site's ipip link, healthy for it: replaced by a sit */
	healthy(&live);
	live.ip6_forward = 1;
	live.relay_pid = 0;	/* the example has no relay */
	plan_build(&plan, &ds, &live);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "# gw-brooklyn is of kind `ipip`, not sit\nip link delete gw-brooklyn\n"));
	assert_int_equal(count(&plan, STEP_TUNNEL_DEL), 1);
	assert_int_equal(count(&plan, STEP_TUNNEL_ADD), 1);
	assert_int_equal(count(&plan, STEP_FORWARDING), 0);
	assert_int_equal(count(&plan, STEP_ACCEPT_RA), 0);
	free(text);
	plan_free(&plan);

	/* a WAN that takes router advertisements (accept_ra 1): 2 before forwarding */
	healthy(&live);
	live.relay_pid = 0;
	live.wan_accept_ra = 1;
	plan_build(&plan, &ds, &live);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "# eth1 takes router advertisements (accept_ra 1): it would ignore them once "
				     "IPv6 forwards\nsysctl -w net.ipv6.conf.eth1.accept_ra=2\n# IPv6 forwarding is off\n"
				     "sysctl -w net.ipv6.conf.all.forwarding=1\n"));
	assert_int_equal(count(&plan, STEP_ACCEPT_RA), 1);
	free(text);
	plan_free(&plan);
	/* forwarding on already (another site, or by hand): accept_ra still */
	live.ip6_forward = 1;
	plan_build(&plan, &ds, &live);
	assert_int_equal(count(&plan, STEP_ACCEPT_RA), 1);
	assert_int_equal(count(&plan, STEP_FORWARDING), 0);
	plan_free(&plan);
	/* 0 (no advertisements taken) and 2: left alone */
	for (live.wan_accept_ra = 0; live.wan_accept_ra <= 2; live.wan_accept_ra += 2) {
		plan_build(&plan, &ds, &live);
		assert_int_equal(count(&plan, STEP_ACCEPT_RA), 0);
		plan_free(&plan);
	}

	/* the sit as it should be, with both routes: nothing to do but the table */
	struct route6_info r6 = { .dst_len = 64, .oif = 7, .protocol = RTPROT_GATEWAYCTL, .table = RT_TABLE_MAIN,
				  .metric = 1024 };
	healthy(&live);
	live.ip6_forward = 1;
	live.relay_pid = 0;	/* the example has no relay */
	for (size_t i = 0; i < live.n_links; i++)
		if (!strcmp(links[i].name, "gw-brooklyn"))
			strcpy(links[i].kind, "sit");
	memcpy(&r6.dst, ds.peers[0].networks6[0].addr, 16);
	memcpy(&r6.prefsrc, ds.lan_address6.addr, 16);
	live.routes6 = &r6;
	live.n_routes6 = 1;
	plan_build(&plan, &ds, &live);
	assert_int_equal(plan.n, 0);
	plan_free(&plan);
	/* its src another address: deleted and added again */
	r6.prefsrc.s6_addr[15] ^= 1;
	plan_build(&plan, &ds, &live);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "ip -6 route del 2001:db8:2::/64 dev gw-brooklyn proto 203\n"));
	assert_non_null(strstr(text, "ip -6 route add 2001:db8:2::/64 dev gw-brooklyn proto 203 src 2001:db8:1::126\n"));
	free(text);
	plan_free(&plan);
	config_free(&ds);
}

/* manage_interfaces with IPv6: both interfaces' IPv6 addresses (no DAD: the
 * routes name the LAN's as src at once), the IPv6 default route; nothing when
 * the kernel has them (whoever made the route). */
static void manage_interfaces6(void **state)
{
	struct site ds;
	struct plan plan = { 0 };
	struct live live;
	struct addr6_info a6[2] = { { .ifindex = 2, .prefixlen = 64 }, { .ifindex = 3, .prefixlen = 64 } };
	struct route6_info r6 = { .dst_len = 0, .oif = 3, .protocol = RTPROT_RA, .table = RT_TABLE_MAIN };
	char *text;

	(void)state;
	assert_int_equal(config_load("sites/dual-stack/manhattan.ini", &ds, stderr), 0);
	ds.manage_interfaces = true;
	assert_int_equal(parse_net6("2001:db8:ff::12/64", &ds.wan_address6), 0);
	assert_int_equal(parse_ip6("fe80::1", ds.gateway6), 0);
	plan_build(&plan, &ds, NULL);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "ip address add 192.168.1.126/24 broadcast 192.168.1.255 dev eth0\n"
				     "ip -6 address add 2001:db8:1::126/64 dev eth0 nodad\nip link set eth0 up\n"));
	assert_non_null(strstr(text, "ip -6 address add 2001:db8:ff::12/64 dev eth1 nodad\nip link set eth1 up\n"));
	assert_non_null(strstr(text, "ip route add default via 172.16.1.30 dev eth1 proto 203\n"
				     "ip -6 route add default via fe80::1 dev eth1 proto 203\n"));
	assert_int_equal(count(&plan, STEP_ADDR_ADD), 4);
	free(text);
	plan_free(&plan);

	/* the kernel has them all: no step of manage_interfaces */
	healthy(&live);
	live.ip6_forward = 1;
	memcpy(&a6[0].local, ds.lan_address6.addr, 16);
	memcpy(&a6[1].local, ds.wan_address6.addr, 16);
	memcpy(&r6.gateway, ds.gateway6, 16);
	live.addrs6 = a6;
	live.n_addrs6 = 2;
	live.routes6 = &r6;
	live.n_routes6 = 1;
	plan_build(&plan, &ds, &live);
	assert_int_equal(count(&plan, STEP_ADDR_ADD), 0);
	assert_int_equal(count(&plan, STEP_LINK_UP), 0);
	for (size_t i = 0; i < plan.n; i++)
		assert_false(plan.steps[i].kind == STEP_ROUTE_ADD && !plan.steps[i].peer);
	plan_free(&plan);
	/* the WAN's address gone, the default route elsewhere: each one step, with its why */
	live.n_addrs6 = 1;
	r6.gateway.s6_addr[15] = 2;
	plan_build(&plan, &ds, &live);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "# eth1 lacks 2001:db8:ff::12/64\nip -6 address add 2001:db8:ff::12/64 dev eth1 "
				     "nodad\n"));
	assert_non_null(strstr(text, "# the IPv6 default route goes elsewhere\nip -6 route add default via fe80::1 "
				     "dev eth1 proto 203\n"));
	assert_int_equal(count(&plan, STEP_ADDR_ADD), 1);
	free(text);
	plan_free(&plan);
	config_free(&ds);
}

/* IPv6 (issue 22): a peer over an IPv6-only internet gets an ip6tnl in mode
 * any (MTU 1460) carrying both families' routes; the ip table's endpoints set
 * holds no 0.0.0.0 for it (its endpoint is in the ip6 table's); a /128 route
 * to its endpoint into a tunnel is a bogus host route, deleted. */
static void ipv6_wan(void **state)
{
	static const char mixed[] = "[site]\nname = m\nlan = eth0\nlan_address = 192.168.1.126/24, 2001:db8:1::126/64\n"
		"wan = eth1\nwan_address = 172.16.1.12/27, 2001:db8:ffff:1::12/64\n"
		"[peer six]\nendpoint = 2001:db8:ffff:2::10\nnetworks = 192.168.2.0/24\n"
		"[peer four]\nendpoint = 172.17.3.10\nnetworks = 192.168.3.0/24\n";
	struct site s;
	struct plan plan = { 0 };
	struct live live;
	struct route6_info r6[1] = { { .dst_len = 128, .oif = 7, .protocol = RTPROT_BOOT, .table = RT_TABLE_MAIN,
				       .type = RTN_UNICAST } };
	char *text;

	(void)state;
	assert_int_equal(config_load("sites/ipv6-wan/manhattan.ini", &s, stderr), 0);
	plan_build(&plan, &s, NULL);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "ip link add name gw-brooklyn mtu 1460 up type ip6tnl mode any local "
				     "2001:db8:ffff:1::12 remote 2001:db8:ffff:2::10 hoplimit 64 encaplimit none\n"));
	assert_non_null(strstr(text, "ip route add 192.168.2.0/24 dev gw-brooklyn proto 203 scope link src "
				     "192.168.1.126\n"));
	assert_non_null(strstr(text, "ip -6 route add 2001:db8:2::/64 dev gw-brooklyn proto 203 src 2001:db8:1::126\n"));
	assert_non_null(strstr(text, "meta l4proto 4 ip6 saddr @endpoints counter accept comment \"4in6-peers\""));
	assert_non_null(strstr(text, "meta l4proto 41 ip6 saddr @endpoints counter accept comment \"6in6-peers\""));
	assert_non_null(strstr(text, "comment \"4in6-other\""));
	/* the ip table: no endpoint, so no ipip/6in4 rules (and no WAN address) */
	assert_null(strstr(text, "0.0.0.0"));
	assert_null(strstr(text, "ipip-peers"));
	assert_null(strstr(text, "6in4"));
	assert_int_equal(plan.nft.n_endpoints, 0);
	assert_int_equal(plan.nft.wan_addr, 0);
	assert_int_equal(plan.nft.n_endpoints6, 1);
	assert_memory_equal(&plan.nft.endpoints6[0], s.peers[0].endpoint6, 16);
	assert_false(plan.nft.sit);
	free(text);
	plan_free(&plan);

	/* the ip6tnl there, a /128 route to the endpoint into it: deleted */
	healthy(&live);
	for (size_t i = 0; i < live.n_links; i++)
		if (!strcmp(links[i].name, "gw-brooklyn"))
			strcpy(links[i].kind, "ip6tnl");
	memcpy(&r6[0].dst, s.peers[0].endpoint6, 16);
	live.routes6 = r6;
	live.n_routes6 = 1;
	assert_true(live_bogus_route(&live, &s.peers[0]));
	plan_build(&plan, &s, &live);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "# bogus host route: endpoint 2001:db8:ffff:2::10 is routed into gw-brooklyn\n"
				     "ip -6 route del 2001:db8:ffff:2::10/128 dev gw-brooklyn proto 3\n"));
	free(text);
	plan_free(&plan);
	/* through the WAN it is fine */
	r6[0].oif = 3;
	assert_false(live_bogus_route(&live, &s.peers[0]));
	plan_build(&plan, &s, &live);
	assert_int_equal(count(&plan, STEP_ROUTE_DEL), 0);
	plan_free(&plan);
	config_free(&s);

	/* a dual-stack WAN, one peer over each family: the ip table's set holds
	 * the IPv4 peer's endpoint alone, the ip6 table's the IPv6 one's */
	assert_int_equal(config_parse(mixed, sizeof(mixed) - 1, "t.ini", &s, stderr), 0);
	plan_build(&plan, &s, NULL);
	assert_int_equal(plan.nft.n_endpoints, 1);
	assert_int_equal(plan.nft.endpoints[0], 0xac11030a);
	assert_int_equal(plan.nft.n_endpoints6, 1);
	text = plan_text(&plan);
	assert_non_null(strstr(text, "type ip6tnl mode any local 2001:db8:ffff:1::12 remote 2001:db8:ffff:2::10"));
	assert_non_null(strstr(text, "type ipip local 172.16.1.12 remote 172.17.3.10"));
	assert_null(strstr(text, "0.0.0.0"));
	free(text);
	plan_free(&plan);
	config_free(&s);
}

/* A route to a peer's IPv6 network that is not gatewayctl's (by hand, through
 * another link) stops up, as an IPv4 one does; gatewayctl's own does not. */
static void foreign_route6(void **state)
{
	struct site ds;
	struct live live;
	struct addr6_info a6 = { .ifindex = 2, .prefixlen = 64 };
	struct route6_info r6 = { .dst_len = 64, .oif = 2, .protocol = RTPROT_STATIC, .table = RT_TABLE_MAIN };
	char *out = NULL;
	size_t len;
	FILE *f;

	(void)state;
	assert_int_equal(config_load("sites/dual-stack/manhattan.ini", &ds, stderr), 0);
	healthy(&live);
	memcpy(&a6.local, ds.lan_address6.addr, 16);
	memcpy(&r6.dst, ds.peers[0].networks6[0].addr, 16);
	live.addrs6 = &a6;
	live.n_addrs6 = 1;
	live.routes6 = &r6;
	live.n_routes6 = 1;
	f = open_memstream(&out, &len);
	assert_int_equal(preflight(&ds, &live, f), 1);
	fclose(f);
	assert_non_null(strstr(out, "sites/dual-stack/manhattan.ini:15: error: peer brooklyn: an IPv6 route to "
				    "2001:db8:2::/64 exists that gatewayctl did not create (protocol 4); remove it first "
				    "(ip -6 route del 2001:db8:2::/64)"));
	free(out);
	r6.protocol = RTPROT_GATEWAYCTL;
	assert_int_equal(preflight(&ds, &live, stderr), 0);
	config_free(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(from_nothing),
		cmocka_unit_test(manage_interfaces),
		cmocka_unit_test(no_changes_when_healthy),
		cmocka_unit_test(drift_each_fixed_alone),
		cmocka_unit_test(bogus_host_route_deleted),
		cmocka_unit_test(relay_started_and_restarted),
		cmocka_unit_test(foreign_objects_left_alone),
		cmocka_unit_test(stale_peer_removed),
		cmocka_unit_test(unfinished_tunnel_adopted),
		cmocka_unit_test(strict_rp_filter_loosened),
		cmocka_unit_test(dual_stack),
		cmocka_unit_test(manage_interfaces6),
		cmocka_unit_test(ipv6_wan),
		cmocka_unit_test(foreign_route6),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
