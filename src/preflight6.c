/* preflight6.c - up's checks for tunnels over an IPv6 WAN (preflight.h):
 * every IPv6 endpoint is routed out of the WAN, and the IPv6 gateway the file
 * names carries the WAN's IPv6 default route. */
#include <linux/rtnetlink.h>
#include <string.h>

#include "model.h"
#include "preflight.h"

bool preflight6_over_ipv6(const struct site *s)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].endpoint_v6)
			return true;
	return false;
}

/* The main table's route to A (the longest prefix), leaving out routes into
 * tunnels (a bogus host route, which up deletes, or one of ours); NULL if none */
static const struct route6_info *lookup(const struct live *live, const uint8_t a[16])
{
	for (int len = 128; len >= 0; len--) {
		struct net6 n = { .len = (uint8_t)len };
		size_t count;
		const struct route6_info *r;

		memcpy(n.addr, a, 16);
		n = net6_network(n);
		r = live_routes6(live, n.addr, n.len, &count);
		for (size_t i = 0; r && i < count; i++)
			if (r[i].table == RT_TABLE_MAIN && !live_tunnel_at(live, r[i].oif))
				return &r[i];
	}
	return NULL;
}

static int check_endpoint(const struct site *s, const struct peer *p, const struct link_info *wan,
			  const struct live *live, FILE *err)
{
	const struct route6_info *r = lookup(live, p->endpoint6);
	const struct link_info *out = r ? live_link_at(live, r->oif) : NULL;
	char ep[IP6_STRLEN], dst[NET6_STRLEN];
	struct net6 d = { .len = r ? r->dst_len : 0 };

	ip6_str(p->endpoint6, ep);
	if (!r) {
		fprintf(err, "%s:%d: error: peer %s: no IPv6 route to its endpoint %s: the tunnel's packets "
			"could not leave; give the WAN `%s` an IPv6 default route (ip -6 route add default via "
			"GATEWAY dev %s)\n", s->path, p->endpoint_line, p->name, ep, s->wan, s->wan);
		return 1;
	}
	memcpy(d.addr, &r->dst, 16);
	net6_str(d, dst);
	if (r->type != RTN_UNICAST) {
		fprintf(err, "%s:%d: error: peer %s: its endpoint %s is unreachable here (route %s of type %u); "
			"remove that route, or route the endpoint out of the WAN `%s`\n", s->path, p->endpoint_line,
			p->name, ep, dst, r->type, s->wan);
		return 1;
	}
	if (wan && r->oif && r->oif != wan->ifindex) {
		fprintf(err, "%s:%d: error: peer %s: its endpoint %s is routed through `%s` (route %s), not the "
			"WAN `%s`: the tunnel runs over the WAN; correct the routes (ip -6 route get %s)\n", s->path,
			p->endpoint_line, p->name, ep, out ? out->name : "?", dst, s->wan, ep);
		return 1;
	}
	return 0;
}

static int check_gateway6(const struct site *s, const struct link_info *wan, const struct live *live, FILE *err)
{
	static const uint8_t any[16];
	size_t count;
	const struct route6_info *r = live_routes6(live, any, 0, &count);
	char gw[IP6_STRLEN];

	if (ip6_zero(s->gateway6))
		return 0;
	for (size_t i = 0; r && i < count; i++)
		if (r[i].table == RT_TABLE_MAIN && ip6_equal(r[i].gateway.s6_addr, s->gateway6) &&
		    (!wan || r[i].oif == wan->ifindex))
			return 0;
	ip6_str(s->gateway6, gw);
	fprintf(err, "%s:%d: error: `gateway = %s`: the WAN `%s` has no IPv6 default route through it; add it "
		"(ip -6 route add default via %s dev %s), or correct the gateway here\n", s->path, s->line_gateway,
		gw, s->wan, gw, s->wan);
	return 1;
}

int preflight6_routes(const struct site *s, const struct live *live, FILE *err)
{
	const struct link_info *wan = live_link(live, s->wan);
	int errors = 0;

	if (s->manage_interfaces || !wan)
		return 0;	/* up adds the addresses and the IPv6 default route itself; a
				 * WAN that does not exist is check_interfaces' error */
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].endpoint_v6)
			errors += check_endpoint(s, &s->peers[i], wan, live, err);
	return errors + check_gateway6(s, wan, live, err);
}
