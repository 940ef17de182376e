/* netmap.c - `[site] netmap`: parsed, checked against the site file, and the
 * mapping of one address (see netmap.h) */
#include "netmap.h"

#include <stdio.h>
#include <string.h>

int netmap_parse(const char *v, struct net4 *out, char *why, size_t len)
{
	char buf[20];

	if (!*v) {
		snprintf(why, len, "is empty; give a network like 10.1.1.0/24, or remove the line");
		return -1;
	}
	if (strchr(v, ':')) {
		snprintf(why, len, "a netmap maps IPv4 only: IPv6 LANs are carried as they are, so give "
			 "each office its own IPv6 prefix, and a netmap of IPv4 alone");
		return -1;
	}
	if (!strchr(v, '/') || parse_net4(v, out) < 0) {
		snprintf(why, len, "expected a network with its prefix length, like 10.1.1.0/24");
		return -1;
	}
	if (out->len == 0 || out->len > 30) {
		snprintf(why, len, "the prefix length must be 1 to 30, that of the LAN");
		return -1;
	}
	if (out->addr & ~net4_mask(out->len)) {
		struct net4 net = { out->addr & net4_mask(out->len), out->len };

		snprintf(why, len, "host bits are set; the network is %s", net4_str(net, buf));
		return -1;
	}
	return 0;
}

struct net4 netmap_lan(const struct site *s)
{
	return (struct net4){ s->lan_address.addr & net4_mask(s->lan_address.len), s->lan_address.len };
}

struct net4 netmap_seen(const struct site *s)
{
	return s->netmap.len ? s->netmap : netmap_lan(s);
}

uint32_t netmap_out(const struct site *s, uint32_t addr)
{
	uint32_t mask = net4_mask(s->netmap.len);

	if (!s->netmap.len || !net4_contains(netmap_lan(s), addr))
		return addr;
	return (s->netmap.addr & mask) | (addr & ~mask);
}

void netmap_check(const struct site *s, bool lan_ok, bool wan_ok, netmap_report_fn *report, void *ctx)
{
	char b1[20], b2[20], msg[400];
	struct net4 m = s->netmap, lan = netmap_lan(s);

	if (!m.len)
		return;
	if (lan_ok && m.len != lan.len) {
		snprintf(msg, sizeof(msg), "`netmap = %s`: the map must have the LAN's prefix length, /%u "
			 "(lan_address, line %d), so that each LAN host has its own mapped address",
			 net4_str(m, b1), lan.len, s->line_lan_address);
		report(ctx, s->line_netmap, msg);
	}
	if (lan_ok && net4_overlap(m, lan)) {
		snprintf(msg, sizeof(msg), "`netmap = %s` overlaps the LAN %s; choose a prefix used nowhere "
			 "in the network, like 10.1.1.0/%u", net4_str(m, b1), net4_str(lan, b2), lan.len);
		report(ctx, s->line_netmap, msg);
	}
	if (wan_ok && net4_overlap(m, s->wan_address)) {
		struct net4 wan = { s->wan_address.addr & net4_mask(s->wan_address.len), s->wan_address.len };

		snprintf(msg, sizeof(msg), "`netmap = %s` overlaps the WAN subnet %s", net4_str(m, b1),
			 net4_str(wan, b2));
		report(ctx, s->line_netmap, msg);
	}
	for (size_t i = 0; i < s->n_peers; i++)
		for (size_t k = 0; k < s->peers[i].n_networks; k++)
			if (net4_overlap(m, s->peers[i].networks[k])) {
				snprintf(msg, sizeof(msg), "`netmap = %s` overlaps %s of peer %s (line %d): the "
					 "map must be a prefix no peer uses", net4_str(m, b1),
					 net4_str(s->peers[i].networks[k], b2), s->peers[i].name,
					 s->peers[i].networks_line);
				report(ctx, s->line_netmap, msg);
			}
}

static bool used_by(const struct net4 *used, size_t n, struct net4 c)
{
	for (size_t i = 0; i < n; i++)
		if (used[i].len && net4_overlap(used[i], c))
			return true;
	return false;
}

size_t netmap_free(const struct net4 *used, size_t n, uint8_t len, struct net4 *out, size_t max)
{
	static const struct net4 pools[] = { { 0x0a000000u, 8 }, { 0xac100000u, 12 } };
	size_t found = 0;

	if (len == 0 || len > 30)
		return 0;
	for (size_t p = 0; p < sizeof(pools) / sizeof(pools[0]) && found < max; p++) {
		uint32_t step = 1u << (32 - len);
		/* from x.1.0.0 on for small maps (x.0.0.0/24 reads like a typo), a few thousand tries at most */
		uint32_t a = pools[p].addr + (len >= 16 ? 0x10000u : step);

		if (len < pools[p].len)
			continue;
		for (unsigned tries = 0; tries < 4096 && found < max && net4_contains(pools[p], a); tries++, a += step) {
			struct net4 c = { a, len };

			if (!used_by(used, n, c) && !used_by(out, found, c))
				out[found++] = c;
		}
	}
	return found;
}
