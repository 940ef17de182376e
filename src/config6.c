/* config6.c - the site file's IPv6 values and relations (config6.h) */
#include "config6.h"
#include "netref.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 3, 4)))
static void say(const struct c6 *c, int line, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->ctx, line, msg);
}

static void trimmed(const char *b, const char *e, char *out, size_t len)
{
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	snprintf(out, len, "%.*s", (int)(e - b), b);
}

bool c6_split(const struct c6 *c, int line, const char *key, const char *v, char *v4, char *v6, size_t len)
{
	const char *comma = strchr(v, ','), *end = v + strlen(v);
	char item[2][IP6_STRLEN + 200];
	int n = comma ? 2 : 1;

	v4[0] = v6[0] = '\0';
	if (!v[strspn(v, " \t")]) {
		say(c, line, "`%s` is empty", key);
		return false;
	}
	if (comma && strchr(comma + 1, ',')) {
		say(c, line, "`%s = %s`: more than two items; give at most one address per family "
		    "(IPv4, IPv6), like `192.168.1.126/24, 2001:db8:1::126/64`", key, v);
		return false;
	}
	trimmed(v, comma ? comma : end, item[0], sizeof(item[0]));
	if (comma)
		trimmed(comma + 1, end, item[1], sizeof(item[1]));
	for (int i = 0; i < n; i++)
		if (!item[i][0]) {
			say(c, line, "`%s = %s`: an empty item; remove the extra comma", key, v);
			return false;
		}
	if (n == 2 && !strchr(item[0], ':') == !strchr(item[1], ':')) {
		say(c, line, "`%s = %s`: two %s addresses; give one address per family", key, v,
		    strchr(item[0], ':') ? "IPv6" : "IPv4");
		return false;
	}
	for (int i = 0; i < n; i++)
		snprintf(strchr(item[i], ':') ? v6 : v4, len, "%s", item[i]);
	return true;
}

bool c6_host_prefix(const struct c6 *c, int line, const char *key, const char *v6, struct net6 *out)
{
	char buf[NET6_STRLEN];

	if (parse_net6(v6, out) < 0) {
		say(c, line, "`%s`: `%s` is not an IPv6 address with its prefix length, like 2001:db8:1::126/64",
		    key, v6);
	} else if (out->len == 0 || out->len > 127) {
		say(c, line, "`%s`: `%s`: the IPv6 prefix length must be 1 to 127 (a LAN's is usually 64)", key, v6);
	} else if (!ip6_unicast(out->addr)) {
		say(c, line, "`%s`: `%s` is not a unicast IPv6 address (not ::, ::1, multicast, link-local "
		    "fe80::/10 nor IPv4-mapped)", key, v6);
	} else if (out->len < 127 && !net6_host_bits(*out)) {
		say(c, line, "`%s`: `%s` is the subnet's own address (its host part is all zero), not a host "
		    "address of %s", key, v6, net6_str(*out, buf));
	} else {
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

void c6_gateway(const struct c6 *c, int line, const char *v6, bool wan6, struct site *s)
{
	uint8_t a[16];
	char buf[NET6_STRLEN];

	if (parse_ip6(v6, a) < 0) {
		say(c, line, "`gateway`: `%s` is not an IPv6 address like fe80::1 or 2001:db8:ffff:1::1", v6);
	} else if (!wan6) {
		say(c, line, "`gateway`: the IPv6 gateway %s needs an IPv6 `wan_address`", v6);
	} else if (!s->wan_address6.len) {
		return;	/* the IPv6 wan_address is refused at its line */
	} else if (ip6_link_local(a)) {
		memcpy(s->gateway6, a, 16);
	} else if (!ip6_unicast(a) || !net6_contains(s->wan_address6, a) || ip6_equal(a, s->wan_address6.addr) ||
		   (s->wan_address6.len < 127 && ip6_equal(a, net6_network(s->wan_address6).addr))) {
		say(c, line, "`gateway`: %s is neither link-local (fe80::/10) nor a usable host of the IPv6 "
		    "WAN subnet %s", v6, net6_str(net6_network(s->wan_address6), buf));
	} else {
		memcpy(s->gateway6, a, 16);
	}
}

/* the ranges no peer's network may touch */
static const char *special(struct net6 n)
{
	static const struct {
		struct net6 net;
		const char *what;
	} ranges[] = {
		{ { { 0xfe, 0x80 }, 10 }, "link-local (fe80::/10): such addresses never leave their link" },
		{ { { 0xff }, 8 }, "multicast (ff00::/8)" },
		{ { { 0 }, 128 }, "the unspecified address ::" },
		{ { { [15] = 1 }, 128 }, "the loopback address ::1" },
		{ { { [10] = 0xff, [11] = 0xff }, 96 }, "IPv4-mapped (::ffff:0:0/96): write the IPv4 network" },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (net6_overlap(n, ranges[i].net))
			return ranges[i].what;
	return NULL;
}

void c6_network(const struct c6 *c, int line, const char *it, struct peer *p)
{
	struct net6 net;
	char buf[NET6_STRLEN];
	const char *what;

	if (parse_net6(it, &net) < 0) {
		say(c, line, "`%s` in `networks`: expected an IPv6 network with its prefix length, like "
		    "2001:db8:2::/64", it);
		return;
	}
	if (net6_host_bits(net)) {
		say(c, line, "`%s` in `networks` has host bits set; did you mean `%s`?", it,
		    net6_str(net6_network(net), buf));
		return;
	}
	if (net.len < 16) {
		say(c, line, "`%s` in `networks` is wider than a /16; that would route much of the IPv6 "
		    "internet into the tunnel", it);
		return;
	}
	if ((what = special(net))) {
		say(c, line, "`%s` in `networks` is %s", it, what);
		return;
	}
	for (size_t j = 0; j < p->n_networks6; j++)
		if (net6_overlap(p->networks6[j], net)) {
			say(c, line, "`%s` in `networks` overlaps `%s` listed before it", it,
			    net6_str(p->networks6[j], buf));
			return;
		}
	p->networks6[p->n_networks6++] = net;
}

bool c6_endpoint_item(const struct c6 *c, int line, const char *it, struct endpoint_item *e)
{
	if (strchr(it, '/'))
		say(c, line, "`endpoint`: `%s`: give the peer gateway's address without a prefix length", it);
	else if (parse_ip6(it, e->addr6) < 0)
		say(c, line, "`endpoint`: `%s` is not an IPv6 address like 2001:db8:ffff:2::10", it);
	else if (!ip6_unicast(e->addr6))
		say(c, line, "`endpoint`: %s is not a unicast IPv6 address the internet routes (not ::, ::1, "
		    "multicast, link-local nor IPv4-mapped)", it);
	else {
		e->ipv6 = true;
		return true;
	}
	return false;
}

void c6_endpoint_family(const struct c6 *c, const char *v, bool names6, struct peer *p)
{
	size_t n6 = 0;

	for (size_t i = 0; i < p->n_eps; i++) {
		n6 += p->eps[i].ipv6 || (names6 && p->eps[i].name);
		for (size_t k = 0; p->eps[i].ipv6 && k < i; k++)
			if (p->eps[k].ipv6 && ip6_equal(p->eps[k].addr6, p->eps[i].addr6)) {
				say(c, p->endpoint_line, "`endpoint = %s`: item %zu repeats item %zu; list each "
				    "address or name once", v, i + 1, k + 1);
				break;
			}
	}
	if (n6 && n6 < p->n_eps) {
		say(c, p->endpoint_line, "`endpoint = %s`: IPv4 and IPv6 items (a DNS name is looked up as "
		    "IPv4%s); a peer's endpoints are of one family, as its tunnel runs over one", v,
		    names6 ? "" : " unless the site's WAN is IPv6 only");
		return;
	}
	if (n6) {
		p->endpoint_v6 = true;
		memcpy(p->endpoint6, p->eps[0].addr6, 16);	/* :: for a name */
	}
}

void c6_peer_lan_address(const struct c6 *c, int line, const char *v6, bool nets6, struct peer *p)
{
	uint8_t a[16];
	bool inside = false;

	if (parse_ip6(v6, a) < 0 || !ip6_unicast(a)) {
		say(c, line, "`lan_address`: `%s` is not a unicast IPv6 address like 2001:db8:2::126 (the peer "
		    "gateway's IPv6 LAN address, without a prefix length)", v6);
		return;
	}
	for (size_t k = 0; k < p->n_networks6; k++)
		inside |= net6_contains(p->networks6[k], a);
	if (!p->n_networks6 && !nets6)
		say(c, line, "`lan_address`: %s: the peer has no IPv6 network in `networks` (line %d) for it "
		    "to be in", v6, p->networks_line);
	else if (!inside && p->n_networks6)
		say(c, line, "`lan_address`: %s is not inside the peer's IPv6 networks", v6);
	else if (inside)
		memcpy(p->lan_address6, a, 16);
}

/* ---- relations --------------------------------------------------------- */

/* Peer P's endpoint family against the site's WAN addresses */
static void check_family(const struct c6 *c, const struct site *s, const struct peer *p, bool wan4, bool wan6)
{
	if (p->endpoint_v6 && !wan6)
		say(c, p->endpoint_line, "peer %s: an IPv6 endpoint needs an IPv6 wan_address (line %d): "
		    "add this gateway's IPv6 WAN address to it (`wan_address = IPv4/len, IPv6/len`)", p->name,
		    s->line_wan_address);
	else if (!p->endpoint_v6 && p->n_eps && !wan4 && wan6)
		say(c, p->endpoint_line, "peer %s: an IPv4 endpoint needs an IPv4 wan_address, and this site's "
		    "WAN is IPv6 only (line %d): write the peer gateway's IPv6 address", p->name,
		    s->line_wan_address);
}

/* Peer I's IPv6 endpoints against the LAN, the WAN and every peer's networks */
static void check_endpoints6(const struct c6 *c, const struct site *s, size_t i, struct nets6 *nets)
{
	const struct peer *p = &s->peers[i];
	char b1[NET6_STRLEN], b2[NET6_STRLEN];

	for (size_t e = 0; e < p->n_eps; e++) {
		const uint8_t *a = p->eps[e].addr6;
		struct net6 host = { .len = 128 };
		size_t n;

		if (!p->eps[e].ipv6)
			continue;
		if (s->lan_address6.len && net6_contains(s->lan_address6, a))
			say(c, p->endpoint_line, "endpoint %s is inside the IPv6 LAN %s; the peer gateway must be "
			    "reached over the WAN", ip6_str(a, b1), net6_str(net6_network(s->lan_address6), b2));
		if (s->wan_address6.len && ip6_equal(a, s->wan_address6.addr))
			say(c, p->endpoint_line, "endpoint %s is this gateway's own wan_address", ip6_str(a, b1));
		memcpy(host.addr, a, 16);
		n = nets6_matches(nets, host, true);
		for (size_t f = 0; f < n; f++)
			say(c, p->endpoint_line, "endpoint %s is inside the tunnelled network %s of peer %s; the "
			    "tunnel would route into itself", ip6_str(a, b1), net6_str(nets->found[f]->net, b2),
			    s->peers[nets->found[f]->peer].name);
	}
}

/* Peer I's IPv6 networks against the LAN, the WAN and the peers before it */
static void check_networks6(const struct c6 *c, const struct site *s, size_t i, struct nets6 *nets)
{
	const struct peer *p = &s->peers[i];
	char b1[NET6_STRLEN], b2[NET6_STRLEN];

	for (size_t k = 0; k < p->n_networks6; k++) {
		struct net6 n = p->networks6[k];
		size_t m;

		if (s->lan_address6.len && net6_overlap(n, s->lan_address6))
			say(c, p->networks_line, "network %s overlaps the IPv6 LAN (%s)", net6_str(n, b1),
			    net6_str(net6_network(s->lan_address6), b2));
		if (s->wan_address6.len && net6_overlap(n, s->wan_address6))
			say(c, p->networks_line, "network %s overlaps the IPv6 WAN subnet (%s)", net6_str(n, b1),
			    net6_str(net6_network(s->wan_address6), b2));
		m = nets6_matches(nets, n, false);
		for (size_t f = 0; f < m; f++)
			if (nets->found[f]->peer < i)
				say(c, p->networks_line, "network %s overlaps %s of peer %s", net6_str(n, b1),
				    net6_str(nets->found[f]->net, b2), s->peers[nets->found[f]->peer].name);
	}
}

static const struct site *sort_site;

static int by_endpoint6(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = memcmp(sort_site->peers[i].endpoint6, sort_site->peers[j].endpoint6, 16);

	return c ? c : (i > j) - (i < j);
}

/* two peers with one IPv6 endpoint: every earlier one named at the later's line */
static void check_same_endpoint6(const struct c6 *c, const struct site *s)
{
	size_t *v = calloc(s->n_peers ? s->n_peers : 1, sizeof(*v)), n = 0;
	char b[IP6_STRLEN];

	if (!v) {
		say(c, 1, "out of memory comparing the peers' IPv6 endpoints");
		return;
	}

	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].endpoint_v6 && !ip6_zero(s->peers[i].endpoint6))	/* a name: at run time */
			v[n++] = i;
	sort_site = s;
	qsort(v, n, sizeof(*v), by_endpoint6);
	for (size_t a = 0, z; a < n; a = z)
		for (z = a + 1; z < n && ip6_equal(s->peers[v[z]].endpoint6, s->peers[v[a]].endpoint6); z++)
			for (size_t j = a; j < z; j++)
				say(c, s->peers[v[z]].endpoint_line, "peers %s and %s have the same endpoint %s",
				    s->peers[v[j]].name, s->peers[v[z]].name, ip6_str(s->peers[v[z]].endpoint6, b));
	free(v);
}

/* A peer's IPv6 networks need the LAN's IPv6 address: the source of the
 * routes to them, and the address SNAT66 writes */
static void check_lan6(const struct c6 *c, const struct site *s)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].n_networks6) {
			say(c, s->line_lan_address, "peer %s has IPv6 networks (line %d) and the LAN no IPv6 "
			    "address: add this gateway's IPv6 LAN address (`lan_address = IPv4/len, IPv6/len`), the "
			    "source of the routes to them", s->peers[i].name, s->peers[i].networks_line);
			return;
		}
}

void c6_check(const struct c6 *c, const struct site *s, bool wan4, bool wan6, bool lan6)
{
	struct nets6 nets;

	if (!lan6)
		check_lan6(c, s);

	if (s->lan_address6.len && s->wan_address6.len && net6_overlap(s->lan_address6, s->wan_address6))
		say(c, s->line_wan_address, "the IPv6 WAN subnet overlaps the IPv6 LAN subnet");
	nets6_build(&nets, s);
	for (size_t i = 0; i < s->n_peers; i++) {
		check_family(c, s, &s->peers[i], wan4, wan6);
		check_endpoints6(c, s, i, &nets);
		check_networks6(c, s, i, &nets);
	}
	check_same_endpoint6(c, s);
	nets6_free(&nets);
}
