/* endpoints.c - names and auto addresses filled in before planning (endpoints.h) */
#include "endpoints.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayctl.h"
#include "resolve.h"
#include "rtnl.h"
#include "state.h"

bool endpoints_dynamic(const struct site *s)
{
	if (s->wan_auto || s->gateway_auto)
		return true;
	/* a list of addresses too: the one in use is recorded (failover); and an
	 * encrypted peer: IKE may have found it elsewhere (the state says) */
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].endpoint_named || s->peers[i].n_eps > 1 || s->peers[i].encryption == ENC_IPSEC)
			return true;
	return false;
}

int endpoints_wan_auto(int wan_ifindex, const struct addr_info *a, size_t na, const struct route_info *r,
		       size_t nr, struct net4 *addr, uint32_t *gw, char *why, size_t len)
{
	bool found = false;

	for (size_t i = 0; addr && i < na && !found; i++)
		if (a[i].ifindex == wan_ifindex && !(a[i].flags & IFA_F_SECONDARY) && a[i].local) {
			*addr = (struct net4){ a[i].local, a[i].prefixlen };
			found = true;
		}
	if (addr && !found) {
		snprintf(why, len, "it has no IPv4 address");
		return -ENOENT;
	}
	for (size_t i = 0; gw && i < nr; i++)
		if (r[i].dst_len == 0 && r[i].oif == wan_ifindex && r[i].gateway && r[i].type == RTN_UNICAST) {
			*gw = r[i].gateway;
			return 0;
		}
	if (gw) {
		snprintf(why, len, "it has no default route through a gateway");
		return -ENOENT;
	}
	return 0;
}

bool endpoints_refused(const struct site *s, const struct peer *p, uint32_t addr, char *why, size_t len)
{
	char b[20];
	struct net4 lan = { s->lan_address.addr & net4_mask(s->lan_address.len), s->lan_address.len };

	(void)p;
	if (!ip4_unicast(addr) || addr == 0xffffffffu)
		snprintf(why, len, "not a unicast address");
	else if (addr == s->wan_address.addr || addr == s->public_address || addr == s->lan_address.addr)
		snprintf(why, len, "this gateway's own address");
	else if (net4_contains(lan, addr))
		snprintf(why, len, "inside this site's LAN %s", net4_str(lan, b));
	else {
		for (size_t i = 0; i < s->n_peers; i++)
			for (size_t k = 0; k < s->peers[i].n_networks; k++)
				if (net4_contains(s->peers[i].networks[k], addr)) {
					snprintf(why, len, "inside network %s of peer %s, which the tunnels carry",
						 net4_str(s->peers[i].networks[k], b), s->peers[i].name);
					return true;
				}
		return false;
	}
	return true;
}

bool endpoints_refused6(const struct site *s, const struct peer *p, const uint8_t a[16], char *why, size_t len)
{
	char b[NET6_STRLEN];

	(void)p;
	if (!ip6_unicast(a))
		snprintf(why, len, "not a unicast IPv6 address the internet routes");
	else if ((s->wan_address6.len && ip6_equal(a, s->wan_address6.addr)) ||
		 (s->lan_address6.len && ip6_equal(a, s->lan_address6.addr)))
		snprintf(why, len, "this gateway's own address");
	else if (s->lan_address6.len && net6_contains(s->lan_address6, a))
		snprintf(why, len, "inside this site's IPv6 LAN %s", net6_str(net6_network(s->lan_address6), b));
	else {
		for (size_t i = 0; i < s->n_peers; i++)
			for (size_t k = 0; k < s->peers[i].n_networks6; k++)
				if (net6_contains(s->peers[i].networks6[k], a)) {
					snprintf(why, len, "inside network %s of peer %s, which the tunnels carry",
						 net6_str(s->peers[i].networks6[k], b), s->peers[i].name);
					return true;
				}
		return false;
	}
	return true;
}

/* Whether RES's address K is refused as P's endpoint (WHY: "it resolves to A, why") */
static bool refused_at(const struct site *s, const struct peer *p, const struct resolved *res, size_t k,
		       char *why, size_t len)
{
	char b[IP6_STRLEN], reason[160];
	bool v6 = res->family == AF_INET6;

	if (v6 ? !endpoints_refused6(s, p, res->addr6[k], reason, sizeof(reason)) :
		 !endpoints_refused(s, p, res->addr[k], reason, sizeof(reason)))
		return false;
	snprintf(why, len, "it resolves to %s, %s: refused", v6 ? ip6_str(res->addr6[k], b) : ip4_str(res->addr[k], b),
		 reason);
	return true;
}

int endpoints_take(const struct site *s, struct peer *p, size_t e, const struct resolved *res, char *why,
		   size_t len)
{
	struct endpoint_item *it = &p->eps[e];

	if (res->status < 0) {
		snprintf(why, len, "%s", res->error[0] ? res->error : strerror(-res->status));
		return -1;
	}
	for (size_t i = 0; i < res->n; i++)
		if (refused_at(s, p, res, i, why, len))
			return -1;
	it->n_addrs = res->n < ENDPOINT_ADDRS_MAX ? res->n : ENDPOINT_ADDRS_MAX;
	if (res->family == AF_INET6)
		memcpy(it->addrs6, res->addr6, it->n_addrs * 16);
	else
		memcpy(it->addrs, res->addr, it->n_addrs * sizeof(it->addrs[0]));
	it->ttl = res->ttl;
	return 0;
}

uint32_t endpoints_choose(const struct peer *p, uint32_t keep)
{
	uint32_t first = 0;

	for (size_t e = 0; e < p->n_eps; e++) {
		const struct endpoint_item *it = &p->eps[e];
		size_t n = it->name ? it->n_addrs : 1;

		for (size_t k = 0; k < n; k++) {
			uint32_t a = it->name ? it->addrs[k] : it->addr;

			if (keep && a == keep)
				return keep;
			if (!first)
				first = a;
		}
	}
	return first;
}

bool endpoints_choose6(const struct peer *p, const uint8_t keep[16], uint8_t out[16])
{
	const uint8_t *first = NULL;

	for (size_t e = 0; e < p->n_eps; e++) {
		const struct endpoint_item *it = &p->eps[e];
		size_t n = it->name ? it->n_addrs : 1;

		for (size_t k = 0; k < n; k++) {
			const uint8_t *a = it->name ? it->addrs6[k] : it->addr6;

			if (keep && !ip6_zero(keep) && ip6_equal(a, keep)) {
				memcpy(out, a, 16);
				return true;
			}
			if (!first)
				first = a;
		}
	}
	if (first)
		memcpy(out, first, 16);
	else
		memset(out, 0, 16);
	return first != NULL;
}

void endpoints_record(const struct site *s, struct state *st)
{
	st->n_endpoints = 0;
	for (size_t i = 0; i < s->n_peers && st->n_endpoints < STATE_MAX_ENDPOINTS; i++) {
		const struct peer *p = &s->peers[i];
		unsigned ttl = 0;

		struct state_endpoint *se = &st->endpoints[st->n_endpoints];

		if ((!p->endpoint_named && p->n_eps < 2 && !endpoints_from_ike(p)) || !endpoints_in_use(p))
			continue;
		for (size_t e = 0; e < p->n_eps; e++)
			if (p->eps[e].name && (!ttl || p->eps[e].ttl < ttl))
				ttl = p->eps[e].ttl;
		snprintf(st->endpoints[st->n_endpoints].peer, sizeof(st->endpoints[0].peer), "%s", p->name);
		se->addr = p->endpoint;
		se->v6 = p->endpoint_v6;
		memcpy(se->addr6, p->endpoint6, 16);
		se->ike_base = p->endpoint_ike;
		memcpy(se->ike_base6, p->endpoint_ike6, 16);
		st->endpoints[st->n_endpoints++].ttl = ttl;
	}
}

bool endpoints_from_ike(const struct peer *p)
{
	return p->endpoint_v6 ? !ip6_zero(p->endpoint_ike6) : p->endpoint_ike != 0;
}

bool endpoints_in_use(const struct peer *p)
{
	return p->endpoint_v6 ? !ip6_zero(p->endpoint6) : p->endpoint != 0;
}

const struct endpoint_item *endpoints_named(const struct peer *p)
{
	/* an address IKE found: the item of the one it stands for */
	uint32_t a = p->endpoint_ike ? p->endpoint_ike : p->endpoint;
	const uint8_t *a6 = ip6_zero(p->endpoint_ike6) ? p->endpoint6 : p->endpoint_ike6;

	for (size_t e = 0; endpoints_in_use(p) && e < p->n_eps; e++)
		for (size_t k = 0; p->eps[e].name && k < p->eps[e].n_addrs; k++)
			if (p->endpoint_v6 ? ip6_equal(p->eps[e].addrs6[k], a6) : p->eps[e].addrs[k] == a)
				return &p->eps[e];
	for (size_t e = 0; !endpoints_in_use(p) && e < p->n_eps; e++)
		if (p->eps[e].name)
			return &p->eps[e];
	return NULL;
}

const char *endpoints_describe(const struct peer *p, char *buf, size_t len)
{
	const struct endpoint_item *it = endpoints_named(p);
	char a[IP6_STRLEN], b[IP6_STRLEN];

	bool used = endpoints_in_use(p);

	if (p->endpoint_v6)
		ip6_str(p->endpoint6, a);
	else
		ip4_str(p->endpoint, a);
	if (used && endpoints_from_ike(p))
		snprintf(buf, len, "%s (from IKE: the peer moved there from %s)", a, p->endpoint_v6 ?
			 ip6_str(p->endpoint_ike6, b) : ip4_str(p->endpoint_ike, b));
	else if (it && used)
		snprintf(buf, len, "%s (%s, TTL %u s)", it->name, a, it->ttl);
	else if (it)
		snprintf(buf, len, "%s (not resolved yet)", it->name);
	else
		snprintf(buf, len, "%s", used ? a : "unresolved");
	return buf;
}
