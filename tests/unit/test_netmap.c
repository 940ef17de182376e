/* test_netmap.c - src/netmap.c: the map of one address, parsing, and the free
 * prefixes the cross-site check suggests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netmap.h"

static uint32_t ip(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(parse_ip4(s, &a), 0);
	return a;
}

static void test_out(void **state)
{
	struct site s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.lan_address = (struct net4){ ip("192.168.1.126"), 24 };
	/* no map: every address as it is */
	assert_int_equal(netmap_out(&s, ip("192.168.1.5")), ip("192.168.1.5"));
	assert_int_equal(netmap_seen(&s).addr, ip("192.168.1.0"));
	s.netmap = (struct net4){ ip("10.1.1.0"), 24 };
	assert_int_equal(netmap_out(&s, ip("192.168.1.5")), ip("10.1.1.5"));
	assert_int_equal(netmap_out(&s, ip("192.168.1.126")), ip("10.1.1.126"));
	/* outside the LAN: unchanged */
	assert_int_equal(netmap_out(&s, ip("192.168.2.5")), ip("192.168.2.5"));
	assert_int_equal(netmap_seen(&s).addr, ip("10.1.1.0"));
	/* a /23 keeps the host part's ninth bit */
	s.lan_address = (struct net4){ ip("192.168.0.1"), 23 };
	s.netmap = (struct net4){ ip("10.2.0.0"), 23 };
	assert_int_equal(netmap_out(&s, ip("192.168.1.7")), ip("10.2.1.7"));
}

static void test_parse(void **state)
{
	struct net4 n;
	char why[200];

	(void)state;
	assert_int_equal(netmap_parse("10.1.1.0/24", &n, why, sizeof(why)), 0);
	assert_int_equal(n.addr, ip("10.1.1.0"));
	assert_int_equal(n.len, 24);
	assert_int_equal(netmap_parse("10.1.1.5/24", &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "10.1.1.0/24"));
	assert_int_equal(netmap_parse("10.1.1.0", &n, why, sizeof(why)), -1);
	assert_int_equal(netmap_parse("10.1.1.0/0", &n, why, sizeof(why)), -1);
	assert_int_equal(netmap_parse("10.1.1.0/31", &n, why, sizeof(why)), -1);
	assert_int_equal(netmap_parse("", &n, why, sizeof(why)), -1);
}

static void test_free_prefixes(void **state)
{
	struct net4 used[] = { { ip("10.1.0.0"), 24 }, { ip("10.1.1.0"), 24 }, { ip("192.168.1.0"), 24 } };
	struct net4 out[3];

	(void)state;
	assert_int_equal(netmap_free(used, 3, 24, out, 2), 2);
	assert_int_equal(out[0].addr, ip("10.1.2.0"));
	assert_int_equal(out[1].addr, ip("10.1.3.0"));
	/* all of 10/8 taken: 172.16/12 */
	used[0] = (struct net4){ ip("10.0.0.0"), 8 };
	assert_int_equal(netmap_free(used, 1, 24, out, 1), 1);
	assert_int_equal(out[0].addr, ip("172.17.0.0"));
	assert_int_equal(netmap_free(used, 1, 0, out, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_free_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
