/* test_config6.c - IPv6 in the site file (issue 22): the net6 helpers, the keys
 * that take one address per family, IPv6 networks and endpoints */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "site.h"

/* Parse TEXT; errors go to *ERRS (caller frees). */
static int parse(const char *text, struct site *site, char **errs)
{
	size_t len;
	FILE *err = open_memstream(errs, &len);
	int r;

	assert_non_null(err);
	r = config_parse(text, strlen(text), "t.ini", site, err);
	fclose(err);
	return r;
}

static const uint8_t *a6(const char *s)
{
	static uint8_t a[4][16];
	static int k;

	k = (k + 1) % 4;
	assert_int_equal(parse_ip6(s, a[k]), 0);
	return a[k];
}

static struct net6 n6(const char *s)
{
	struct net6 n;

	assert_int_equal(parse_net6(s, &n), 0);
	return n;
}

static void parses_and_prints(void **state)
{
	uint8_t a[16];
	struct net6 n;
	char buf[NET6_STRLEN];

	(void)state;
	assert_int_equal(parse_ip6("2001:DB8:0:0::1", a), 0);
	assert_string_equal(ip6_str(a, buf), "2001:db8::1");
	assert_int_equal(parse_ip6("::ffff:192.0.2.1", a), 0);
	assert_int_equal(parse_ip6("fe80::1%eth0", a), -1);
	assert_int_equal(parse_ip6("[2001:db8::1]", a), -1);
	assert_int_equal(parse_ip6("2001:db8::12345", a), -1);
	assert_int_equal(parse_ip6("2001:db8:::1", a), -1);
	assert_int_equal(parse_ip6("1:2:3:4:5:6:7:8:9", a), -1);
	assert_int_equal(parse_ip6("192.0.2.1", a), -1);
	assert_int_equal(parse_ip6("", a), -1);
	assert_int_equal(parse_net6("2001:db8:1::/64", &n), 0);
	assert_int_equal(n.len, 64);
	assert_string_equal(net6_str(n, buf), "2001:db8:1::/64");
	assert_int_equal(parse_net6("::/0", &n), 0);
	assert_int_equal(n.len, 0);
	assert_int_equal(parse_net6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", &n), 0);
	assert_string_equal(net6_str(n, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_int_equal(parse_net6("2001:db8::/129", &n), -1);
	assert_int_equal(parse_net6("2001:db8::/064", &n), -1);
	assert_int_equal(parse_net6("2001:db8::/", &n), -1);
	assert_int_equal(parse_net6("2001:db8::/-1", &n), -1);
	assert_int_equal(parse_net6("2001:db8::/6 4", &n), -1);
	assert_int_equal(parse_net6("2001:db8::", &n), -1);
	assert_int_equal(parse_net6("10.0.0.0/8", &n), -1);
}

static void masks_and_relations(void **state)
{
	uint8_t m[16];
	static const uint8_t m65[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80 };
	char buf[NET6_STRLEN];

	(void)state;
	net6_mask(65, m);
	assert_memory_equal(m, m65, 16);
	net6_mask(0, m);
	assert_true(ip6_zero(m));
	assert_string_equal(net6_str(net6_network(n6("2001:db8:1::126/64")), buf), "2001:db8:1::/64");
	assert_string_equal(net6_str(net6_network(n6("2001:db8:1:ffff::1/49")), buf), "2001:db8:1:8000::/49");
	assert_true(net6_host_bits(n6("2001:db8:2::1/64")));
	assert_false(net6_host_bits(n6("2001:db8:2::/64")));
	assert_false(net6_host_bits(n6("2001:db8:2::1/128")));
	assert_true(net6_contains(n6("2001:db8:2::/64"), a6("2001:db8:2::ffff")));
	assert_false(net6_contains(n6("2001:db8:2::/64"), a6("2001:db8:2:1::")));
	assert_true(net6_overlap(n6("2001:db8::/32"), n6("2001:db8:2::/64")));
	assert_true(net6_overlap(n6("2001:db8:2::/64"), n6("2001:db8::/32")));
	assert_false(net6_overlap(n6("2001:db8:1::/64"), n6("2001:db8:2::/64")));
	assert_true(net6_overlap(n6("2001:db8:2:0:8000::/65"), n6("2001:db8:2::/64")));
	assert_false(net6_overlap(n6("2001:db8:2:0:8000::/65"), n6("2001:db8:2::/65")));
	assert_true(net6_inside(n6("2001:db8:2::/64"), n6("2001:db8::/32")));
	assert_false(net6_inside(n6("2001:db8::/32"), n6("2001:db8:2::/64")));
	assert_true(ip6_equal(a6("2001:db8::1"), a6("2001:0db8:0::0:1")));
}

static void unicast(void **state)
{
	(void)state;
	assert_true(ip6_unicast(a6("2001:db8::1")));
	assert_true(ip6_unicast(a6("fd00::1")));
	assert_true(ip6_unicast(a6("::2")));
	assert_false(ip6_unicast(a6("::")));
	assert_false(ip6_unicast(a6("::1")));
	assert_false(ip6_unicast(a6("ff02::1")));
	assert_false(ip6_unicast(a6("fe80::1")));
	assert_false(ip6_unicast(a6("febf::1")));
	assert_true(ip6_unicast(a6("fec0::1")));
	assert_false(ip6_unicast(a6("::ffff:192.0.2.1")));
	assert_true(ip6_link_local(a6("fe80::1")));
	assert_false(ip6_link_local(a6("fec0::1")));
}

static const char *const dual =
	"[site]\n"
	"name = manhattan\n"
	"lan = eth0\n"
	"lan_address = 2001:db8:1::126/64 , 192.168.1.126/24\n"	/* either order, blanks */
	"wan = eth1\n"
	"wan_address = 172.16.1.12/27, 2001:db8:ffff:1::12/64\n"
	"gateway = fe80::1, 172.16.1.30\n"
	"\n"
	"[peer brooklyn]\n"
	"endpoint = 2001:db8:ffff:2::10\n"
	"networks = 192.168.2.0/24, 2001:db8:2::/64, 10.2.0.0/16, 2001:db8:20::/48\n"
	"lan_address = 192.168.2.126, 2001:db8:2::126\n"
	"\n"
	"[peer queens]\n"
	"endpoint = 172.17.3.10\n"
	"networks = 192.168.3.0/24\n";

static void dual_stack_site(void **state)
{
	struct site s;
	char *errs = NULL, buf[NET6_STRLEN];
	const struct peer *b, *q;
	int line = 0;

	(void)state;
	assert_int_equal(parse(dual, &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	/* IPv4 exactly as before */
	assert_int_equal(s.lan_address.addr, 0xc0a8017e);
	assert_int_equal(s.lan_address.len, 24);
	assert_int_equal(s.wan_address.addr, 0xac10010c);
	assert_int_equal(s.gateway, 0xac10011e);
	assert_false(s.wan_auto);
	/* and IPv6 beside it */
	assert_string_equal(net6_str(s.lan_address6, buf), "2001:db8:1::126/64");
	assert_string_equal(net6_str(s.wan_address6, buf), "2001:db8:ffff:1::12/64");
	assert_string_equal(ip6_str(s.gateway6, buf), "fe80::1");
	b = &s.peers[0];
	q = &s.peers[1];
	assert_int_equal(b->n_networks, 2);
	assert_int_equal(b->networks[1].addr, 0x0a020000);
	assert_int_equal(b->n_networks6, 2);
	assert_string_equal(net6_str(b->networks6[0], buf), "2001:db8:2::/64");
	assert_string_equal(net6_str(b->networks6[1], buf), "2001:db8:20::/48");
	assert_true(b->endpoint_v6);
	assert_int_equal(b->endpoint, 0);
	assert_string_equal(ip6_str(b->endpoint6, buf), "2001:db8:ffff:2::10");
	assert_int_equal(b->n_eps, 1);
	assert_true(b->eps[0].ipv6);
	assert_int_equal(b->lan_address, 0xc0a8027e);
	assert_string_equal(ip6_str(b->lan_address6, buf), "2001:db8:2::126");
	/* an IPv4 peer of a dual-stack site stays IPv4 */
	assert_false(q->endpoint_v6);
	assert_int_equal(q->endpoint, 0xac11030a);
	assert_int_equal(q->n_networks6, 0);
	assert_true(ip6_zero(q->lan_address6));
	assert_true(site_has_ipv6(&s, &line));
	assert_int_equal(line, 4);
	config_free(&s);
}

static void ipv6_only_wan(void **state)
{
	struct site s;
	char *errs = NULL, buf[NET6_STRLEN];

	(void)state;
	assert_int_equal(parse("[site]\nname = a\nlan = eth0\nlan_address = 192.168.1.1/24\nwan = eth1\n"
			       "wan_address = 2001:db8:ffff:1::12/64\ngateway = 2001:db8:ffff:1::1\n"
			       "[peer b]\nendpoint = 2001:db8:ffff:2::10, 2001:db8:ffff:3::10\n"
			       "networks = 192.168.2.0/24\n", &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	/* no IPv4 WAN, and not auto: the IPv4 LAN goes 4in6 */
	assert_int_equal(s.wan_address.len, 0);
	assert_false(s.wan_auto);
	assert_int_equal(s.gateway, 0);
	assert_string_equal(ip6_str(s.gateway6, buf), "2001:db8:ffff:1::1");
	assert_int_equal(s.peers[0].n_eps, 2);
	assert_true(s.peers[0].endpoint_v6);
	assert_string_equal(ip6_str(s.peers[0].endpoint6, buf), "2001:db8:ffff:2::10");
	assert_int_equal(s.peers[0].n_networks6, 0);
	config_free(&s);
}

static void ipv4_files_unchanged(void **state)
{
	struct site s;
	char *errs = NULL;
	int line = 7;

	(void)state;
	assert_int_equal(parse("[site]\nname = a\nlan = eth0\nlan_address = 192.168.1.1/24\nwan = eth1\n"
			       "wan_address = auto\ngateway = auto\n[peer b]\nendpoint = b.example.net\n"
			       "networks = 192.168.2.0/24\n", &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_true(s.wan_auto);
	assert_true(s.gateway_auto);
	assert_false(site_has_ipv6(&s, &line));
	assert_int_equal(line, 0);
	config_free(&s);
}

/* A peer's IPv6 networks need the LAN's IPv6 address (their routes'
 * source): said at the lan_address line. Everything else of IPv6 loads: a
 * peer over IPv6 beside one over IPv4, lists of IPv6 endpoints, names on an
 * IPv6-only WAN (AAAA); a dual-stack WAN looks names up as IPv4. */
static void ipv6_needs_and_loads(void **state)
{
	struct site s;
	char *errs = NULL;

	(void)state;
	assert_int_equal(parse("[site]\nname = a\nlan = eth0\nlan_address = 192.168.1.1/24\nwan = eth1\n"
			       "wan_address = 172.16.1.12/27\n[peer b]\nendpoint = 172.17.2.10\n"
			       "networks = 192.168.2.0/24\n[peer c]\nendpoint = 172.17.3.10\n"
			       "networks = 192.168.3.0/24, fd00:3::/64\n", &s, &errs), -1);
	assert_string_equal(errs, "t.ini:4: error: peer c has IPv6 networks (line 12) and the LAN no IPv6 address: "
				  "add this gateway's IPv6 LAN address (`lan_address = IPv4/len, IPv6/len`), the "
				  "source of the routes to them\n");
	free(errs);
	assert_int_equal(parse("[site]\nname = a\nlan = eth0\nlan_address = 192.168.1.1/24, fd00:1::1/64\n"
			       "wan = eth1\nwan_address = 172.16.1.12/27, 2001:db8:f::1/64\n[peer b]\n"
			       "endpoint = 2001:db8:f::2\nnetworks = 192.168.2.0/24\n[peer c]\nendpoint = 172.17.3.10\n"
			       "networks = 192.168.3.0/24, fd00:3::/64\n", &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_true(s.peers[0].endpoint_v6);
	assert_false(s.peers[1].endpoint_v6);
	config_free(&s);
	assert_int_equal(parse("[site]\nname = a\nlan = eth0\nlan_address = 192.168.1.1/24, fd00:1::1/64\n"
			       "wan = eth1\nwan_address = 2001:db8:f::1/64\n[peer b]\n"
			       "endpoint = 2001:db8:f::2, 2001:db8:e::2\nnetworks = 192.168.2.0/24\n[peer c]\n"
			       "endpoint = c.example.net, 2001:db8:e::3\nnetworks = 192.168.3.0/24\n", &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_true(s.peers[1].endpoint_v6 && s.peers[1].endpoint_named);
	assert_true(ip6_zero(s.peers[1].endpoint6));	/* chosen once resolved */
	config_free(&s);
	assert_int_equal(parse("[site]\nname = a\nlan = eth0\nlan_address = 192.168.1.1/24\n"
			       "wan = eth1\nwan_address = 172.16.1.12/27, 2001:db8:f::1/64\n[peer b]\n"
			       "endpoint = b.example.net\nnetworks = 192.168.2.0/24\n", &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_false(s.peers[0].endpoint_v6);
	config_free(&s);
}

/* thousands of peers with IPv6 networks: an overlap between two of them found
 * at the later one's line (how long a file near the cap takes is bench/hub.sh's) */
static void many_ipv6_peers(void **state)
{
	struct site s;
	char *text = NULL, *errs = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	fprintf(f, "[site]\nname = hub\nlan = eth0\nlan_address = 192.168.1.126/24, 2001:db8:1::1/64\n"
		"wan = eth1\nwan_address = 172.16.1.12/27, 2001:db8:ffff:1::12/64\n");
	for (int i = 0; i < 3000; i++)
		fprintf(f, "[peer p%d]\nendpoint = 2001:db8:fffe:%x::1\nnetworks = 10.%d.%d.0/24, 2001:db8:%x::/48, "
			"fd00:%x:%x::/64\n", i, i, i / 250, i % 250, 0x1000 + i, i, i % 7);
	/* the last one inside p17's /48 (line 7 + 3 * 3000 + 3) */
	fprintf(f, "[peer last]\nendpoint = 2001:db8:fffd::1\nnetworks = 2001:db8:1011:5::/64\n");
	fclose(f);
	assert_int_equal(parse(text, &s, &errs), -1);
	assert_string_equal(errs, "t.ini:9009: error: network 2001:db8:1011:5::/64 overlaps 2001:db8:1011::/48 "
				  "of peer p17\n");
	free(errs);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_and_prints),
		cmocka_unit_test(masks_and_relations),
		cmocka_unit_test(unicast),
		cmocka_unit_test(dual_stack_site),
		cmocka_unit_test(ipv6_only_wan),
		cmocka_unit_test(ipv4_files_unchanged),
		cmocka_unit_test(ipv6_needs_and_loads),
		cmocka_unit_test(many_ipv6_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
