/* test_rtnl.c - rtnl.c against the running kernel, in a private network namespace.
 *
 * main() moves the process into a new network namespace (unshare) before the
 * tests; without root, or if that fails, every test is skipped. ipip tests run
 * only where the kernel can create ipip links (rtnl_probe_ipip); elsewhere the
 * probe must answer -EOPNOTSUPP. `ip` serves as an independent witness.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <linux/if.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rtnl.h"
#include "rtnl6.h"
#include "rtnl_tun.h"

static bool in_netns;		/* unshare() worked: tests may touch the kernel */
static int have_ipip = -1;	/* -1 unknown, else result of the probe == 0 */

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

struct fx {
	struct nl nl;
	int v0, v1;		/* veth pair, both up */
};

/* ---- helpers ----------------------------------------------------------- */

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Output of a command (malloc'd, never NULL). */
static char *capture(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	FILE *f;
	char *out = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	pclose(f);
	if (!out) {
		out = malloc(1);
		assert_non_null(out);
	}
	out[len] = '\0';
	return out;
}

static bool output_has(const char *needle, const char *fmt, const char *arg)
{
	char *out = capture(fmt, arg);
	bool r = strstr(out, needle) != NULL;

	if (!r)
		fprintf(stderr, "witness: \"%s\" not in: %s\n", needle, out);
	free(out);
	return r;
}

static bool output_lacks(const char *needle, const char *fmt, const char *arg)
{
	char *out = capture(fmt, arg);
	bool r = strstr(out, needle) == NULL;

	if (!r)
		fprintf(stderr, "witness: \"%s\" in: %s\n", needle, out);
	free(out);
	return r;
}

static long count_lines(const char *cmd)
{
	char *out = capture("%s", cmd);
	long n = 0;

	for (char *p = out; *p; p++)
		n += *p == '\n';
	free(out);
	return n;
}

static int ifindex_of(struct nl *nl, const char *name)
{
	struct link_info li;

	if (rtnl_link_by_name(nl, name, &li) < 0)
		return 0;
	return li.ifindex;
}

static const struct route_info *find_route(const struct route_info *r, size_t n,
					   uint32_t dst, uint8_t len)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].dst == dst && r[i].dst_len == len)
			return &r[i];
	return NULL;
}

static size_t count_proto(struct nl *nl, uint8_t proto)
{
	struct route_info *r;
	size_t n, c = 0;

	assert_int_equal(rtnl_routes(nl, &r, &n), 0);
	for (size_t i = 0; i < n; i++)
		c += r[i].protocol == proto;
	free(r);
	return c;
}

static int flush(struct nl *nl, struct rtnl_batch *b, size_t *failed)
{
	int ret = rtnl_flush(nl, b, failed);

	if (ret < 0)
		fprintf(stderr, "flush: %s (%d)\n", nl_strerror(nl), ret);
	return ret;
}

static struct route_info dev_route(uint32_t dst, uint8_t len, int oif)
{
	struct route_info r = { .dst = dst, .dst_len = len, .oif = oif,
				.protocol = RTPROT_GATEWAYCTL };
	return r;
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rtnl_batch *b;

	assert_non_null(f);
	*state = f;	/* even when skipping: tests may read f before skip() */
	if (!in_netns)
		return 0;
	assert_int_equal(nl_open(&f->nl, NETLINK_ROUTE), 0);
	sh("ip link del v0 2>/dev/null");
	assert_int_equal(sh("ip link add v0 type veth peer name v1"), 0);
	f->v0 = ifindex_of(&f->nl, "v0");
	f->v1 = ifindex_of(&f->nl, "v1");
	assert_true(f->v0 > 0 && f->v1 > 0);
	b = rtnl_batch_new();
	assert_non_null(b);
	rtnl_set_link(b, 1, true, 0);	/* lo */
	rtnl_set_link(b, f->v0, true, 0);
	rtnl_set_link(b, f->v1, true, 0);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	rtnl_batch_free(b);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	if (in_netns) {
		sh("ip link del v0 2>/dev/null");
		nl_close(&f->nl);
	}
	free(f);
	*state = NULL;
	return 0;
}

#define NEED_NETNS() do { if (!in_netns) skip(); } while (0)

/* ---- tests -------------------------------------------------------------- */

static void test_batch_basics(void **state)
{
	struct rtnl_batch *b = rtnl_batch_new();
	struct route_info r = dev_route(IP4(10, 0, 0, 0), 8, 1);
	(void)state;

	assert_non_null(b);
	assert_int_equal(rtnl_batch_count(b), 0);
	rtnl_add_route(b, &r);
	rtnl_del_route(b, &r);
	rtnl_set_alias(b, 1, "x");
	assert_int_equal(rtnl_batch_count(b), 3);
	assert_false(rtnl_applied(b, 0));
	assert_false(rtnl_applied(b, 3));
	rtnl_batch_reset(b);
	assert_int_equal(rtnl_batch_count(b), 0);
	rtnl_batch_free(b);
	rtnl_batch_free(NULL);
}

static void test_invalid_args(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct route_info r;
	struct ipip_spec sp = { .name = "much-too-long-a-name", .remote = IP4(10, 0, 0, 2) };
	size_t failed = 99;

	NEED_NETNS();
	b = rtnl_batch_new();
	r = dev_route(IP4(10, 50, 0, 0), 16, f->v0);
	rtnl_add_route(b, &r);
	rtnl_add_ipip(b, &sp);
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -EINVAL);
	assert_int_equal(failed, 1);
	assert_true(f->nl.err_msg[0] != '\0');
	/* nothing was sent */
	assert_false(rtnl_applied(b, 0));
	assert_int_equal(count_proto(&f->nl, RTPROT_GATEWAYCTL), 0);

	rtnl_batch_reset(b);
	r.dst_len = 33;
	rtnl_add_route(b, &r);
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -EINVAL);
	assert_int_equal(failed, 0);
	rtnl_batch_free(b);
}

static void test_probe_ipip(void **state)
{
	struct fx *f = *state;
	struct link_info *l;
	size_t n;
	int ret;

	NEED_NETNS();
	ret = rtnl_probe_ipip(&f->nl);
	if (ret == -EOPNOTSUPP) {
		/* This kernel has no ipip: it says so in an extended ack. */
		fprintf(stderr, "probe: no ipip here (\"%s\")\n", f->nl.err_msg);
		assert_true(f->nl.err_msg[0] != '\0');
		have_ipip = 0;
	} else {
		assert_int_equal(ret, 0);
		have_ipip = 1;
	}
	/* Nothing left behind. */
	assert_int_equal(rtnl_links(&f->nl, &l, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(l[i].name, "gwctl-pr"));
	free(l);
}

static void test_links_dump(void **state)
{
	struct fx *f = *state;
	struct link_info *l, li;
	size_t n;
	bool lo = false, v0 = false, v1 = false;

	NEED_NETNS();
	/* Some traffic on lo for the counters (ping is the witness's tool). */
	sh("ping -c 2 -i 0.2 -W 1 127.0.0.1 >/dev/null 2>&1");
	assert_int_equal(rtnl_links(&f->nl, &l, &n), 0);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].name, "lo") == 0) {
			lo = true;
			assert_int_equal(l[i].ifindex, 1);
			assert_string_equal(l[i].kind, "");
			assert_true(l[i].flags & IFF_UP);
			assert_true(l[i].flags & IFF_LOOPBACK);
			assert_true(l[i].tx_packets >= 2);
			assert_true(l[i].rx_bytes >= 2 * 84);
		} else if (strcmp(l[i].name, "v0") == 0) {
			v0 = true;
			assert_int_equal(l[i].ifindex, f->v0);
			assert_string_equal(l[i].kind, "veth");
			assert_int_equal(l[i].mtu, 1500);
			assert_int_equal(l[i].link, f->v1);
			assert_true(l[i].flags & IFF_UP);
		} else if (strcmp(l[i].name, "v1") == 0) {
			v1 = true;
			assert_int_equal(l[i].link, f->v0);
		}
	}
	free(l);
	assert_true(lo && v0 && v1);

	assert_int_equal(rtnl_link_by_name(&f->nl, "v1", &li), 0);
	assert_int_equal(li.ifindex, f->v1);
	assert_string_equal(li.kind, "veth");
	assert_int_equal(rtnl_link_by_name(&f->nl, "nosuchlink", &li), -ENODEV);
	assert_int_equal(rtnl_link_by_name(&f->nl, "", &li), -ENODEV);
	assert_int_equal(rtnl_link_by_name(&f->nl, "a-name-too-long-for-linux", &li), -ENODEV);
}

static void test_set_link(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct link_info li;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	rtnl_set_link(b, f->v0, false, 1400);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "v0", &li), 0);
	assert_false(li.flags & IFF_UP);
	assert_int_equal(li.mtu, 1400);
	assert_true(output_has("\"mtu\":1400", "ip -j link show %s", "v0"));

	rtnl_batch_reset(b);
	rtnl_set_link(b, f->v0, true, 0);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "v0", &li), 0);
	assert_true(li.flags & IFF_UP);
	assert_int_equal(li.mtu, 1400);	/* kept */
	rtnl_batch_free(b);
}

static void test_alias(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct link_info li;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	rtnl_set_alias(b, f->v0, RTNL_ALIAS_PREFIX "manhattan/brooklyn");
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "v0", &li), 0);
	assert_string_equal(li.alias, "gatewayctl:manhattan/brooklyn");
	assert_true(output_has("\"ifalias\":\"gatewayctl:manhattan/brooklyn\"",
			       "ip -j link show %s", "v0"));

	rtnl_batch_reset(b);
	rtnl_set_alias(b, f->v0, "");
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "v0", &li), 0);
	assert_string_equal(li.alias, "");
	assert_true(output_lacks("ifalias", "ip -j link show %s 2>&1", "v0"));
	rtnl_batch_free(b);
}

static void test_addr_route_batch(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct route_info r1 = dev_route(IP4(10, 20, 0, 0), 16, f->v0);
	struct route_info r2 = dev_route(IP4(10, 21, 0, 0), 16, f->v0);
	struct route_info *rt;
	const struct route_info *p;
	struct addr_info *a;
	size_t n, i;
	char *out;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	r1.prefsrc = IP4(10, 9, 0, 1);
	r2.gateway = IP4(10, 9, 0, 2);
	rtnl_add_addr(b, f->v0, IP4(10, 9, 0, 1), 24, IP4(10, 9, 0, 255));
	rtnl_add_addr(b, f->v1, IP4(10, 9, 0, 2), 24, 0);
	rtnl_add_route(b, &r1);
	rtnl_add_route(b, &r2);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	for (i = 0; i < rtnl_batch_count(b); i++)
		assert_true(rtnl_applied(b, i));

	/* addresses, filtered by link */
	assert_int_equal(rtnl_addrs(&f->nl, f->v0, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].ifindex, f->v0);
	assert_int_equal(a[0].local, IP4(10, 9, 0, 1));
	assert_int_equal(a[0].peer, IP4(10, 9, 0, 1));
	assert_int_equal(a[0].prefixlen, 24);
	assert_int_equal(a[0].broadcast, IP4(10, 9, 0, 255));
	free(a);
	assert_int_equal(rtnl_addrs(&f->nl, 0, &a, &n), 0);
	assert_true(n >= 3);	/* 127.0.0.1 on lo too */
	free(a);
	assert_true(output_has("\"local\":\"10.9.0.1\",\"prefixlen\":24,\"broadcast\":\"10.9.0.255\"",
			       "ip -j -4 addr show dev %s", "v0"));

	/* routes: ours, and the kernel's connected route */
	assert_int_equal(rtnl_routes(&f->nl, &rt, &n), 0);
	p = find_route(rt, n, IP4(10, 20, 0, 0), 16);
	assert_non_null(p);
	assert_int_equal(p->protocol, RTPROT_GATEWAYCTL);
	assert_int_equal(p->scope, RT_SCOPE_LINK);
	assert_int_equal(p->type, RTN_UNICAST);
	assert_int_equal(p->table, RT_TABLE_MAIN);
	assert_int_equal(p->oif, f->v0);
	assert_int_equal(p->gateway, 0);
	assert_int_equal(p->prefsrc, IP4(10, 9, 0, 1));
	p = find_route(rt, n, IP4(10, 21, 0, 0), 16);
	assert_non_null(p);
	assert_int_equal(p->scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(p->gateway, IP4(10, 9, 0, 2));
	assert_int_equal(p->oif, f->v0);
	p = find_route(rt, n, IP4(10, 9, 0, 0), 24);
	assert_non_null(p);
	assert_int_equal(p->protocol, RTPROT_KERNEL);
	/* table local is not in the dump */
	assert_null(find_route(rt, n, IP4(10, 9, 0, 1), 32));
	free(rt);

	/* witness: ip shows protocol 203 (no name for it on this machine, or "gatewayctl") */
	out = capture("ip -j route show table main");
	assert_true(strstr(out, "{\"dst\":\"10.20.0.0/16\",\"dev\":\"v0\",\"protocol\":\"203\"") ||
		    strstr(out, "{\"dst\":\"10.20.0.0/16\",\"dev\":\"v0\",\"protocol\":\"gatewayctl\""));
	assert_non_null(strstr(out, "\"prefsrc\":\"10.9.0.1\""));
	assert_non_null(strstr(out, "{\"dst\":\"10.21.0.0/16\",\"gateway\":\"10.9.0.2\",\"dev\":\"v0\""));
	free(out);
	assert_int_equal(count_lines("ip route show proto 203"), 2);

	/* delete: routes, then the address */
	rtnl_batch_reset(b);
	rtnl_del_route(b, &r1);
	rtnl_del_route(b, &r2);
	rtnl_del_addr(b, f->v1, IP4(10, 9, 0, 2), 24);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(count_lines("ip route show proto 203"), 0);
	assert_int_equal(rtnl_addrs(&f->nl, f->v1, &a, &n), 0);
	assert_int_equal(n, 0);
	assert_null(a);
	/* again: gone */
	rtnl_batch_reset(b);
	rtnl_del_addr(b, f->v1, IP4(10, 9, 0, 2), 24);
	assert_int_equal(rtnl_flush(&f->nl, b, NULL), -EADDRNOTAVAIL);
	rtnl_batch_free(b);

	assert_int_equal(rtnl_addrs(&f->nl, 999999, &a, &n), -ENODEV);
}

static void test_failure_in_middle(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct route_info r[3] = {
		dev_route(IP4(10, 30, 0, 0), 16, f->v0),
		dev_route(IP4(10, 31, 0, 0), 16, f->v0),
		dev_route(IP4(10, 32, 0, 0), 16, f->v0),
	};
	struct route_info *rt;
	size_t failed = 99, n, i;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	r[1].gateway = IP4(192, 0, 2, 1);	/* not on the link */
	for (i = 0; i < 3; i++)
		rtnl_add_route(b, &r[i]);
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -ENETUNREACH);
	assert_int_equal(failed, 1);
	fprintf(stderr, "kernel says: \"%s\"\n", f->nl.err_msg);
	assert_true(f->nl.err_msg[0] != '\0');	/* "Nexthop has invalid gateway" */
	assert_string_equal(nl_strerror(&f->nl), f->nl.err_msg);
	assert_true(rtnl_applied(b, 0));
	assert_false(rtnl_applied(b, 1));
	/* same chunk: the kernel went on with the next request */
	assert_true(rtnl_applied(b, 2));
	assert_int_equal(rtnl_routes(&f->nl, &rt, &n), 0);
	assert_non_null(find_route(rt, n, IP4(10, 30, 0, 0), 16));
	assert_null(find_route(rt, n, IP4(10, 31, 0, 0), 16));
	assert_non_null(find_route(rt, n, IP4(10, 32, 0, 0), 16));
	free(rt);

	/* rollback of what was applied */
	{
		struct rtnl_batch *undo = rtnl_batch_new();

		for (i = 0; i < rtnl_batch_count(b); i++)
			if (rtnl_applied(b, i))
				rtnl_del_route(undo, &r[i]);
		assert_int_equal(rtnl_batch_count(undo), 2);
		assert_int_equal(flush(&f->nl, undo, NULL), 0);
		rtnl_batch_free(undo);
	}
	assert_int_equal(count_proto(&f->nl, RTPROT_GATEWAYCTL), 0);

	/* an EEXIST, with the first request itself failing */
	rtnl_batch_reset(b);
	rtnl_add_route(b, &r[0]);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -EEXIST);
	assert_int_equal(failed, 0);
	assert_false(rtnl_applied(b, 0));
	rtnl_batch_free(b);
}

/* No chunk after the failed one is sent. */
static void test_failure_stops_later_chunks(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct route_info *rt;
	size_t failed = 0, n, i, applied = 0;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	for (i = 0; i < 300; i++) {
		struct route_info r = dev_route(IP4(10, 60, i >> 8, i & 0xff), 32,
						i == 10 ? 99999 : f->v0);
		rtnl_add_route(b, &r);
	}
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -ENODEV);
	assert_int_equal(failed, 10);
	/* no extended ack for this one: the message is strerror's */
	assert_string_equal(nl_strerror(&f->nl), strerror(ENODEV));
	for (i = 0; i < 300; i++)
		applied += rtnl_applied(b, i);
	assert_false(rtnl_applied(b, 10));
	assert_true(rtnl_applied(b, 0) && rtnl_applied(b, 9) && rtnl_applied(b, 11));
	assert_false(rtnl_applied(b, 299));
	/* the first chunk, minus the failed request */
	assert_true(applied >= 11 && applied < 299);
	assert_int_equal(rtnl_routes(&f->nl, &rt, &n), 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(find_route(rt, n, IP4(10, 60, i >> 8, i & 0xff), 32) != NULL,
				 rtnl_applied(b, i));
	free(rt);
	assert_int_equal(count_lines("ip route show proto 203"), (long)applied);
	rtnl_batch_free(b);
}

static void test_del_route_by_protocol(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct route_info mine = dev_route(IP4(10, 41, 0, 0), 16, f->v0);
	struct route_info theirs = dev_route(IP4(10, 40, 0, 0), 16, f->v0);

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	assert_int_equal(sh("ip route add 10.40.0.0/16 dev v0 proto static"), 0);
	rtnl_add_route(b, &mine);
	assert_int_equal(flush(&f->nl, b, NULL), 0);

	/* Someone else's route for the prefix: not ours to delete. */
	rtnl_batch_reset(b);
	rtnl_del_route(b, &theirs);
	assert_int_equal(rtnl_flush(&f->nl, b, NULL), -ESRCH);
	assert_true(output_has("10.40.0.0/16", "ip route show proto %s", "static"));

	rtnl_batch_reset(b);
	rtnl_del_route(b, &mine);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(count_lines("ip route show proto 203"), 0);
	assert_true(output_has("10.40.0.0/16", "ip route show proto %s", "static"));

	/* protocol 0 = any */
	theirs.protocol = 0;
	rtnl_batch_reset(b);
	rtnl_del_route(b, &theirs);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(output_lacks("10.40.0.0/16", "ip route show proto %s", "static"));
	rtnl_batch_free(b);
}

static void test_inet_conf(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	uint32_t v = 99;
	char *out;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	rtnl_set_inet_conf(b, f->v0, IPV4_DEVCONF_RP_FILTER, 2);
	rtnl_set_inet_conf(b, f->v0, IPV4_DEVCONF_FORWARDING, 1);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_inet_conf(&f->nl, f->v0, IPV4_DEVCONF_RP_FILTER, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(rtnl_inet_conf(&f->nl, f->v0, IPV4_DEVCONF_FORWARDING, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sysctl_read_u32("/proc/sys/net/ipv4/conf/v0/rp_filter", &v), 0);
	assert_int_equal(v, 2);
	out = capture("cat /proc/sys/net/ipv4/conf/v0/rp_filter /proc/sys/net/ipv4/conf/v0/forwarding");
	assert_string_equal(out, "2\n1\n");
	free(out);

	/* the other way round: /proc/sys, read back over netlink */
	assert_int_equal(sysctl_write_u32("/proc/sys/net/ipv4/conf/v0/rp_filter", 1), 0);
	assert_int_equal(rtnl_inet_conf(&f->nl, f->v0, IPV4_DEVCONF_RP_FILTER, &v), 0);
	assert_int_equal(v, 1);
	rtnl_batch_reset(b);
	rtnl_set_inet_conf(b, f->v0, IPV4_DEVCONF_RP_FILTER, 0);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(sysctl_read_u32("/proc/sys/net/ipv4/conf/v0/rp_filter", &v), 0);
	assert_int_equal(v, 0);

	assert_int_equal(rtnl_inet_conf(&f->nl, 999999, IPV4_DEVCONF_RP_FILTER, &v), -ENODEV);
	assert_int_equal(rtnl_inet_conf(&f->nl, f->v0, 0, &v), -EINVAL);
	rtnl_batch_reset(b);
	rtnl_set_inet_conf(b, f->v0, 0, 1);
	assert_int_equal(rtnl_flush(&f->nl, b, NULL), -EINVAL);
	rtnl_batch_free(b);
}

static void test_sysctl(void **state)
{
	uint32_t v, old;
	(void)state;

	NEED_NETNS();
	assert_int_equal(sysctl_read_u32("/proc/sys/net/ipv4/ip_forward", &old), 0);
	assert_int_equal(sysctl_write_u32("/proc/sys/net/ipv4/ip_forward", 1), 0);
	assert_int_equal(sysctl_read_u32("/proc/sys/net/ipv4/ip_forward", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sysctl_write_u32("/proc/sys/net/ipv4/ip_forward", old), 0);
	assert_int_equal(sysctl_read_u32("/proc/sys/net/ipv4/nosuch", &v), -ENOENT);
	assert_int_equal(sysctl_write_u32("/proc/sys/net/ipv4/nosuch", 1), -ENOENT);
	/* not a single number */
	assert_int_equal(sysctl_read_u32("/proc/sys/net/ipv4/ip_local_port_range", &v), -EINVAL);
}

static void test_many_routes(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct route_info *rt;
	struct timespec t0, t1;
	size_t n, i, mine = 0;
	const size_t N = 3000;
	double ms;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	for (i = 0; i < N; i++) {
		struct route_info r = dev_route(IP4(10, 128, 0, 0) + ((uint32_t)i << 8), 24, f->v0);

		rtnl_add_route(b, &r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "%zu routes in one flush: %.1f ms\n", N, ms);
	assert_true(ms < 5000);
	for (i = 0; i < N; i++)
		assert_true(rtnl_applied(b, i));
	assert_int_equal(rtnl_routes(&f->nl, &rt, &n), 0);
	for (i = 0; i < n; i++)
		mine += rt[i].protocol == RTPROT_GATEWAYCTL && rt[i].oif == f->v0 &&
			rt[i].dst_len == 24;
	assert_int_equal(mine, N);
	assert_non_null(find_route(rt, n, IP4(10, 128, 0, 0) + ((uint32_t)(N - 1) << 8), 24));
	free(rt);
	assert_int_equal(count_lines("ip route show proto 203"), (long)N);

	/* and all deleted in one flush */
	rtnl_batch_reset(b);
	for (i = 0; i < N; i++) {
		struct route_info r = dev_route(IP4(10, 128, 0, 0) + ((uint32_t)i << 8), 24, f->v0);
		rtnl_del_route(b, &r);
	}
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(count_proto(&f->nl, RTPROT_GATEWAYCTL), 0);
	rtnl_batch_free(b);
}

static void test_del_link(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct link_info li;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	rtnl_del_link(b, f->v1);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "v1", &li), -ENODEV);
	assert_int_equal(rtnl_link_by_name(&f->nl, "v0", &li), -ENODEV);	/* the pair */
	assert_int_equal(rtnl_flush(&f->nl, b, NULL), -ENODEV);
	rtnl_batch_free(b);
}

/* ---- ipip: creation must fail cleanly, or work fully --------------------- */

static void probe_once(struct nl *nl)
{
	if (have_ipip < 0)
		have_ipip = rtnl_probe_ipip(nl) == 0;
}

/* The alias step must not run when the creation failed: here the name is taken. */
static void test_ipip_name_taken(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct ipip_spec sp = { .name = "v0", .alias = RTNL_ALIAS_PREFIX "x/y",
				.local = IP4(10, 0, 0, 1), .remote = IP4(10, 0, 0, 2) };
	struct link_info li;
	size_t failed = 99;
	int ret;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	probe_once(&f->nl);
	rtnl_add_ipip(b, &sp);
	assert_int_equal(rtnl_batch_count(b), 1);
	ret = rtnl_flush(&f->nl, b, &failed);
	/* the kernel checks the name before the kind */
	assert_true(ret == -EEXIST || (!have_ipip && ret == -EOPNOTSUPP));
	assert_int_equal(failed, 0);
	assert_false(rtnl_applied(b, 0));
	assert_int_equal(rtnl_link_by_name(&f->nl, "v0", &li), 0);
	assert_string_equal(li.alias, "");
	assert_string_equal(li.kind, "veth");
	rtnl_batch_free(b);
}

static void test_ipip_create(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct ipip_spec t1 = { .name = "gwt1", .alias = RTNL_ALIAS_PREFIX "manhattan/brooklyn",
				.local = IP4(172, 16, 1, 12), .remote = IP4(172, 17, 2, 10),
				.ttl = 64, .pmtudisc = true, .mtu = 1400 };
	struct ipip_spec t2 = { .name = "gwt2", .local = IP4(172, 16, 1, 12),
				.remote = IP4(172, 18, 3, 10) };
	struct link_info li, *l;
	struct route_info r;
	size_t n, failed = 99;
	int ret, found = 0;

	NEED_NETNS();
	b = rtnl_batch_new();
	assert_non_null(b);
	probe_once(&f->nl);
	if (!have_ipip) {
		/* No ipip in this kernel: creation fails, cleanly. */
		rtnl_add_ipip(b, &t1);
		ret = rtnl_flush(&f->nl, b, &failed);
		assert_int_equal(ret, -EOPNOTSUPP);
		assert_int_equal(failed, 0);
		assert_false(rtnl_applied(b, 0));
		assert_true(f->nl.err_msg[0] != '\0');
		assert_int_equal(rtnl_link_by_name(&f->nl, "gwt1", &li), -ENODEV);
		rtnl_batch_free(b);
		skip();
	}
	rtnl_add_ipip(b, &t1);
	rtnl_add_ipip(b, &t2);
	assert_int_equal(rtnl_batch_count(b), 2);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(rtnl_applied(b, 0) && rtnl_applied(b, 1));

	assert_int_equal(rtnl_link_by_name(&f->nl, "gwt1", &li), 0);
	assert_string_equal(li.kind, "ipip");
	assert_string_equal(li.alias, "gatewayctl:manhattan/brooklyn");
	assert_int_equal(li.local, IP4(172, 16, 1, 12));
	assert_int_equal(li.remote, IP4(172, 17, 2, 10));
	assert_int_equal(li.ttl, 64);
	assert_int_equal(li.pmtudisc, 1);
	assert_int_equal(li.mtu, 1400);
	assert_false(li.flags & IFF_UP);
	assert_true(output_has("\"remote\":\"172.17.2.10\"", "ip -d -j link show %s", "gwt1"));
	assert_true(output_has("\"ifalias\":\"gatewayctl:manhattan/brooklyn\"",
			       "ip -j link show %s", "gwt1"));

	assert_int_equal(rtnl_link_by_name(&f->nl, "gwt2", &li), 0);
	assert_string_equal(li.kind, "ipip");
	assert_string_equal(li.alias, "");
	assert_int_equal(li.remote, IP4(172, 18, 3, 10));
	assert_int_equal(li.ttl, 0);
	assert_int_equal(li.pmtudisc, 0);
	assert_true(output_has("nopmtudisc", "ip -d link show %s", "gwt2"));

	/* up, address, route into the tunnel */
	ret = ifindex_of(&f->nl, "gwt1");
	rtnl_batch_reset(b);
	rtnl_set_link(b, ret, true, 1380);
	rtnl_add_addr(b, ret, IP4(192, 168, 1, 126), 32, 0);
	r = dev_route(IP4(192, 168, 2, 0), 24, ret);
	rtnl_add_route(b, &r);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "gwt1", &li), 0);
	assert_true(li.flags & IFF_UP);
	assert_int_equal(li.mtu, 1380);
	assert_true(output_has("192.168.2.0/24 dev gwt1", "ip route show proto %s", "203"));

	/* the dump sees both, with their parameters */
	assert_int_equal(rtnl_links(&f->nl, &l, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, "gwt1") == 0 || strcmp(l[i].name, "gwt2") == 0) {
			found++;
			assert_string_equal(l[i].kind, "ipip");
			assert_int_equal(l[i].local, IP4(172, 16, 1, 12));
		}
	free(l);
	assert_int_equal(found, 2);

	/* duplicate endpoints are refused; the alias of the first is untouched */
	rtnl_batch_reset(b);
	t2.name = "gwt3";
	t2.alias = RTNL_ALIAS_PREFIX "dup";
	rtnl_add_ipip(b, &t2);
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -EEXIST);
	assert_int_equal(failed, 0);
	assert_false(rtnl_applied(b, 0));
	assert_int_equal(rtnl_link_by_name(&f->nl, "gwt3", &li), -ENODEV);

	rtnl_batch_reset(b);
	rtnl_del_link(b, ifindex_of(&f->nl, "gwt1"));
	rtnl_del_link(b, ifindex_of(&f->nl, "gwt2"));
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "gwt1", &li), -ENODEV);
	assert_int_equal(count_proto(&f->nl, RTPROT_GATEWAYCTL), 0);
	rtnl_batch_free(b);
}

/* 1000 tunnels (alias, up) + 2000 routes in one flush. */
static void test_ipip_many(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct link_info *l;
	struct timespec t0, t1;
	size_t n, i, tunnels = 0;
	const size_t N = 1000;
	char name[16], alias[64];

	NEED_NETNS();
	probe_once(&f->nl);
	if (!have_ipip)
		skip();
	b = rtnl_batch_new();
	for (i = 0; i < N; i++) {
		struct ipip_spec sp = { .name = name, .alias = alias,
					.local = IP4(172, 16, 1, 12),
					.remote = IP4(100, 64, 0, 0) + (uint32_t)i, .ttl = 64,
					.pmtudisc = true };

		snprintf(name, sizeof(name), "gwm%zu", i);
		snprintf(alias, sizeof(alias), RTNL_ALIAS_PREFIX "s/p%zu", i);
		rtnl_add_ipip(b, &sp);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%zu ipip links with aliases: %.1f ms\n", N,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	rtnl_batch_reset(b);
	assert_int_equal(rtnl_links(&f->nl, &l, &n), 0);
	for (i = 0; i < n; i++) {
		if (strncmp(l[i].name, "gwm", 3) != 0)
			continue;
		tunnels++;
		assert_true(strncmp(l[i].alias, RTNL_ALIAS_PREFIX "s/p", 14) == 0);
		rtnl_set_link(b, l[i].ifindex, true, 0);
		for (int k = 0; k < 2; k++) {
			struct route_info r = dev_route(IP4(10, 128, 0, 0) +
							((uint32_t)(tunnels * 2 + (size_t)k) << 8),
							24, l[i].ifindex);
			rtnl_add_route(b, &r);
		}
	}
	free(l);
	assert_int_equal(tunnels, N);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%zu links up + %zu routes: %.1f ms\n", N, 2 * N,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	assert_int_equal(count_proto(&f->nl, RTPROT_GATEWAYCTL), 2 * N);

	rtnl_batch_reset(b);
	assert_int_equal(rtnl_links(&f->nl, &l, &n), 0);
	for (i = 0; i < n; i++)
		if (strncmp(l[i].name, "gwm", 3) == 0)
			rtnl_del_link(b, l[i].ifindex);
	free(l);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(count_proto(&f->nl, RTPROT_GATEWAYCTL), 0);
	rtnl_batch_free(b);
}

/* Every netlink socket is close-on-exec (a relay started by up inherits
 * nothing), also the fresh one that replaces a busy socket. */
static void test_cloexec(void **state)
{
	struct nl a, b;

	(void)state;
	NEED_NETNS();
	assert_int_equal(nl_open(&a, NETLINK_ROUTE), 0);
	assert_int_equal(nl_open(&b, NETLINK_NETFILTER), 0);
	assert_true(fcntl(mnl_socket_get_fd(a.sock), F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(mnl_socket_get_fd(b.sock), F_GETFD) & FD_CLOEXEC);
	assert_int_equal(nl_reopen(&a), 0);
	assert_true(fcntl(mnl_socket_get_fd(a.sock), F_GETFD) & FD_CLOEXEC);
	nl_close(&a);
	nl_close(&b);
}

/* A dump left unfinished on the socket (its first datagram read, the rest
 * not): the next dump still works, on a fresh socket, and is complete. */
static void test_dump_after_abandoned_dump(void **state)
{
	struct fx *f = *state;
	struct link_info *links = NULL;
	size_t n = 0;
	char buf[8192];
	struct nlmsghdr *nlh;
	long want;
	int i;

	NEED_NETNS();
	/* enough links that a dump takes several datagrams */
	for (i = 0; i < 12; i++)
		assert_int_equal(sh("ip link add ab%d type veth peer name ab%dp", i, i), 0);
	want = count_lines("ip -o link show");
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 4242;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	assert_true(mnl_socket_sendto(f->nl.sock, nlh, nlh->nlmsg_len) > 0);
	/* one datagram of its answer (cut short: only a part of it is wanted) */
	assert_true(recv(mnl_socket_get_fd(f->nl.sock), buf, 64, 0) > 0);

	assert_int_equal(rtnl_links(&f->nl, &links, &n), 0);
	assert_int_equal((long)n, want);
	free(links);
	/* and the socket stays usable */
	assert_int_equal(rtnl_links(&f->nl, &links, &n), 0);
	assert_int_equal((long)n, want);
	free(links);
	for (i = 0; i < 12; i++)
		sh("ip link del ab%d", i);
}


/* ---- IPv6 (issue 22) ------------------------------------------------------ */

static struct in6_addr in6(const char *text)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, text, &a), 1);
	return a;
}

static const struct route6_info *find_route6(const struct route6_info *r, size_t n, const char *dst,
					     uint8_t len)
{
	struct in6_addr d = in6(dst);

	for (size_t i = 0; i < n; i++)
		if (!memcmp(&r[i].dst, &d, sizeof(d)) && r[i].dst_len == len)
			return &r[i];
	return NULL;
}

/* An IPv6 address (no DAD), a route with it as src, both read back, deleted. */
static void test_addr6_route6(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b;
	struct addr6_info *a;
	struct route6_info *r, rt = { .dst_len = 64, .protocol = RTPROT_GATEWAYCTL };
	const struct route6_info *got;
	struct in6_addr lan = in6("2001:db8:1::126");
	size_t n, failed = 99;
	bool seen = false;

	NEED_NETNS();
	if (access("/proc/sys/net/ipv6", F_OK) != 0)
		skip();
	b = rtnl_batch_new();
	assert_non_null(b);
	rtnl_add_addr6(b, f->v0, &lan, 64, true);
	rt.dst = in6("2001:db8:2::");
	rt.oif = f->v0;
	rt.prefsrc = lan;
	rtnl_add_route6(b, &rt);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(output_has("inet6 2001:db8:1::126/64 scope global nodad", "ip -6 addr show dev %s", "v0"));
	assert_true(output_has("2001:db8:2::/64 dev v0 src 2001:db8:1::126 metric 1024", "ip -6 route show proto %s",
			       "203"));

	assert_int_equal(rtnl_addrs6(&f->nl, f->v0, &a, &n), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].ifindex, f->v0);
		if (!memcmp(&a[i].local, &lan, sizeof(lan))) {
			seen = true;
			assert_int_equal(a[i].prefixlen, 64);
			assert_int_equal(a[i].scope, RT_SCOPE_UNIVERSE);
			assert_true(a[i].flags & IFA_F_NODAD);
			assert_false(a[i].flags & IFA_F_TENTATIVE);
		}
	}
	free(a);
	assert_true(seen);
	assert_int_equal(rtnl_routes6(&f->nl, &r, &n), 0);
	got = find_route6(r, n, "2001:db8:2::", 64);
	assert_non_null(got);
	assert_int_equal(got->protocol, RTPROT_GATEWAYCTL);
	assert_int_equal(got->oif, f->v0);
	assert_int_equal(got->metric, 1024);
	assert_memory_equal(&got->prefsrc, &lan, sizeof(lan));
	assert_non_null(find_route6(r, n, "2001:db8:1::", 64));	/* the kernel's, for the address */
	free(r);

	/* a src that is no address of ours is refused; a prefix over 128 never sent */
	rtnl_batch_reset(b);
	rt.dst = in6("2001:db8:3::");
	rt.prefsrc = in6("2001:db8:9::9");
	rtnl_add_route6(b, &rt);
	assert_true(rtnl_flush(&f->nl, b, &failed) < 0);
	assert_int_equal(failed, 0);
	rtnl_batch_reset(b);
	rt.dst_len = 129;
	rtnl_add_route6(b, &rt);
	assert_int_equal(rtnl_flush(&f->nl, b, &failed), -EINVAL);

	/* deleted by protocol: another's route of the prefix is not gatewayctl's */
	rtnl_batch_reset(b);
	rt.dst = in6("2001:db8:2::");
	rt.dst_len = 64;
	rt.prefsrc = in6("::");
	rt.protocol = RTPROT_STATIC;
	rtnl_del_route6(b, &rt);
	assert_true(rtnl_flush(&f->nl, b, NULL) < 0);
	rtnl_batch_reset(b);
	rt.protocol = RTPROT_GATEWAYCTL;
	rtnl_del_route6(b, &rt);
	rtnl_del_addr6(b, f->v0, &lan, 64);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(output_lacks("2001:db8:2::", "ip -6 route show proto %s", "203"));
	assert_true(output_lacks("2001:db8:1::126", "ip -6 addr show dev %s", "v0"));
	rtnl_batch_free(b);
}

static void test_forwarding6(void **state)
{
	struct fx *f = *state;
	uint32_t all, v;

	(void)f;
	NEED_NETNS();
	if (access("/proc/sys/net/ipv6", F_OK) != 0)
		skip();
	assert_int_equal(rtnl_ipv6_forwarding("all", &all), 0);
	assert_int_equal(rtnl_set_ipv6_forwarding("v0", 1), 0);
	assert_true(output_has("1", "sysctl -n net.ipv6.conf.%s.forwarding", "v0"));
	assert_int_equal(rtnl_ipv6_forwarding("v0", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(rtnl_set_ipv6_forwarding("v0", 0), 0);
	assert_true(output_has("0", "sysctl -n net.ipv6.conf.%s.forwarding", "v0"));
	assert_int_equal(rtnl_set_ipv6_forwarding("all", !all), 0);
	assert_int_equal(rtnl_ipv6_forwarding("v1", &v), 0);
	assert_int_equal(v, !all);	/* "all" sets every link's */
	assert_int_equal(rtnl_set_ipv6_forwarding("all", all), 0);
	assert_int_equal(rtnl_ipv6_forwarding("all", &v), 0);
	assert_int_equal(v, all);
	assert_int_equal(rtnl_ipv6_forwarding("../../ipv4/ip_forward", &v), -EINVAL);
	assert_int_equal(rtnl_set_ipv6_forwarding("..", 1), -EINVAL);
	assert_int_equal(rtnl_set_ipv6_forwarding("", 1), -EINVAL);
	assert_int_equal(rtnl_ipv6_forwarding("nosuchlink", &v), -ENOENT);
}

/* Create a tunnel of SPEC; false (the test skips) where the kernel lacks
 * the kind, unless GATEWAYCTL_REQUIRE_TUN says it must have it (the VM). */
static bool tun_create(struct fx *f, struct rtnl_batch *b, const struct tun_spec *spec)
{
	int ret;

	rtnl_batch_reset(b);
	rtnl_add_tun(b, spec);
	ret = rtnl_flush(&f->nl, b, NULL);
	if (ret == -EOPNOTSUPP && !getenv("GATEWAYCTL_REQUIRE_TUN")) {
		fprintf(stderr, "no %s here (\"%s\")\n", spec->v6 ? "ip6tnl" : "sit", f->nl.err_msg);
		return false;
	}
	if (ret < 0)
		fail_msg("creating %s: %s (%d)", spec->name, nl_strerror(&f->nl), ret);
	return true;
}

/* sit in mode any over IPv4: created, read back (ours and ip's view), changed */
static void test_tun_sit(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b = rtnl_batch_new();
	struct tun_spec t = { .name = "gws1", .alias = RTNL_ALIAS_PREFIX "manhattan/brooklyn",
			      .local = IP4(172, 16, 1, 12), .remote = IP4(172, 17, 2, 10), .ttl = 64,
			      .pmtudisc = true, .mtu = TUN_MTU_SIT, .group = RTNL_LINK_GROUP };
	struct link_info li;

	NEED_NETNS();
	assert_non_null(b);
	if (!tun_create(f, b, &t)) {
		rtnl_batch_free(b);
		skip();
	}
	assert_int_equal(rtnl_link_by_name(&f->nl, "gws1", &li), 0);
	assert_string_equal(li.kind, "sit");
	assert_string_equal(li.alias, "gatewayctl:manhattan/brooklyn");
	assert_int_equal(li.local, IP4(172, 16, 1, 12));
	assert_int_equal(li.remote, IP4(172, 17, 2, 10));
	assert_int_equal(li.ttl, 64);
	assert_int_equal(li.pmtudisc, 1);
	assert_int_equal(li.proto, 0);
	assert_int_equal(li.mtu, 1480);
	assert_int_equal(li.group, RTNL_LINK_GROUP);
	assert_true(rtnl_tun_matches(&li, &t));
	assert_true(output_has("sit any remote 172.17.2.10 local 172.16.1.12 ttl 64", "ip -d link show %s", "gws1"));
	/* changed in place: another remote, up */
	t.remote = IP4(172, 17, 2, 11);
	assert_false(rtnl_tun_matches(&li, &t));
	rtnl_batch_reset(b);
	rtnl_change_tun(b, li.ifindex, &t, true);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_int_equal(rtnl_link_by_name(&f->nl, "gws1", &li), 0);
	assert_int_equal(li.remote, IP4(172, 17, 2, 11));
	assert_true(li.flags & IFF_UP);
	assert_true(rtnl_tun_matches(&li, &t));
	t.v6 = true;
	assert_false(rtnl_tun_matches(&li, &t));
	rtnl_batch_reset(b);
	rtnl_del_link(b, li.ifindex);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	rtnl_batch_free(b);
}

/* ip6tnl in mode any over IPv6, without the encapsulation limit option:
 * MTU 1460; an IPv6 route through it with an IPv6 src */
static void test_tun_ip6tnl(void **state)
{
	struct fx *f = *state;
	struct rtnl_batch *b = rtnl_batch_new();
	struct tun_spec t = { .name = "gwt6", .alias = RTNL_ALIAS_PREFIX "manhattan/queens", .v6 = true,
			      .local6 = in6("2001:db8:ff::1"), .remote6 = in6("2001:db8:ff::2"), .ttl = 64 };
	struct in6_addr lan = in6("2001:db8:1::126");
	struct route6_info rt = { .dst_len = 64, .protocol = RTPROT_GATEWAYCTL };
	struct link_info li;

	NEED_NETNS();
	assert_non_null(b);
	if (!tun_create(f, b, &t)) {
		rtnl_batch_free(b);
		skip();
	}
	assert_int_equal(rtnl_link_by_name(&f->nl, "gwt6", &li), 0);
	assert_string_equal(li.kind, "ip6tnl");
	assert_memory_equal(&li.local6, &t.local6, 16);
	assert_memory_equal(&li.remote6, &t.remote6, 16);
	assert_int_equal(li.ttl, 64);
	assert_int_equal(li.proto, 0);
	assert_true(li.tun_flags & 1 /* IP6_TNL_F_IGN_ENCAP_LIMIT */);
	assert_int_equal(li.mtu, TUN_MTU_IP6TNL);	/* the kernel's own: 1500 - 40 */
	assert_true(rtnl_tun_matches(&li, &t));
	assert_true(output_has("ip6tnl any remote 2001:db8:ff::2 local 2001:db8:ff::1", "ip -d link show %s", "gwt6"));
	assert_true(output_has("encaplimit none", "ip -d link show %s", "gwt6"));
	rtnl_batch_reset(b);
	rtnl_set_link(b, li.ifindex, true, 0);
	rtnl_add_addr6(b, f->v0, &lan, 64, true);
	rt.dst = in6("2001:db8:2::");
	rt.oif = li.ifindex;
	rt.prefsrc = lan;
	rtnl_add_route6(b, &rt);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(output_has("2001:db8:2::/64 dev gwt6", "ip -6 route show proto %s", "203"));
	assert_true(output_has("src 2001:db8:1::126", "ip -6 route show proto %s", "203"));
	/* an IPv4 route through it too (4in6) */
	rtnl_batch_reset(b);
	struct route_info r4 = dev_route(IP4(192, 168, 3, 0), 24, li.ifindex);
	rtnl_add_route(b, &r4);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(output_has("192.168.3.0/24 dev gwt6", "ip route show proto %s", "203"));
	rtnl_batch_reset(b);
	rtnl_del_link(b, li.ifindex);
	assert_int_equal(flush(&f->nl, b, NULL), 0);
	assert_true(output_lacks("2001:db8:2::", "ip -6 route show proto %s", "203"));
	rtnl_batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_basics),
		cmocka_unit_test_setup_teardown(test_invalid_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_ipip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_route_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_in_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_stops_later_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_route_by_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inet_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipip_name_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipip_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipip_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloexec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_after_abandoned_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr6_route6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwarding6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tun_sit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tun_ip6tnl, setup, teardown),
	};

	if (geteuid() != 0)
		fprintf(stderr, "test_rtnl: not root, kernel tests skipped\n");
	else if (unshare(CLONE_NEWNET) < 0)
		fprintf(stderr, "test_rtnl: unshare(CLONE_NEWNET): %s, kernel tests skipped\n",
			strerror(errno));
	else
		in_netns = true;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
