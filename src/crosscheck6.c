/* crosscheck6.c - the cross-site check's IPv6 half (crosscheck6.h) */
#include "crosscheck6.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 5, 6)))
static void say(const struct xc6 *x, size_t file, int line, bool warning, const char *fmt, ...)
{
	char msg[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->report(x->ctx, file, line, warning, msg);
}

static const struct site *sort_sites;

static int by_wan6(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = memcmp(sort_sites[i].wan_address6.addr, sort_sites[j].wan_address6.addr, 16);

	return c ? c : (i > j) - (i < j);
}

void xc6_unique(const struct xc6 *x)
{
	size_t *v = calloc(x->n ? x->n : 1, sizeof(*v)), n = 0;
	char ip[IP6_STRLEN];

	if (!v) {
		say(x, 0, 1, false, "out of memory comparing the sites' IPv6 wan_address");
		return;
	}
	for (size_t i = 0; i < x->n; i++)
		if (x->sites[i].wan_address6.len)
			v[n++] = i;
	sort_sites = x->sites;
	qsort(v, n, sizeof(*v), by_wan6);
	for (size_t k = 1; k < n; k++) {
		const struct site *a = &x->sites[v[k - 1]], *b = &x->sites[v[k]];

		if (ip6_equal(a->wan_address6.addr, b->wan_address6.addr))
			say(x, v[k], b->line_wan_address, false, "wan_address %s of site %s is also that of site %s "
			    "(%s:%d)", ip6_str(b->wan_address6.addr, ip), b->name, a->name, a->path,
			    a->line_wan_address);
	}
	free(v);
}

/* an IPv4 endpoint (address or name) of a site whose WAN is IPv6 only */
static void ipv4_to_ipv6_only(const struct xc6 *x, size_t ia, const struct peer *p, const struct site *b)
{
	char ip[IP6_STRLEN];

	say(x, ia, p->endpoint_line, false, "peer %s: endpoint %s is IPv4, but the WAN of site %s is IPv6 "
	    "only (%s:%d): reach it at its IPv6 wan_address, %s", p->name,
	    p->eps[0].name ? p->eps[0].name : "address", b->name, b->path, b->line_wan_address,
	    ip6_str(b->wan_address6.addr, ip));
}

bool xc6_endpoint(const struct xc6 *x, size_t ia, const struct peer *p, size_t ib)
{
	const struct site *b = &x->sites[ib];
	char s1[IP6_STRLEN], s2[IP6_STRLEN];

	if (!p->endpoint_v6) {
		if (b->wan_address.len || b->wan_auto || !b->wan_address6.len || !p->n_eps)
			return false;
		ipv4_to_ipv6_only(x, ia, p, b);
		return true;
	}
	if (!b->wan_address6.len) {
		say(x, ia, p->endpoint_line, false, "peer %s: endpoint %s is IPv6, but site %s has no IPv6 "
		    "wan_address (%s:%d)", p->name, ip6_str(p->endpoint6, s1), b->name, b->path,
		    b->line_wan_address);
		return true;
	}
	for (size_t e = 0; e < p->n_eps; e++)
		if (p->eps[e].ipv6 && ip6_equal(p->eps[e].addr6, b->wan_address6.addr))
			return true;
	for (size_t e = 0; e < p->n_eps; e++)
		if (p->eps[e].name) {
			say(x, ia, p->endpoint_line, true, "peer %s: endpoint %s is a DNS name, not resolved by "
			    "check: it must resolve (AAAA) to %s, the IPv6 wan_address of site %s (%s:%d); "
			    "`gatewayctl plan` resolves it", p->name, p->eps[e].name,
			    ip6_str(b->wan_address6.addr, s2), b->name, b->path, b->line_wan_address);
			return true;
		}
	say(x, ia, p->endpoint_line, false, "peer %s: endpoint %s is not the IPv6 wan_address of site %s, %s "
	    "(%s:%d)", p->name, ip6_str(p->endpoint6, s1), b->name, ip6_str(b->wan_address6.addr, s2), b->path,
	    b->line_wan_address);
	return true;
}

/* N is B's IPv6 LAN, or inside a network B routes on to a peer other than A */
static bool delivered(const struct site *b, const char *a, struct net6 n)
{
	if (b->lan_address6.len && net6_inside(n, net6_network(b->lan_address6)))
		return true;
	for (size_t j = 0; j < b->n_peers; j++) {
		const struct peer *o = &b->peers[j];

		if (strcmp(o->name, a))
			for (size_t m = 0; m < o->n_networks6; m++)
				if (net6_inside(n, o->networks6[m]))
					return true;
	}
	return false;
}

void xc6_direction(const struct xc6 *x, size_t ia, const struct peer *p, size_t ib)
{
	const struct site *a = &x->sites[ia], *b = &x->sites[ib];
	struct net6 lan = net6_network(b->lan_address6);
	bool covered = false;
	char s1[NET6_STRLEN], s2[NET6_STRLEN];

	if (!ip6_zero(p->lan_address6) && !b->lan_address6.len)
		say(x, ia, p->lan_address_line, false, "peer %s: lan_address %s is IPv6, but site %s has no IPv6 "
		    "lan_address (%s:%d)", p->name, ip6_str(p->lan_address6, s1), b->name, b->path,
		    b->line_lan_address);
	else if (!ip6_zero(p->lan_address6) && !ip6_equal(p->lan_address6, b->lan_address6.addr))
		say(x, ia, p->lan_address_line, false, "peer %s: lan_address %s is not the IPv6 lan_address of "
		    "site %s, %s (%s:%d)", p->name, ip6_str(p->lan_address6, s1), b->name,
		    ip6_str(b->lan_address6.addr, s2), b->path, b->line_lan_address);
	for (size_t k = 0; k < p->n_networks6; k++) {
		covered |= b->lan_address6.len && net6_inside(lan, p->networks6[k]);
		if (!delivered(b, a->name, p->networks6[k]))
			say(x, ia, p->networks_line, false, "peer %s: network %s is not inside the IPv6 LAN of site "
			    "%s%s%s (%s:%d), nor routed by %s to another of its peers: %s would send it out by its "
			    "default route", p->name, net6_str(p->networks6[k], s1), b->name,
			    b->lan_address6.len ? ", " : " (it has none)", b->lan_address6.len ? net6_str(lan, s2) : "",
			    b->path, b->line_lan_address, b->name, b->name);
	}
	if (!covered && a->lan_address6.len && b->lan_address6.len)
		say(x, ia, p->networks_line, false, "peer %s: networks leave out the IPv6 LAN of site %s, %s "
		    "(%s:%d)", p->name, b->name, net6_str(lan, s1), b->path, b->line_lan_address);
}
