/* test_preflight.c - up's checks for tunnels over an IPv6-only WAN
 * (preflight.c, preflight6.c), against kernel states written by hand: the
 * WAN's IPv6 address, the route to each IPv6 endpoint (the longest prefix,
 * out of the WAN, routes into tunnels left out), the IPv6 gateway; no IPv4
 * address asked of a WAN that has none. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>

#include "model.h"
#include "preflight.h"

static struct site site;
static struct link_info links[3];
static struct addr_info addrs[1];
static struct addr6_info addrs6[2];
static struct route6_info routes6[4];

static int setup(void **state)
{
	(void)state;
	/* no state directory: no other site to clash with */
	setenv("GATEWAYCTL_RUNDIR", "/nonexistent/gatewayctl-test", 1);
	return config_load("sites/ipv6-wan/manhattan.ini", &site, stderr);
}

static int teardown(void **state)
{
	(void)state;
	config_free(&site);
	return 0;
}

static struct route6_info route6(const char *dst, uint8_t len, int oif, const char *gw, uint8_t type)
{
	struct route6_info r = { .dst_len = len, .oif = oif, .table = RT_TABLE_MAIN, .type = type,
				 .protocol = RTPROT_BOOT };

	assert_int_equal(parse_ip6(dst, r.dst.s6_addr), 0);
	if (gw)
		assert_int_equal(parse_ip6(gw, r.gateway.s6_addr), 0);
	return r;
}

/* Manhattan over the IPv6 internet, ready for up: eth0 with both LAN
 * addresses, eth1 with the IPv6 WAN address alone, default via fe80::1 */
static void ready(struct live *live)
{
	memset(live, 0, sizeof(*live));
	links[0] = (struct link_info){ .ifindex = 2, .name = "eth0", .flags = IFF_UP, .mtu = 1500 };
	links[1] = (struct link_info){ .ifindex = 3, .name = "eth1", .flags = IFF_UP, .mtu = 1500 };
	links[2] = (struct link_info){ .ifindex = 7, .name = "gw-brooklyn", .kind = "ip6tnl", .flags = IFF_UP,
				       .alias = "gatewayctl:manhattan/brooklyn", .mtu = 1460 };
	addrs[0] = (struct addr_info){ .ifindex = 2, .local = 0xc0a8017e, .prefixlen = 24 };
	addrs6[0] = (struct addr6_info){ .ifindex = 2, .prefixlen = 64 };
	memcpy(&addrs6[0].local, site.lan_address6.addr, 16);
	addrs6[1] = (struct addr6_info){ .ifindex = 3, .prefixlen = 64 };
	memcpy(&addrs6[1].local, site.wan_address6.addr, 16);
	routes6[0] = route6("::", 0, 3, "fe80::1", RTN_UNICAST);
	routes6[1] = route6("2001:db8:ffff:1::", 64, 3, NULL, RTN_UNICAST);
	live->links = links;
	live->n_links = 3;
	live->addrs = addrs;
	live->n_addrs = 1;
	live->addrs6 = addrs6;
	live->n_addrs6 = 2;
	live->routes6 = routes6;
	live->n_routes6 = 2;
	live_index(live);
}

/* preflight's words on a LIVE, and their number */
static int run(const struct live *live, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int n = preflight(&site, live, f);

	fclose(f);
	return n;
}

static void ready_passes(void **state)
{
	struct live live;
	char *out;

	(void)state;
	ready(&live);
	/* no IPv4 on the WAN, and none asked for */
	assert_int_equal(run(&live, &out), 0);
	assert_string_equal(out, "");
	free(out);
	/* a bogus host route into the tunnel is left out of the lookup (up deletes it) */
	routes6[2] = route6("2001:db8:ffff:2::10", 128, 7, NULL, RTN_UNICAST);
	live.n_routes6 = 3;
	live_index(&live);
	assert_int_equal(run(&live, &out), 0);
	free(out);
}

static void wan_address6_missing(void **state)
{
	struct live live;
	char *out;

	(void)state;
	ready(&live);
	live.n_addrs6 = 1;
	assert_int_equal(run(&live, &out), 1);
	assert_non_null(strstr(out, "manhattan.ini:10: error: `eth1` does not carry 2001:db8:ffff:1::12/64 "
				    "(wan_address); assign it (ip -6 address add 2001:db8:ffff:1::12/64 dev eth1)"));
	free(out);
	/* no WAN at all: said once, not again for its routes */
	strcpy(links[1].name, "eth9");
	live_index(&live);
	assert_int_equal(run(&live, &out), 1);
	assert_non_null(strstr(out, "manhattan.ini:9: error: interface `eth1` (wan) does not exist on this gateway"));
	free(out);
}

static void endpoint_unrouted(void **state)
{
	struct live live;
	char *out;

	(void)state;
	ready(&live);
	live.n_routes6 = 1;
	routes6[0] = route6("2001:db8:ffff:1::", 64, 3, NULL, RTN_UNICAST);	/* no default route */
	assert_int_equal(run(&live, &out), 2);
	assert_non_null(strstr(out, ":14: error: peer brooklyn: no IPv6 route to its endpoint 2001:db8:ffff:2::10: "
				    "the tunnel's packets could not leave; give the WAN `eth1` an IPv6 default route"));
	assert_non_null(strstr(out, ":11: error: `gateway = fe80::1`: the WAN `eth1` has no IPv6 default route "
				    "through it; add it (ip -6 route add default via fe80::1 dev eth1)"));
	free(out);
}

static void endpoint_elsewhere(void **state)
{
	struct live live;
	char *out;

	(void)state;
	ready(&live);
	/* a more specific route through the LAN wins over the default route */
	routes6[2] = route6("2001:db8:ffff:2::", 64, 2, NULL, RTN_UNICAST);
	live.n_routes6 = 3;
	live_index(&live);
	assert_int_equal(run(&live, &out), 1);
	assert_non_null(strstr(out, "error: peer brooklyn: its endpoint 2001:db8:ffff:2::10 is routed through `eth0` "
				    "(route 2001:db8:ffff:2::/64), not the WAN `eth1`"));
	free(out);
	/* unreachable */
	routes6[2] = route6("2001:db8:ffff::", 48, 0, NULL, RTN_UNREACHABLE);
	live_index(&live);
	assert_int_equal(run(&live, &out), 1);
	assert_non_null(strstr(out, "its endpoint 2001:db8:ffff:2::10 is unreachable here (route 2001:db8:ffff::/48"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ready_passes),
		cmocka_unit_test(wan_address6_missing),
		cmocka_unit_test(endpoint_unrouted),
		cmocka_unit_test(endpoint_elsewhere),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
