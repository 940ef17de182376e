/* test_endpoints_watch.c - a watcher's endpoint names (endpoints_watch.c)
 * against dnsmasq on 127.0.0.1 whose record changes (a hosts file re-read on
 * SIGHUP): the new address is taken at the TTL, a forbidden one refused and
 * logged once, a server that stops answering leaves the old address (logged
 * once). The clock is the test's: no waiting for TTLs. Skipped without dnsmasq. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
#include "endpoints_watch.h"
#include "resolve.h"

static char dir[] = "/tmp/gwctl-test-ew.XXXXXX";
static char hosts[300], site_path[300], site6_path[300];
static const char *record6 = "2001:db8:ffff:2::12";	/* brooklyn6.lab.test's AAAA */
static pid_t dns_pid;
static char logged[4096];
static int n_logged;

static void log_line(void *arg, bool warning, const char *text)
{
	(void)arg;
	n_logged++;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s %s\n", warning ? "W" : "N", text);
}

static void set_record(const char *addr)
{
	FILE *f = fopen(hosts, "w");

	assert_non_null(f);
	fprintf(f, "%s brooklyn.lab.test\n%s brooklyn6.lab.test\n", addr, record6);
	fclose(f);
	if (dns_pid > 0)
		kill(dns_pid, SIGHUP);
	usleep(200000);	/* dnsmasq re-reads it */
}

static int setup(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char port[32], servers[64], addn[340];
	struct resolved res;
	FILE *f;

	(void)state;
	if (!mkdtemp(dir) || fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	close(fd);
	setenv("GATEWAYCTL_RUNDIR", dir, 1);
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	snprintf(site_path, sizeof(site_path), "%s/site.ini", dir);
	f = fopen(site_path, "w");
	fputs("[site]\nname = manhattan\nlan = eth0\nlan_address = 192.168.1.126/24\nwan = eth1\n"
	      "wan_address = 172.16.1.12/27\n\n[peer brooklyn]\nendpoint = brooklyn.lab.test\n"
	      "networks = 192.168.2.0/24\n\n[peer queens]\nendpoint = 172.18.0.1\nnetworks = 192.168.3.0/24\n", f);
	fclose(f);
	chmod(site_path, 0644);
	/* a site whose WAN is IPv6 only: the name looked up as IPv6 */
	snprintf(site6_path, sizeof(site6_path), "%s/site6.ini", dir);
	f = fopen(site6_path, "w");
	fputs("[site]\nname = manhattan6\nlan = eth0\nlan_address = 192.168.1.126/24, 2001:db8:1::126/64\n"
	      "wan = eth1\nwan_address = 2001:db8:ffff:1::12/64\n\n[peer brooklyn]\nendpoint = brooklyn6.lab.test\n"
	      "networks = 192.168.2.0/24\n\n[peer queens]\nendpoint = 2001:db8:ffff:3::12\n"
	      "networks = 192.168.3.0/24, 2001:db8:3::/64\n", f);
	fclose(f);
	chmod(site6_path, 0644);
	set_record("172.17.2.10");
	if (access("/usr/sbin/dnsmasq", X_OK) < 0)
		return 0;
	snprintf(port, sizeof(port), "--port=%d", ntohs(sa.sin_port));
	snprintf(addn, sizeof(addn), "--addn-hosts=%s", hosts);
	dns_pid = fork();
	if (dns_pid == 0) {
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
		      "--no-hosts", addn, "--local-ttl=2", "--bind-interfaces", "--listen-address=127.0.0.1", port,
		      "--pid-file=", geteuid() == 0 ? "--user=root" : "--log-facility=/dev/null",
		      "--local=/lab.test/", (char *)NULL);
		_exit(127);
	}
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", ntohs(sa.sin_port));
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
	(void)state;
	if (dns_pid > 0) {
		kill(dns_pid, SIGKILL);
		waitpid(dns_pid, NULL, 0);
	}
	unlink(hosts);
	unlink(site_path);
	unlink(site6_path);
	rmdir(dir);
	return 0;
}

/* The site as a repair loads it: parsed afresh, the watcher's addresses in, filled. */
static void repair_file(const char *path, struct ew *w, struct site *s, uint64_t now)
{
	FILE *err = fopen("/dev/null", "w");

	assert_int_equal(config_load(path, s, err), 0);
	ew_prepare(w, s);
	assert_int_equal(endpoints_fill(s, NULL, EP_DNS_RESOLVE, err), 0);
	fclose(err);
	ew_after(w, s, 1, now);
}

static void repair(struct ew *w, struct site *s, uint64_t now)
{
	repair_file(site_path, w, s, now);
}

/* Run the watcher's part of the loop at NOW until it wants a repair (true) or
 * has nothing more in flight (false). */
static bool run(struct ew *w, uint64_t now)
{
	for (int i = 0; i < 100; i++) {
		struct pollfd pfd[16];
		size_t n = ew_fds(w, pfd, 16);

		if (n)
			poll(pfd, n, 100);
		if (ew_ready(w, pfd, n, now))
			return true;
		if (!ew_fds(w, pfd, 16) && ew_deadline(w) > now)
			return false;
	}
	return false;
}

static void follows_the_record(void **state)
{
	struct ew w;
	struct site s;

	(void)state;
	if (dns_pid <= 0)
		skip();
	assert_int_equal(ew_init(&w, log_line, NULL), 0);
	repair(&w, &s, 0);
	assert_int_equal(s.peers[0].endpoint, 0xac11020a);
	config_free(&s);
	/* the TTL (2 s, clamped to 5) decides when it asks again */
	assert_int_equal(ew_deadline(&w), RESOLVE_TTL_MIN * 1000);
	assert_false(run(&w, 1000));	/* not due yet */

	set_record("172.17.2.20");
	assert_true(run(&w, 5000));
	repair(&w, &s, 5000);
	assert_int_equal(s.peers[0].endpoint, 0xac110214);
	assert_int_equal(s.peers[1].endpoint, 0xac120001);	/* the other peer as written */
	assert_non_null(strstr(logged, "N endpoint brooklyn.lab.test of peer brooklyn moved: 172.17.2.20 now "
				       "(was 172.17.2.10, TTL 5 s)"));
	config_free(&s);
	/* an unchanged answer: no repair */
	assert_false(run(&w, 10000));

	/* into queens' network: refused, logged once, the old address kept */
	set_record("192.168.3.9");
	n_logged = 0;
	logged[0] = '\0';
	assert_true(run(&w, 15000));
	repair(&w, &s, 15000);
	assert_int_equal(s.peers[0].endpoint, 0xac110214);
	config_free(&s);
	assert_true(run(&w, 20000));
	repair(&w, &s, 20000);
	assert_int_equal(s.peers[0].endpoint, 0xac110214);
	config_free(&s);
	assert_int_equal(n_logged, 1);
	assert_non_null(strstr(logged, "W endpoint brooklyn.lab.test of peer brooklyn now resolves to 192.168.3.9, "
				       "inside network 192.168.3.0/24 of peer queens, which the tunnels carry: "
				       "refused, keeping 172.17.2.20"));

	/* the server gone: the old address kept, logged once */
	set_record("172.17.2.20");
	assert_false(run(&w, 25000));
	kill(dns_pid, SIGKILL);
	waitpid(dns_pid, NULL, 0);
	dns_pid = 0;
	n_logged = 0;
	logged[0] = '\0';
	assert_false(run(&w, 30000));
	assert_false(run(&w, 35000));
	repair(&w, &s, 35000);
	assert_int_equal(s.peers[0].endpoint, 0xac110214);
	config_free(&s);
	assert_int_equal(n_logged, 1);
	assert_non_null(strstr(logged, "W endpoint brooklyn.lab.test of peer brooklyn does not resolve ("));
	assert_non_null(strstr(logged, "keeping 172.17.2.20"));
	ew_free(&w);
}

/* the same over an IPv6-only WAN: AAAA answers move the IPv6 endpoint */
static void follows_the_record_ipv6(void **state)
{
	struct ew w;
	struct site s;
	char a[IP6_STRLEN];

	(void)state;
	if (dns_pid <= 0)
		skip();
	assert_int_equal(ew_init(&w, log_line, NULL), 0);
	repair_file(site6_path, &w, &s, 0);
	assert_true(s.peers[0].endpoint_v6);
	assert_string_equal(ip6_str(s.peers[0].endpoint6, a), "2001:db8:ffff:2::12");
	config_free(&s);
	assert_false(run(&w, 1000));

	record6 = "2001:db8:ffff:2::22";
	set_record("172.17.2.10");
	n_logged = 0;
	logged[0] = '\0';
	assert_true(run(&w, 5000));
	repair_file(site6_path, &w, &s, 5000);
	assert_string_equal(ip6_str(s.peers[0].endpoint6, a), "2001:db8:ffff:2::22");
	assert_string_equal(ip6_str(s.peers[1].endpoint6, a), "2001:db8:ffff:3::12");
	assert_non_null(strstr(logged, "N endpoint brooklyn6.lab.test of peer brooklyn moved: 2001:db8:ffff:2::22 "
				       "now (was 2001:db8:ffff:2::12, TTL 5 s)"));
	config_free(&s);
	assert_false(run(&w, 10000));

	/* into queens' IPv6 network: refused, the old address kept */
	record6 = "2001:db8:3::9";
	set_record("172.17.2.10");
	logged[0] = '\0';
	assert_true(run(&w, 15000));
	repair_file(site6_path, &w, &s, 15000);
	assert_string_equal(ip6_str(s.peers[0].endpoint6, a), "2001:db8:ffff:2::22");
	config_free(&s);
	assert_non_null(strstr(logged, "W endpoint brooklyn6.lab.test of peer brooklyn now resolves to 2001:db8:3::9, "
				       "inside network 2001:db8:3::/64 of peer queens, which the tunnels carry: "
				       "refused, keeping 2001:db8:ffff:2::22"));
	record6 = "2001:db8:ffff:2::12";
	set_record("172.17.2.10");
	ew_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(follows_the_record_ipv6),
		cmocka_unit_test(follows_the_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
