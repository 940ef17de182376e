/* test_endpoints.c - endpoints given as DNS names or lists, wan_address and
 * gateway = auto: their parsing (config.c) and their filling before planning
 * (endpoints.c) against a real DNS server, dnsmasq on 127.0.0.1 (skipped when
 * dnsmasq is not installed). No root: auto reads `lo`. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "endpoints.h"
#include "resolve.h"
#include "rtnl.h"
#include "state.h"

static char dir[] = "/tmp/gwctl-test-endpoints.XXXXXX";
static pid_t dns_pid;

/* The site: [site] with WAN lines WAN, one peer with ENDPOINT */
static int load(const char *wan, const char *endpoint, struct site *s, char **errs)
{
	char path[300], *text;
	size_t len;
	FILE *f, *err;
	int r;

	snprintf(path, sizeof(path), "%s/site.ini", dir);
	if (asprintf(&text, "[site]\nname = manhattan\nlan = eth0\nlan_address = 192.168.1.126/24\nwan = eth1\n"
		     "%s\n\n[peer brooklyn]\nendpoint = %s\nnetworks = 192.168.2.0/24\n\n"
		     "[peer queens]\nendpoint = 172.18.0.1\nnetworks = 192.168.3.0/24\n", wan, endpoint) < 0)
		fail();
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	chmod(path, 0644);
	err = open_memstream(errs, &len);
	r = config_load(path, s, err);
	fclose(err);
	return r;
}

static const char *const fixed_wan = "wan_address = 172.16.1.12/27\ngateway = 172.16.1.30";

static void names_and_lists_parse(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	assert_int_equal(load(fixed_wan, "brooklyn.lab.test", &s, &errs), 0);
	assert_string_equal(errs, "");
	assert_true(s.peers[0].endpoint_named);
	assert_int_equal(s.peers[0].n_eps, 1);
	assert_string_equal(s.peers[0].eps[0].name, "brooklyn.lab.test");
	assert_int_equal(s.peers[0].endpoint, 0);	/* until filled */
	assert_false(s.peers[1].endpoint_named);
	config_free(&s);
	free(errs);

	assert_int_equal(load(fixed_wan, "172.17.2.10, brooklyn.lab.test,172.17.2.11", &s, &errs), 0);
	assert_int_equal(s.peers[0].n_eps, 3);
	assert_int_equal(s.peers[0].endpoint, 0xac11020a);	/* the first address */
	assert_null(s.peers[0].eps[0].name);
	assert_int_equal(s.peers[0].eps[2].addr, 0xac11020b);
	config_free(&s);
	free(errs);
}

static void auto_parses(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	assert_int_equal(load("wan_address = auto\ngateway = AUTO", "172.17.2.10", &s, &errs), 0);
	assert_string_equal(errs, "");
	assert_true(s.wan_auto);
	assert_true(s.gateway_auto);
	assert_int_equal(s.wan_address.addr, 0);
	assert_int_equal(s.gateway, 0);
	assert_int_equal(s.line_gateway, 7);
	config_free(&s);
	free(errs);
}

static void expect_error(const char *wan, const char *endpoint, const char *text)
{
	struct site s;
	char *errs;

	assert_int_equal(load(wan, endpoint, &s, &errs), -1);
	if (!strstr(errs, text))
		fail_msg("for `endpoint = %s`: no \"%s\" in:\n%s", endpoint, text, errs);
	free(errs);
}

static void bad_endpoints_refused(void **state)
{
	char long_name[300];

	(void)state;
	memset(long_name, 'a', 250);
	strcpy(long_name + 250, ".net");
	expect_error(fixed_wan, "brooklyn_gw.lab.test", "site.ini:10: error: `endpoint`: `brooklyn_gw.lab.test` is "
		     "neither an IPv4 address nor a DNS name");
	expect_error(fixed_wan, "-x.lab.test", "neither an IPv4 address nor a DNS name");
	expect_error(fixed_wan, "a..lab.test", "neither an IPv4 address nor a DNS name");
	expect_error(fixed_wan, long_name, "is longer than 253 characters");
	expect_error(fixed_wan, "172.17.2", "site.ini:10: error: `endpoint = 172.17.2`: expected the peer gateway's");
	expect_error(fixed_wan, "x.lab.test, X.LAB.TEST", "item 2 repeats item 1");
	expect_error(fixed_wan, "x.lab.test,", "an empty item");
	expect_error(fixed_wan, "a.t,b.t,c.t,d.t,e.t,f.t,g.t,h.t,i.t", "more than 8 endpoints");
	expect_error(fixed_wan, "x.lab.test, 192.168.1.7", "site.ini:10: error: endpoint 192.168.1.7 is inside the LAN");
	expect_error(fixed_wan, "x.lab.test, 192.168.3.7", "inside the tunnelled network 192.168.3.0/24 of peer queens");
	expect_error("wan_address = automatic", "x.lab.test", "site.ini:6: error: `wan_address = automatic`");
	expect_error("wan_address = auto\ngateway = 10.0.0.1.1", "x.lab.test", "site.ini:7: error: `gateway = ");
}

static void name_syntax(void **state)
{
	(void)state;
	assert_true(dns_name_valid("brooklyn"));
	assert_true(dns_name_valid("brooklyn.example.net."));
	assert_true(dns_name_valid("1a.example"));
	assert_false(dns_name_valid("1.2.3.4"));
	assert_false(dns_name_valid(""));
	assert_false(dns_name_valid("."));
	assert_false(dns_name_valid("a-.example"));
	assert_false(dns_name_valid("a b.example"));
	assert_false(dns_name_valid("ab.example.."));
}

static void wan_auto_from_dumps(void **state)
{
	struct addr_info a[] = {
		{ .ifindex = 3, .local = 0x0a000001, .prefixlen = 8 },
		{ .ifindex = 2, .local = 0xac100120, .prefixlen = 27, .flags = IFA_F_SECONDARY },
		{ .ifindex = 2, .local = 0xac10010c, .prefixlen = 27 },
	};
	struct route_info r[] = {
		{ .dst_len = 0, .oif = 3, .gateway = 0x0a0000fe, .type = RTN_UNICAST },
		{ .dst = 0xac100100, .dst_len = 27, .oif = 2, .type = RTN_UNICAST },
		{ .dst_len = 0, .oif = 2, .gateway = 0xac10011e, .type = RTN_UNICAST },
	};
	struct net4 addr;
	uint32_t gw;
	char why[100];

	(void)state;
	assert_int_equal(endpoints_wan_auto(2, a, 3, r, 3, &addr, &gw, why, sizeof(why)), 0);
	assert_int_equal(addr.addr, 0xac10010c);	/* the primary, not the secondary */
	assert_int_equal(addr.len, 27);
	assert_int_equal(gw, 0xac10011e);
	assert_int_equal(endpoints_wan_auto(4, a, 3, NULL, 0, &addr, NULL, why, sizeof(why)), -ENOENT);
	assert_string_equal(why, "it has no IPv4 address");
	assert_int_equal(endpoints_wan_auto(2, NULL, 0, r, 2, NULL, &gw, why, sizeof(why)), -ENOENT);
}

static void refusals_and_choice(void **state)
{
	struct site s;
	char *errs, why[200], buf[300];
	struct resolved res = { .n = 2, .addr = { 0xac11020a, 0xac11020b }, .ttl = 60 };

	(void)state;
	assert_int_equal(load(fixed_wan, "brooklyn.lab.test, 172.17.9.9", &s, &errs), 0);
	free(errs);
	assert_true(endpoints_refused(&s, &s.peers[0], 0xac10010c, why, sizeof(why)));
	assert_string_equal(why, "this gateway's own address");
	assert_true(endpoints_refused(&s, &s.peers[0], 0xc0a80105, why, sizeof(why)));
	assert_true(endpoints_refused(&s, &s.peers[0], 0xc0a80305, why, sizeof(why)));
	assert_string_equal(why, "inside network 192.168.3.0/24 of peer queens, which the tunnels carry");
	assert_true(endpoints_refused(&s, &s.peers[0], 0x7f000001, why, sizeof(why)));
	assert_false(endpoints_refused(&s, &s.peers[0], 0xac11020a, why, sizeof(why)));

	assert_int_equal(endpoints_take(&s, &s.peers[0], 0, &res, why, sizeof(why)), 0);
	assert_int_equal(endpoints_choose(&s.peers[0], 0), 0xac11020a);
	assert_int_equal(endpoints_choose(&s.peers[0], 0xac11020b), 0xac11020b);	/* kept */
	assert_int_equal(endpoints_choose(&s.peers[0], 0xac110909), 0xac110909);	/* the listed address */
	assert_int_equal(endpoints_choose(&s.peers[0], 0x01020304), 0xac11020a);	/* gone: the first */
	s.peers[0].endpoint = 0xac11020b;
	assert_string_equal(endpoints_describe(&s.peers[0], buf, sizeof(buf)), "brooklyn.lab.test (172.17.2.11, TTL 60 s)");
	s.peers[0].endpoint = 0xac110909;
	assert_string_equal(endpoints_describe(&s.peers[0], buf, sizeof(buf)), "172.17.9.9");

	res.addr[1] = 0xc0a80201;	/* into brooklyn's own network: refused, nothing kept */
	s.peers[0].eps[0].n_addrs = 0;
	assert_int_equal(endpoints_take(&s, &s.peers[0], 0, &res, why, sizeof(why)), -1);
	assert_string_equal(why, "it resolves to 192.168.2.1, inside network 192.168.2.0/24 of peer brooklyn, "
				 "which the tunnels carry: refused");
	assert_int_equal(s.peers[0].eps[0].n_addrs, 0);
	config_free(&s);
}

/* ---- against dnsmasq ----------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int setup(void **state)
{
	char port[32], servers[64];
	struct resolved res;
	int p = free_port();

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	setenv("GATEWAYCTL_RUNDIR", dir, 1);	/* no state file of the machine's */
	if (access("/usr/sbin/dnsmasq", X_OK) < 0 || p < 0)
		return 0;
	snprintf(port, sizeof(port), "--port=%d", p);
	dns_pid = fork();
	if (dns_pid == 0) {
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
		      "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1", port, "--pid-file=",
		      geteuid() == 0 ? "--user=root" : "--log-facility=/dev/null", "--local=/lab.test/",
		      "--host-record=brooklyn.lab.test,172.17.2.10,30",
		      "--host-record=self.lab.test,172.16.1.12,30",
		      "--host-record=inside.lab.test,172.17.2.20,30",
		      "--host-record=inside.lab.test,192.168.3.9,30",
		      "--host-record=queens.lab.test,172.18.0.1,30",
		      "--host-record=brooklyn6.lab.test,2001:db8:ffff:2::12,30",
		      "--host-record=two6.lab.test,2001:db8:ffff:2::12,60",
		      "--host-record=two6.lab.test,2001:db8:ffff:2::13,60",
		      "--host-record=self6.lab.test,2001:db8:ffff:1::12,30",
		      "--host-record=lan6.lab.test,2001:db8:1::5,30",
		      "--host-record=inside6.lab.test,2001:db8:3::9,30",
		      "--host-record=queens6.lab.test,2001:db8:ffff:3::12,30", (char *)NULL);
		_exit(127);
	}
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", p);
	setenv("GATEWAYCTL_DNS_SERVERS", servers, 1);
	for (int i = 0; i < 50; i++) {
		if (resolve_now("brooklyn.lab.test", &res) == 0)
			return 0;
		usleep(100000);
	}
	return -1;
}

static int teardown(void **state)
{
	char path[300];

	(void)state;
	if (dns_pid > 0) {
		kill(dns_pid, SIGTERM);
		waitpid(dns_pid, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/site.ini", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* fill the site of ENDPOINT; its errors into *ERRS */
static int fill(const char *wan, const char *endpoint, struct site *s, char **errs)
{
	size_t len;
	FILE *err;
	int r;

	assert_int_equal(load(wan, endpoint, s, errs), 0);
	free(*errs);
	err = open_memstream(errs, &len);
	r = endpoints_fill(s, NULL, EP_DNS_RESOLVE, err);
	fclose(err);
	return r;
}

static void fill_resolves(void **state)
{
	struct site s;
	char *errs, buf[200];

	(void)state;
	if (dns_pid <= 0)
		skip();
	assert_int_equal(fill(fixed_wan, "brooklyn.lab.test", &s, &errs), 0);
	assert_string_equal(errs, "");
	assert_int_equal(s.peers[0].endpoint, 0xac11020a);
	assert_int_equal(s.peers[1].endpoint, 0xac120001);
	assert_string_equal(endpoints_describe(&s.peers[0], buf, sizeof(buf)), "brooklyn.lab.test (172.17.2.10, TTL 30 s)");
	config_free(&s);
	free(errs);
}

static void fill_refuses(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	if (dns_pid <= 0)
		skip();
	assert_int_equal(fill(fixed_wan, "nothing.lab.test", &s, &errs), -1);
	assert_non_null(strstr(errs, "site.ini:10: error: peer brooklyn: endpoint nothing.lab.test: "));
	assert_non_null(strstr(errs, "check the name and the DNS servers"));
	assert_int_equal(s.peers[0].endpoint, 0);	/* nothing changed */
	assert_int_equal(s.peers[0].eps[0].n_addrs, 0);
	config_free(&s);
	free(errs);
	assert_int_equal(fill(fixed_wan, "self.lab.test", &s, &errs), -1);
	assert_non_null(strstr(errs, "site.ini:10: error: peer brooklyn: endpoint self.lab.test: it resolves to "
				     "172.16.1.12, this gateway's own address: refused"));
	config_free(&s);
	free(errs);
	assert_int_equal(fill(fixed_wan, "inside.lab.test", &s, &errs), -1);
	assert_non_null(strstr(errs, "192.168.3.9, inside network 192.168.3.0/24 of peer queens"));
	config_free(&s);
	free(errs);
	assert_int_equal(fill(fixed_wan, "queens.lab.test", &s, &errs), -1);
	assert_non_null(strstr(errs, "resolves to 172.18.0.1, the endpoint of peer queens (line 14) too"));
	config_free(&s);
	free(errs);
}

/* A site whose WAN is IPv6 only, its peer brooklyn's `endpoint = ENDPOINT`
 * (names looked up as IPv6), filled with the state file holding RECORDED
 * (NULL: none) as brooklyn's endpoint in use; errors into *ERRS */
static int fill6(const char *endpoint, const char *recorded, struct site *s, char **errs)
{
	char path[300], *text;
	size_t len;
	FILE *f, *err;
	struct state st;
	int r;

	snprintf(path, sizeof(path), "%s/site.ini", dir);
	if (asprintf(&text, "[site]\nname = manhattan\nlan = eth0\nlan_address = 192.168.1.126/24, 2001:db8:1::126/64\n"
		     "wan = eth1\nwan_address = 2001:db8:ffff:1::12/64\n\n[peer brooklyn]\nendpoint = %s\n"
		     "networks = 192.168.2.0/24, 2001:db8:2::/64\n\n[peer queens]\nendpoint = 2001:db8:ffff:3::12\n"
		     "networks = 192.168.3.0/24, 2001:db8:3::/64\n", endpoint) < 0)
		fail();
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	state_init(&st, "manhattan");
	snprintf(st.file, sizeof(st.file), "%s", path);
	if (recorded) {
		strcpy(st.endpoints[0].peer, "brooklyn");
		st.endpoints[0].v6 = true;
		assert_int_equal(parse_ip6(recorded, st.endpoints[0].addr6), 0);
		st.n_endpoints = 1;
	}
	assert_int_equal(state_write(&st), 0);
	err = open_memstream(errs, &len);
	assert_int_equal(config_load(path, s, err), 0);
	assert_true(s->peers[0].endpoint_v6);
	r = endpoints_fill(s, NULL, EP_DNS_RESOLVE, err);
	fclose(err);
	return r;
}

/* names on an IPv6-only WAN: AAAA, the same refusals, the recorded choice kept */
static void fill_resolves_ipv6(void **state)
{
	struct site s;
	struct state st;
	char *errs, buf[200], a[IP6_STRLEN];

	(void)state;
	if (dns_pid <= 0)
		skip();
	assert_int_equal(fill6("brooklyn6.lab.test", NULL, &s, &errs), 0);
	assert_string_equal(errs, "");
	assert_string_equal(ip6_str(s.peers[0].endpoint6, a), "2001:db8:ffff:2::12");
	assert_int_equal(s.peers[0].endpoint, 0);
	assert_string_equal(endpoints_describe(&s.peers[0], buf, sizeof(buf)),
			    "brooklyn6.lab.test (2001:db8:ffff:2::12, TTL 30 s)");
	endpoints_record(&s, &st);
	assert_int_equal(st.n_endpoints, 1);
	assert_true(st.endpoints[0].v6);
	assert_memory_equal(st.endpoints[0].addr6, s.peers[0].endpoint6, 16);
	config_free(&s);
	free(errs);
	/* two addresses: the recorded one kept while it is among them, else the first */
	assert_int_equal(fill6("two6.lab.test", "2001:db8:ffff:2::13", &s, &errs), 0);
	assert_string_equal(ip6_str(s.peers[0].endpoint6, a), "2001:db8:ffff:2::13");
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("two6.lab.test", "2001:db8:ffff:2::99", &s, &errs), 0);
	ip6_str(s.peers[0].endpoint6, a);	/* the first in the DNS's order (dnsmasq turns it) */
	assert_true(!strcmp(a, "2001:db8:ffff:2::12") || !strcmp(a, "2001:db8:ffff:2::13"));
	config_free(&s);
	free(errs);
	/* a list of IPv6 addresses and a name: the recorded one kept (failover's) */
	assert_int_equal(fill6("2001:db8:ffff:2::20, brooklyn6.lab.test", "2001:db8:ffff:2::12", &s, &errs), 0);
	assert_string_equal(ip6_str(s.peers[0].endpoint6, a), "2001:db8:ffff:2::12");
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("six.nothing.lab.test", NULL, &s, &errs), -1);
	assert_non_null(strstr(errs, "site.ini:9: error: peer brooklyn: endpoint six.nothing.lab.test: "));
	assert_true(ip6_zero(s.peers[0].endpoint6));
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("brooklyn.lab.test", NULL, &s, &errs), -1);	/* A only */
	assert_non_null(strstr(errs, "brooklyn.lab.test: the name has no IPv6 address"));
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("self6.lab.test", NULL, &s, &errs), -1);
	assert_non_null(strstr(errs, "it resolves to 2001:db8:ffff:1::12, this gateway's own address: refused"));
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("lan6.lab.test", NULL, &s, &errs), -1);
	assert_non_null(strstr(errs, "it resolves to 2001:db8:1::5, inside this site's IPv6 LAN 2001:db8:1::/64"));
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("inside6.lab.test", NULL, &s, &errs), -1);
	assert_non_null(strstr(errs, "2001:db8:3::9, inside network 2001:db8:3::/64 of peer queens"));
	config_free(&s);
	free(errs);
	assert_int_equal(fill6("queens6.lab.test", NULL, &s, &errs), -1);
	assert_non_null(strstr(errs, "resolves to 2001:db8:ffff:3::12, the endpoint of peer queens (line 13) too"));
	config_free(&s);
	free(errs);
}

static void fill_auto_from_lo(void **state)
{
	struct site s;
	char *errs;

	(void)state;
	/* lo's 127.0.0.1/8, read through rtnetlink (a dump needs no privilege) */
	assert_int_equal(load("wan_address = auto", "172.17.2.10", &s, &errs), 0);
	free(errs);
	strcpy(s.wan, "lo");
	{
		size_t len;
		FILE *err = open_memstream(&errs, &len);

		assert_int_equal(endpoints_fill(&s, NULL, EP_DNS_RESOLVE, err), 0);
		fclose(err);
	}
	assert_string_equal(errs, "");
	assert_int_equal(s.wan_address.addr, 0x7f000001);
	assert_int_equal(s.wan_address.len, 8);
	free(errs);
	config_free(&s);

	assert_int_equal(load("wan_address = auto\ngateway = auto", "172.17.2.10", &s, &errs), 0);
	free(errs);
	strcpy(s.wan, "lo");
	{
		size_t len;
		FILE *err = open_memstream(&errs, &len);

		/* the one problem is the gateway: said as such, the rest filled
		 * without one (status judges it; up stops) */
		assert_int_equal(endpoints_fill(&s, NULL, EP_DNS_RESOLVE, err), ENDPOINTS_NO_GATEWAY);
		fclose(err);
	}
	assert_non_null(strstr(errs, "site.ini:7: error: `gateway = auto`: the WAN interface lo: it has no default "
				     "route through a gateway"));
	assert_int_equal(s.wan_address.addr, 0x7f000001);
	assert_int_equal(s.gateway, 0);
	free(errs);
	config_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_lists_parse),
		cmocka_unit_test(auto_parses),
		cmocka_unit_test(bad_endpoints_refused),
		cmocka_unit_test(name_syntax),
		cmocka_unit_test(wan_auto_from_dumps),
		cmocka_unit_test(refusals_and_choice),
		cmocka_unit_test(fill_resolves),
		cmocka_unit_test(fill_refuses),
		cmocka_unit_test(fill_resolves_ipv6),
		cmocka_unit_test(fill_auto_from_lo),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
