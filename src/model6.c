/* model6.c - a site's IPv6 (issue 22) in its plan: the ip6 table's part of
 * the nft spec, the IPv6 routes into the tunnels (src: the LAN's IPv6
 * address), IPv6 forwarding, manage_interfaces' IPv6 addresses and default
 * route. DESIGN.md, "IPv6". */
#define _GNU_SOURCE
#include "model.h"
#include "gatewayctl.h"

#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the loader's judgement (addr6.c), so that the file and the plan agree */
bool model_site_v6(const struct site *s)
{
	return site_has_ipv6(s, NULL);
}

void plan_init_spec6(struct plan *plan, const struct site *s)
{
	size_t n_masq = 0, n_ep = 0, n_ipsec = 0;
	bool lan6 = s->lan_address6.len != 0;

	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].masquerade && lan6)
			n_masq += s->peers[i].n_networks6;
	plan->masq6 = live_xcalloc(n_masq, sizeof(*plan->masq6));
	plan->endpoints6 = live_xcalloc(s->n_peers, sizeof(*plan->endpoints6));
	plan->ipsec6 = live_xcalloc(s->n_peers, sizeof(*plan->ipsec6));
	n_masq = 0;
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		for (size_t k = 0; lan6 && p->masquerade && k < p->n_networks6; k++) {
			memcpy(&plan->masq6[n_masq].addr, p->networks6[k].addr, 16);
			plan->masq6[n_masq++].len = p->networks6[k].len;
		}
		if (p->endpoint_v6)
			memcpy(&plan->endpoints6[n_ep++], p->endpoint6, 16);
		if (p->endpoint_v6 && p->encryption == ENC_IPSEC)
			memcpy(&plan->ipsec6[n_ipsec++], p->endpoint6, 16);
		if (model_tunnel_kind(p) == TUN_SIT)
			plan->nft.sit = true;
	}
	plan->nft.v6 = model_site_v6(s);
	memcpy(&plan->nft.lan_addr6, s->lan_address6.addr, 16);
	plan->nft.masq6 = plan->masq6;
	plan->nft.n_masq6 = n_masq;
	plan->nft.endpoints6 = plan->endpoints6;
	plan->nft.n_endpoints6 = n_ep;
	plan->nft.ipsec6 = plan->ipsec6;
	plan->nft.n_ipsec6 = n_ipsec;
	if (s->wan_address6.len)
		memcpy(&plan->nft.wan_addr6, s->wan_address6.addr, 16);
}

/* Whether R, a route through TUNNEL, is one the file asks for, as it asks. */
static bool wanted_route6(const struct plan *plan, const struct site *s, const struct route6_info *r,
			  const char *tunnel)
{
	const struct peer *p = peer_of_tunnel(plan, s, tunnel);

	for (size_t k = 0; p && k < p->n_networks6; k++)
		if (!memcmp(p->networks6[k].addr, &r->dst, 16) && p->networks6[k].len == r->dst_len)
			return ip6_equal(r->prefsrc.s6_addr, s->lan_address6.addr) && ip6_zero(r->gateway.s6_addr);
	return false;
}

static void route6_del_step(struct plan *plan, const struct route6_info *r, const struct link_info *l,
			    const char *why_fmt, const char *what)
{
	char dst[IP6_STRLEN];
	struct step *st;

	ip6_str(r->dst.s6_addr, dst);
	st = plan_add_step(plan, STEP_ROUTE_DEL, "ip -6 route del %s/%u dev %s proto %u", dst, r->dst_len,
			   l->name, r->protocol);
	step_why(st, why_fmt, what, l->name);
	st->v6 = true;
	st->route6 = *r;
	st->ifindex = r->oif;
	snprintf(st->ifname, sizeof(st->ifname), "%s", l->name);
}

/* Bogus host routes (an IPv6 endpoint routed into a tunnel loops), and our
 * IPv6 routes that the file no longer asks for (or asks for differently). */
static void plan_routes6_del(struct plan *plan, const struct site *s, const struct live *live)
{
	char ep[IP6_STRLEN];

	for (size_t i = 0; i < s->n_peers; i++) {
		size_t n;
		const struct route6_info *r = s->peers[i].endpoint_v6 ?
			live_routes6(live, s->peers[i].endpoint6, 128, &n) : NULL;

		for (size_t k = 0; r && k < n; k++) {
			const struct link_info *l = live_link_index(plan, r[k].oif);

			if (l && model_tunnel_link_kind(l->kind))
				route6_del_step(plan, &r[k], l, "bogus host route: endpoint %s is routed into %s",
						ip6_str(s->peers[i].endpoint6, ep));
		}
	}
	for (size_t i = 0; i < live->n_routes6; i++) {
		const struct route6_info *r = &live->routes6[i];
		const struct link_info *l;
		const char *peer;

		if (r->protocol != RTPROT_GATEWAYCTL || !(l = live_link_index(plan, r->oif)) ||
		    !model_owns_link(s, l, &peer) || !peer_named(plan, s, peer) || wanted_route6(plan, s, r, l->name))
			continue;
		route6_del_step(plan, r, l, "IPv6 route %s through %s is not in the file (or not as it is)",
				ip6_str(r->dst.s6_addr, ep));
	}
}

void plan_routes6(struct plan *plan, const struct site *s, const struct live *live)
{
	char dst[IP6_STRLEN + 4], src[IP6_STRLEN];

	if (live)
		plan_routes6_del(plan, s, live);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct link_info *l = live_link(live, p->tunnel);

		for (size_t k = 0; k < p->n_networks6; k++) {
			struct net6 net = p->networks6[k];
			size_t n;
			const struct route6_info *r = live_routes6(live, net.addr, net.len, &n);
			bool ok = false;
			struct step *st;

			for (size_t j = 0; j < n; j++)
				if (l && r[j].oif == l->ifindex && r[j].protocol == RTPROT_GATEWAYCTL &&
				    wanted_route6(plan, s, &r[j], l->name))
					ok = true;
			if (ok)
				continue;
			net6_str(net, dst);
			st = plan_add_step(plan, STEP_ROUTE_ADD, "ip -6 route add %s dev %s proto %d src %s", dst,
					   p->tunnel, RTPROT_GATEWAYCTL, ip6_str(s->lan_address6.addr, src));
			st->v6 = true;
			st->route6 = (struct route6_info){ .dst_len = net.len, .protocol = RTPROT_GATEWAYCTL,
							   .type = RTN_UNICAST, .table = RT_TABLE_MAIN };
			memcpy(&st->route6.dst, net.addr, 16);
			memcpy(&st->route6.prefsrc, s->lan_address6.addr, 16);
			st->peer = p;
			snprintf(st->ifname, sizeof(st->ifname), "%s", p->tunnel);
			if (live)
				step_why(st, "IPv6 route %s via %s is missing", dst, p->tunnel);
		}
	}
}

/* IPv6 forwarding on, and before it the WAN's accept_ra from 1 to 2: with
 * forwarding on, 1 takes no router advertisements, and a WAN configured by
 * SLAAC would lose its default route (DESIGN.md, "IPv6"). */
void plan_forwarding6(struct plan *plan, const struct site *s, const struct live *live)
{
	struct step *st;

	if (!s->forwarding || !model_site_v6(s))
		return;
	if (live && live->wan_accept_ra == 1) {
		st = plan_add_step(plan, STEP_ACCEPT_RA, "sysctl -w net.ipv6.conf.%s.accept_ra=2", s->wan);
		step_why(st, "%s takes router advertisements (accept_ra 1): it would ignore them once IPv6 "
			 "forwards", s->wan);
		st->v6 = true;
		st->value = 2;
		snprintf(st->ifname, sizeof(st->ifname), "%s", s->wan);
	}
	if (live && live->ip6_forward == 1)
		return;
	st = plan_add_step(plan, STEP_FORWARDING, "sysctl -w net.ipv6.conf.all.forwarding=1");
	st->v6 = true;
	st->value = 1;
	if (live)
		step_why(st, "IPv6 forwarding is off");
}

void plan_addr6(struct plan *plan, const struct live *live, const struct link_info *l, const char *ifname,
		struct net6 a)
{
	char net[IP6_STRLEN + 4];
	struct step *st;

	for (size_t i = 0; live && l && i < live->n_addrs6; i++)
		if (live->addrs6[i].ifindex == l->ifindex && ip6_equal(live->addrs6[i].local.s6_addr, a.addr) &&
		    live->addrs6[i].prefixlen == a.len)
			return;
	net6_str(a, net);
	st = plan_add_step(plan, STEP_ADDR_ADD, "ip -6 address add %s dev %s nodad", net, ifname);
	snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
	st->ifindex = l ? l->ifindex : 0;
	st->v6 = true;
	memcpy(&st->addr6, a.addr, 16);
	st->plen = a.len;
	if (live)
		step_why(st, "%s lacks %s", ifname, net);
}

void plan_default_route6(struct plan *plan, const struct site *s, const struct live *live)
{
	static const uint8_t any[16];
	size_t n;
	const struct route6_info *r = live_routes6(live, any, 0, &n);
	char gw[IP6_STRLEN];
	struct step *st;

	for (size_t i = 0; i < n; i++)
		if (r[i].table == RT_TABLE_MAIN && ip6_equal(r[i].gateway.s6_addr, s->gateway6))
			return; /* there, whoever made it */
	st = plan_add_step(plan, STEP_ROUTE_ADD, "ip -6 route add default via %s dev %s proto %d",
			   ip6_str(s->gateway6, gw), s->wan, RTPROT_GATEWAYCTL);
	snprintf(st->ifname, sizeof(st->ifname), "%s", s->wan);
	st->v6 = true;
	st->route6 = (struct route6_info){ .protocol = RTPROT_GATEWAYCTL, .type = RTN_UNICAST,
					   .table = RT_TABLE_MAIN };
	memcpy(&st->route6.gateway, s->gateway6, 16);
	if (live)
		step_why(st, n ? "the IPv6 default route goes elsewhere" : "no IPv6 default route");
}

bool live_bogus_route6(const struct live *live, const uint8_t endpoint6[16])
{
	size_t count;
	const struct route6_info *r = live_routes6(live, endpoint6, 128, &count);

	for (size_t i = 0; r && i < count; i++)
		if (live_tunnel_at(live, r[i].oif))
			return true;
	return false;
}

bool live_route6_present(const struct live *live, const struct link_info *l, struct net6 n, const uint8_t src[16])
{
	size_t count;
	const struct route6_info *r = live_routes6(live, n.addr, n.len, &count);

	for (size_t i = 0; l && i < count; i++)
		if (r[i].oif == l->ifindex && r[i].protocol == RTPROT_GATEWAYCTL && ip6_equal(r[i].prefsrc.s6_addr, src))
			return true;
	return false;
}
