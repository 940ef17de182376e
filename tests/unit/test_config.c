/* test_config.c - the site file loader and its validation */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[] = "/tmp/gwctl-test-config.XXXXXX";

/* Write TEXT to a fresh file, load it; errors go to *ERRS (caller frees). */
static int load_text(const char *text, struct site *site, char **errs)
{
	char path[256];
	size_t len;
	FILE *f, *err;
	int r;
	static int n;

	snprintf(path, sizeof(path), "%s/t%d.ini", dir, n++);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
	err = open_memstream(errs, &len);
	assert_non_null(err);
	r = config_load(path, site, err);
	fclose(err);
	unlink(path);
	return r;
}

static const char *const manhattan =
	"[site]\n"
	"name = manhattan\n"
	"lan = eth0\n"
	"lan_address = 192.168.1.126/24\n"
	"wan = eth1\n"
	"wan_address = 172.16.1.12/27\n"
	"gateway = 172.16.1.30\n"
	"\n"
	"[peer brooklyn]\n"
	"endpoint = 172.17.2.10\n"
	"networks = 192.168.2.0/24\n"
	"lan_address = 192.168.2.126\n"
	"\n"
	"[relay]\n"
	"ports = 6799\n";

static void loads_reference_files(void **state)
{
	struct site s;
	char *errs = NULL;
	size_t len;
	FILE *err = open_memstream(&errs, &len);

	(void)state;
	assert_int_equal(config_load("sites/manhattan.ini", &s, err), 0);
	fclose(err);
	assert_string_equal(errs, "");
	free(errs);
	assert_string_equal(s.name, "manhattan");
	assert_string_equal(s.lan, "eth0");
	assert_int_equal(s.lan_address.addr, 0xc0a8017e);
	assert_int_equal(s.lan_address.len, 24);
	assert_int_equal(s.wan_address.addr, 0xac10010c);
	assert_int_equal(s.wan_address.len, 27);
	assert_int_equal(s.gateway, 0xac10011e);
	assert_int_equal(s.n_peers, 1);
	assert_string_equal(s.peers[0].name, "brooklyn");
	assert_int_equal(s.peers[0].endpoint, 0xac11020a);
	assert_int_equal(s.peers[0].n_networks, 1);
	assert_int_equal(s.peers[0].networks[0].addr, 0xc0a80200);
	assert_string_equal(s.peers[0].tunnel, "gw-brooklyn");
	assert_int_equal(s.peers[0].ttl, 64);
	assert_int_equal(s.peers[0].lan_address, 0xc0a8027e);
	assert_int_equal(s.peers[0].mtu, 0);
	assert_true(s.relay.enabled);
	assert_int_equal(s.relay.n_ports, 1);
	assert_int_equal(s.relay.ports[0], 6799);
	assert_true(s.peers[0].relay);
	config_free(&s);

	err = open_memstream(&errs, &len);
	assert_int_equal(config_load("sites/brooklyn.ini", &s, err), 0);
	fclose(err);
	free(errs);
	assert_string_equal(s.name, "brooklyn");
	assert_int_equal(s.wan_address.len, 28);
	assert_int_equal(s.gateway, 0xac11020e);
	assert_int_equal(s.peers[0].endpoint, 0xac10010c);
	config_free(&s);
}

static void defaults(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	assert_int_equal(load_text(manhattan, &s, &errs), 0);
	free(errs);
	assert_false(s.manage_interfaces);
	assert_true(s.forwarding);
	assert_true(s.mss_clamp);
	assert_true(s.peers[0].masquerade);
	assert_int_equal(s.relay.transport, RELAY_DEFAULT_TRANSPORT);
	assert_int_equal(s.relay.rate, RELAY_DEFAULT_RATE);
	assert_true(s.relay.preserve_source);
	assert_string_equal(s.relay.user, "nobody");
	config_free(&s);
}

/* [site] probe_interval (issue 20): default 10 s, 0 = no periodic probes,
 * decimal up to 3600 (bad values: tests/corpus/probe-interval-*) */
static int probe_interval_of(const char *value)
{
	struct site s;
	char *errs, *text;
	const char *at = strstr(manhattan, "[peer");
	int r;

	assert_true(asprintf(&text, "%.*sprobe_interval = %s\n%s", (int)(at - manhattan), manhattan, value, at) > 0);
	r = load_text(text, &s, &errs);
	free(text);
	if (r < 0) {
		fprintf(stderr, "%s", errs);
		free(errs);
		return -1;
	}
	free(errs);
	r = s.probe_interval;
	config_free(&s);
	return r;
}

static void probe_interval_values(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	assert_int_equal(load_text(manhattan, &s, &errs), 0);
	free(errs);
	assert_int_equal(s.probe_interval, 10);
	config_free(&s);
	assert_int_equal(probe_interval_of("0"), 0);
	assert_int_equal(probe_interval_of("1"), 1);
	assert_int_equal(probe_interval_of("3600"), 3600);
	assert_int_equal(probe_interval_of("030"), 30);
}

static void values_quoted_commented_and_cased(void **state)
{
	struct site s;
	char *errs;
	char *text;

	(void)state;
	assert_true(asprintf(&text, "%s\n[Peer Queens]\nEndpoint = \"172.18.0.5\"\nnetworks = 10.1.0.0/16 , 10.2.0.0/16 ; two\n"
			     "ttl = 010\nmtu = 1400\nmasquerade = off\ntunnel = q0\nlan_address = 10.1.0.1\n", manhattan) > 0);
	assert_int_equal(load_text(text, &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	free(text);
	assert_int_equal(s.n_peers, 2);
	assert_string_equal(s.peers[1].name, "queens");
	assert_int_equal(s.peers[1].endpoint, 0xac120005);
	assert_int_equal(s.peers[1].n_networks, 2);
	assert_int_equal(s.peers[1].networks[1].addr, 0x0a020000);
	assert_int_equal(s.peers[1].ttl, 10); /* decimal, not octal */
	assert_int_equal(s.peers[1].mtu, 1400);
	assert_false(s.peers[1].masquerade);
	assert_string_equal(s.peers[1].tunnel, "q0");
	config_free(&s);
}

static void relay_peers_subset(void **state)
{
	struct site s;
	char *errs, *text;

	(void)state;
	assert_true(asprintf(&text, "%s\npeers = queens\ntransport_port = 7000\nrate = 50\n"
			     "[peer queens]\nendpoint = 172.18.0.5\nnetworks = 10.1.0.0/16\nlan_address = 10.1.255.254\n", manhattan) > 0);
	assert_int_equal(load_text(text, &s, &errs), 0);
	free(errs);
	free(text);
	assert_false(s.peers[0].relay);
	assert_true(s.peers[1].relay);
	assert_int_equal(s.relay.transport, 7000);
	assert_int_equal(s.relay.rate, 50);
	config_free(&s);
}

/* All errors of a file come in one run, sorted by line. */
static void reports_every_error(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	assert_int_equal(load_text("[site]\nname = x\nlan = eth0\nlan_address = 1.2.3.4\nwan = eth1\n"
				   "wan_address = 5.6.7.8/24\nbogus = 1\n[peer p]\nendpoint = 9.9.9.9\n"
				   "networks = 10.0.0.1/8\n", &s, &errs), -1);
	assert_non_null(strstr(errs, ":4: error: `lan_address = 1.2.3.4`"));
	assert_non_null(strstr(errs, ":7: error: unknown key `bogus`"));
	assert_non_null(strstr(errs, ":10: error: `10.0.0.1/8` in `networks` has host bits set; did you mean `10.0.0.0/8`?"));
	assert_true(strstr(errs, ":4:") < strstr(errs, ":7:"));
	assert_true(strstr(errs, ":7:") < strstr(errs, ":10:"));
	free(errs);
	assert_null(s.peers);
}

static void many_peers(void **state)
{
	struct site s;
	char *errs, *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	fputs("[site]\nname = hub\nlan = eth0\nlan_address = 10.255.0.1/24\nwan = eth1\n"
	      "wan_address = 198.51.100.2/24\n", f);
	for (int i = 0; i < 1000; i++)
		fprintf(f, "[peer p%d]\nendpoint = 203.0.%d.%d\nnetworks = 10.%d.%d.0/24, 172.%d.%d.0/24\n",
			i, i / 250, i % 250 + 1, i / 250, i % 250, 16 + i / 250, i % 250);
	fclose(f);
	assert_int_equal(load_text(text, &s, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	free(text);
	assert_int_equal(s.n_peers, 1000);
	assert_string_equal(s.peers[999].tunnel, "gw-p999");
	config_free(&s);
}

static void address_helpers(void **state)
{
	struct net4 n;
	uint32_t a;
	char buf[20];

	(void)state;
	assert_int_equal(parse_ip4("10.0.0.1", &a), 0);
	assert_int_equal(a, 0x0a000001);
	assert_int_equal(parse_ip4("10.0.0", &a), -1);
	assert_int_equal(parse_ip4("10.0.0.01", &a), -1);
	assert_int_equal(parse_ip4("10.0.0.256", &a), -1);
	assert_int_equal(parse_ip4("10.0.0.1 ", &a), -1);
	assert_int_equal(parse_net4("0.0.0.0/0", &n), 0);
	assert_int_equal(parse_net4("1.2.3.4/33", &n), -1);
	assert_int_equal(parse_net4("1.2.3.4/", &n), -1);
	assert_int_equal(net4_mask(0), 0);
	assert_int_equal(net4_mask(32), 0xffffffff);
	assert_int_equal(net4_broadcast((struct net4){ 0xac10010c, 27 }), 0xac10011f);
	assert_true(net4_overlap((struct net4){ 0xc0a80000, 16 }, (struct net4){ 0xc0a80200, 24 }));
	assert_false(net4_overlap((struct net4){ 0xc0a80100, 24 }, (struct net4){ 0xc0a80200, 24 }));
	assert_string_equal(net4_str((struct net4){ 0xffffffff, 32 }, buf), "255.255.255.255/32");
	assert_true(ifname_valid("gw-brooklyn"));
	assert_false(ifname_valid("0123456789abcdef"));
	assert_false(ifname_valid("a/b"));
	assert_false(ifname_valid(".."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads_reference_files),
		cmocka_unit_test(defaults),
		cmocka_unit_test(values_quoted_commented_and_cased),
		cmocka_unit_test(probe_interval_values),
		cmocka_unit_test(relay_peers_subset),
		cmocka_unit_test(reports_every_error),
		cmocka_unit_test(many_peers),
		cmocka_unit_test(address_helpers),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return r;
}
