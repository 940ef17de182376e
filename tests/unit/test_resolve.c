/* test_resolve.c - src/resolve.c against a real DNS server: dnsmasq on
 * 127.0.0.1 and a port of the test's own, with records of chosen TTLs
 * (GATEWAYCTL_DNS_SERVERS points c-ares at it). Needs no root; skips when
 * dnsmasq (Debian's dnsmasq-base) is not installed. */
#define _GNU_SOURCE
#include <errno.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc.h"
#include "resolve.h"

static pid_t dns_pid;
static char servers[64];

static const char *dnsmasq(void)
{
	static const char *const paths[] = { "/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* A free UDP port on 127.0.0.1 (bound, read back, released). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int start_dns(void **state)
{
	const char *bin = dnsmasq();
	char port[32];
	int p;
	struct resolved res;

	(void)state;
	if (!bin)
		return 0;
	p = free_port();
	if (p < 0)
		return -1;
	snprintf(port, sizeof(port), "--port=%d", p);
	dns_pid = fork();
	if (dns_pid == 0) {
		execl(bin, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		      "--bind-interfaces", "--listen-address=127.0.0.1", port, "--pid-file=",
		      geteuid() == 0 ? "--user=root" : "--log-facility=/dev/null", "--local=/lab.test/",
		      "--host-record=one.lab.test,172.17.2.10,9",
		      "--host-record=short.lab.test,172.17.2.11,2",
		      "--host-record=long.lab.test,172.17.2.12,86400",
		      "--host-record=many.lab.test,10.0.0.1,60",
		      "--host-record=many.lab.test,10.0.0.2,60",
		      "--host-record=many.lab.test,10.0.0.3,60",
		      "--host-record=six.lab.test,2001:db8::1,60",
		      "--host-record=sixes.lab.test,2001:db8::2,30",
		      "--host-record=sixes.lab.test,2001:db8::3,30", (char *)NULL);
		_exit(127);
	}
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", p);
	setenv("GATEWAYCTL_DNS_SERVERS", servers, 1);
	/* ready once it answers */
	for (int i = 0; i < 50; i++) {
		if (resolve_now("one.lab.test", &res) == 0)
			return 0;
		usleep(100000);
	}
	return -1;
}

static int stop_dns(void **state)
{
	int status;

	(void)state;
	if (dns_pid > 0) {
		kill(dns_pid, SIGTERM);
		waitpid(dns_pid, &status, 0);
	}
	return 0;
}

/* every case starts with the lab's server, whatever the last one did */
static int use_lab(void **state)
{
	(void)state;
	setenv("GATEWAYCTL_DNS_SERVERS", servers, 1);
	return 0;
}

#define NEED_DNS() do { if (dns_pid <= 0) skip(); } while (0)

static void test_one_address_and_ttl(void **state)
{
	struct resolved r;

	(void)state;
	NEED_DNS();
	assert_int_equal(resolve_now("one.lab.test", &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.addr[0], 0xac11020a);
	assert_int_equal(r.ttl, 9);
	assert_string_equal(r.error, "");
}

static void test_ttl_clamped(void **state)
{
	struct resolved r;

	(void)state;
	NEED_DNS();
	assert_int_equal(resolve_now("short.lab.test", &r), 0);
	assert_int_equal(r.ttl, RESOLVE_TTL_MIN);
	assert_int_equal(resolve_now("long.lab.test", &r), 0);
	assert_int_equal(r.ttl, RESOLVE_TTL_MAX);
}

static void test_several_addresses(void **state)
{
	struct resolved r;
	int seen = 0;

	(void)state;
	NEED_DNS();
	assert_int_equal(resolve_now("many.lab.test", &r), 0);
	assert_int_equal(r.n, 3);
	for (size_t i = 0; i < r.n; i++) {
		assert_true(r.addr[i] >= 0x0a000001 && r.addr[i] <= 0x0a000003);
		seen |= 1 << (r.addr[i] - 0x0a000000);
	}
	assert_int_equal(seen, 0xe);
}

static void test_errors_say_what(void **state)
{
	struct resolved r;

	(void)state;
	NEED_DNS();
	assert_int_equal(resolve_now("nosuch.lab.test", &r), -ENOENT);
	assert_int_equal(r.n, 0);
	assert_non_null(strstr(r.error, "nosuch.lab.test: no such name"));
	assert_int_equal(resolve_now("six.lab.test", &r), -ENODATA);
	assert_non_null(strstr(r.error, "no IPv4 address"));
	assert_int_equal(resolve_now_af("one.lab.test", AF_INET6, &r), -ENODATA);
	assert_non_null(strstr(r.error, "one.lab.test: the name has no IPv6 address"));
}

/* AAAA: IPv6 addresses (network order) and their TTL; no A taken */
static void test_ipv6(void **state)
{
	struct resolved r;
	uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	int seen = 0;

	(void)state;
	NEED_DNS();
	assert_int_equal(resolve_now_af("six.lab.test", AF_INET6, &r), 0);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(r.n, 1);
	want[15] = 1;
	assert_memory_equal(r.addr6[0], want, 16);
	assert_in_range(r.ttl, 59, 60);
	assert_int_equal(resolve_now_af("sixes.lab.test", AF_INET6, &r), 0);
	assert_int_equal(r.n, 2);
	for (size_t i = 0; i < r.n; i++) {
		assert_memory_equal(r.addr6[i], want, 15);
		seen |= 1 << r.addr6[i][15];
	}
	assert_int_equal(seen, 0xc);
}

/* nobody listens: refused (ICMP port unreachable), and quickly */
static void test_server_gone(void **state)
{
	struct resolved r;
	char dead[64];
	uint64_t t0 = mono_ms();

	(void)state;
	snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
	setenv("GATEWAYCTL_DNS_SERVERS", dead, 1);
	assert_true(resolve_now("one.lab.test", &r) < 0);
	assert_int_equal(r.n, 0);
	assert_true(r.error[0]);
	assert_true(mono_ms() - t0 < RESOLVE_TIMEOUT_MS + 2000);
	setenv("GATEWAYCTL_DNS_SERVERS", "not an address", 1);
	assert_int_equal(resolve_now("one.lab.test", &r), -EINVAL);
	assert_non_null(strstr(r.error, "GATEWAYCTL_DNS_SERVERS"));
	setenv("GATEWAYCTL_DNS_SERVERS", servers, 1);
}

/* a server that never answers: the lookup times out, within the bound */
static void test_server_silent(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char silent[64];
	struct resolved r;
	uint64_t t0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(silent, sizeof(silent), "127.0.0.1:%d", ntohs(sa.sin_port));
	setenv("GATEWAYCTL_DNS_SERVERS", silent, 1);
	t0 = mono_ms();
	assert_int_equal(resolve_now("one.lab.test", &r), -ETIMEDOUT);
	assert_true(mono_ms() - t0 < RESOLVE_TIMEOUT_MS + 2000);
	assert_non_null(strstr(r.error, "no DNS server answered"));
	close(fd);
	setenv("GATEWAYCTL_DNS_SERVERS", servers, 1);
}

struct two {
	int done;
	struct resolved res[2];
};

static void got(const char *name, const struct resolved *res, void *arg)
{
	struct two *t = arg;

	t->res[!strcmp(name, "many.lab.test")] = *res;
	t->done++;
}

/* the asynchronous face: two lookups in flight in one poll loop */
static void test_async_two(void **state)
{
	struct resolver *r;
	struct two t = { 0 };
	char err[160];

	(void)state;
	NEED_DNS();
	assert_int_equal(resolver_new(&r, err, sizeof(err)), 0);
	assert_int_equal(resolver_timeout_ms(r), -1);
	assert_int_equal(resolver_start(r, "one.lab.test", got, &t), 0);
	assert_int_equal(resolver_start(r, "many.lab.test", got, &t), 0);
	for (int i = 0; i < 100 && t.done < 2; i++) {
		struct pollfd pfd[16];
		int n = resolver_pollfds(r, pfd, 16), to = resolver_timeout_ms(r);

		assert_true(n >= 1 || t.done == 2);
		assert_true(to >= 0 && to <= RESOLVE_TIMEOUT_MS);
		poll(pfd, (nfds_t)n, to);
		resolver_process(r, pfd, n);
	}
	assert_int_equal(t.done, 2);
	assert_int_equal(t.res[0].n, 1);
	assert_int_equal(t.res[1].n, 3);
	/* idle again: nothing to wait for */
	assert_int_equal(resolver_timeout_ms(r), -1);
	assert_int_equal(resolver_pollfds(r, (struct pollfd[16]){ { 0 } }, 16), 0);
	resolver_free(r);
}

/* freeing a resolver with a lookup in flight calls it back, cancelled */
static void test_free_cancels(void **state)
{
	struct resolver *r;
	struct two t = { 0 };
	char err[160];

	(void)state;
	NEED_DNS();
	assert_int_equal(resolver_new(&r, err, sizeof(err)), 0);
	assert_int_equal(resolver_start(r, "one.lab.test", got, &t), 0);
	resolver_free(r);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.res[0].status, -ECANCELED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_one_address_and_ttl, use_lab),
		cmocka_unit_test_setup(test_ttl_clamped, use_lab),
		cmocka_unit_test_setup(test_several_addresses, use_lab),
		cmocka_unit_test_setup(test_errors_say_what, use_lab),
		cmocka_unit_test_setup(test_ipv6, use_lab),
		cmocka_unit_test_setup(test_server_gone, use_lab),
		cmocka_unit_test_setup(test_server_silent, use_lab),
		cmocka_unit_test_setup(test_async_two, use_lab),
		cmocka_unit_test_setup(test_free_cancels, use_lab),
	};

	return cmocka_run_group_tests(tests, start_dns, stop_dns);
}
