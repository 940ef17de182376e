/* fuzz_nft.c - libFuzzer target: the read-back of gatewayctl's nftables
 * table. The input is a sequence of netlink messages as the kernel could
 * answer gatewayctl's dumps (seeds/nft/ holds real ones: generation, tables,
 * chains, sets, set elements, rules of a table gatewayctl-manhattan built by
 * nft_table_replace, user data included). They go through the receiving code
 * (nl_rx_process) into the parser the product uses (nft_dump_cb), once for
 * site manhattan and once for every table; then come what the product asks
 * of them: the state and counters, the comparison with the spec the seeds
 * were made from, the list of sites. The user-data walk also gets the raw
 * input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nft.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The port the answers are for: that of the first message (the kernel
 * answers a socket with its port id). */
static uint32_t port_of(const uint8_t *buf, size_t size)
{
	return size >= sizeof(struct nlmsghdr) ? ((const struct nlmsghdr *)buf)->nlmsg_pid : 0;
}

static const char tunnels[][16] = { "gw-brooklyn", "gw-queens" };
static const uint32_t endpoints[] = { IP4(172, 17, 2, 10), IP4(198, 51, 100, 7) };
static const struct nft_net nets[] = {
	{ IP4(192, 168, 2, 0), 24 }, { IP4(172, 17, 2, 10), 32 }, { IP4(10, 20, 0, 0), 16 },
};

#define IN6(a, b, c, z) { .s6_addr = { (a) >> 8, (a) & 0xff, (b) >> 8, (b) & 0xff, (c) >> 8, (c) & 0xff, \
				    [14] = (z) >> 8, [15] = (z) & 0xff } }
static const struct nft_net6 nets6[] = { { IN6(0x2001, 0xdb8, 2, 0), 64 } };
static const struct in6_addr ep6[] = { IN6(0x2001, 0xdb8, 0xff, 2) };
/* What tests/fuzz/capture.c built (a dual-stack site: the ip and ip6 tables),
 * and the same site without IPv6 (only one of them can match). */
static const struct nft_spec spec = {
	.site = "manhattan", .lan = "eth0", .lan_addr = IP4(192, 168, 1, 126),
	.lan_broadcast = IP4(192, 168, 1, 255), .masq = nets, .n_masq = 3,
	.tunnels = tunnels, .n_tunnels = 2, .endpoints = endpoints, .n_endpoints = 2,
	.wan_addr = IP4(172, 16, 1, 12), .mss_clamp = true,
	.sit = true, .v6 = true, .lan_addr6 = IN6(0x2001, 0xdb8, 1, 0x126), .masq6 = nets6, .n_masq6 = 1,
	.endpoints6 = ep6, .n_endpoints6 = 1, .wan_addr6 = IN6(0x2001, 0xdb8, 0xff, 1),
}, spec4 = {
	.site = "manhattan", .lan = "eth0", .lan_addr = IP4(192, 168, 1, 126),
	.lan_broadcast = IP4(192, 168, 1, 255), .masq = nets, .n_masq = 3,
	.tunnels = tunnels, .n_tunnels = 2, .endpoints = endpoints, .n_endpoints = 2,
	.wan_addr = IP4(172, 16, 1, 12), .mss_clamp = true,
};

static void feed(struct nft_dump *d, const uint8_t *buf, size_t size)
{
	struct nl nl;
	struct nl_rx rx = { .dump = true, .lo = 0, .hi = UINT32_MAX };

	memset(&nl, 0, sizeof(nl));
	nl.portid = port_of(buf, size);
	nl_rx_process(&nl, &rx, buf, size, nft_dump_cb, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, aligned as the kernel's buffers are */
	uint8_t *buf = malloc(size ? size : 1);
	struct nft_dump *one = nft_dump_new("manhattan"), *all = nft_dump_new(NULL);
	char (*sites)[33] = NULL;
	struct nft_state st;
	const char *c;
	size_t n = 0, i;
	int r;

	if (!buf || !one || !all)
		abort();
	memcpy(buf, data, size);
	c = nft_udata_comment(buf, size);
	if (c && (c < (const char *)buf || c + strlen(c) >= (const char *)buf + size))
		abort();

	feed(one, buf, size);
	feed(all, buf, size);
	r = nft_dump_state(one, &st);
	if (r > 0 || (!st.present && !st.present6 && st.n_counters) ||
	    st.n_counters > sizeof(st.counters) / sizeof(st.counters[0]))
		abort();
	for (i = 0; i < st.n_counters; i++)
		if (strnlen(st.counters[i].rule, sizeof(st.counters[i].rule)) ==
		    sizeof(st.counters[i].rule))
			abort();
	r = nft_dump_matches(one, &spec);
	if (r > 1 || (r == 1 && (!st.present || !st.present6)))
		abort();
	if (r == 1 && nft_dump_matches(one, &spec4) != 0)
		abort();
	if (nft_dump_sites(all, &sites, &n) == 0) {
		for (i = 0; i < n; i++)
			if (strnlen(sites[i], sizeof(sites[i])) == sizeof(sites[i]))
				abort();
		free(sites);
	}
	nft_dump_free(one);
	nft_dump_free(all);
	free(buf);
	return 0;
}
