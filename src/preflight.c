/* preflight.c - the checks `up` runs before changing anything (preflight.h).
 * One function per kind of check; preflight() runs them all in the order of
 * the table, so that a new check is one function and one line. */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "ipsec.h"
#include "model.h"
#include "preflight.h"
#include "siteclash.h"

/* The LAN and WAN interfaces exist; unless gatewayctl manages them, they are
 * up and carry the file's addresses. */
static int check_interfaces(const struct site *s, const struct live *live, FILE *err)
{
	int errors = 0;
	char ip[16];
	const struct {
		const char *ifname, *role;
		struct net4 addr;
		int line, addr_line;
	} ifs[2] = {
		{ s->lan, "lan", s->lan_address, s->line_lan, s->line_lan_address },
		{ s->wan, "wan", s->wan_address, s->line_wan, s->line_wan_address },
	};

	for (int i = 0; i < 2; i++) {
		const struct link_info *l = live_link(live, ifs[i].ifname);
		bool has = false;

		if (!l) {
			fprintf(err, "%s:%d: error: interface `%s` (%s) does not exist on this gateway; "
				"check the name with `ip link`\n", s->path, ifs[i].line, ifs[i].ifname, ifs[i].role);
			errors++;
			continue;
		}
		if (s->manage_interfaces)
			continue;
		/* an IPv6-only WAN (no IPv4 wan_address): check_addr6 checks it */
		has = i == 1 && !ifs[i].addr.len && !s->wan_auto;
		for (size_t k = 0; k < live->n_addrs; k++)
			if (live->addrs[k].ifindex == l->ifindex && live->addrs[k].local == ifs[i].addr.addr &&
			    live->addrs[k].prefixlen == ifs[i].addr.len)
				has = true;
		if (!has) {
			fprintf(err, "%s:%d: error: `%s` does not carry %s/%u (%s_address); assign it, "
				"or set manage_interfaces = yes to let gatewayctl do it\n", s->path,
				ifs[i].addr_line, ifs[i].ifname, ip4_str(ifs[i].addr.addr, ip), ifs[i].addr.len,
				ifs[i].role);
			errors++;
		}
		if (!(l->flags & IFF_UP)) {
			fprintf(err, "%s:%d: error: `%s` (%s) is down; bring it up (ip link set %s up), "
				"or set manage_interfaces = yes\n", s->path, ifs[i].line, ifs[i].ifname,
				ifs[i].role, ifs[i].ifname);
			errors++;
		}
	}
	return errors;
}

/* IFNAME carries the IPv6 address A (of KEY), usable (not tentative): the
 * IPv6 routes name the LAN's as their src, the tunnels over IPv6 the WAN's as
 * their local address, which the kernel refuses or cannot send from otherwise. */
static int check_addr6(const struct site *s, const struct live *live, const char *ifname, struct net6 a6,
		       const char *key, int line, FILE *err)
{
	const struct link_info *l = live_link(live, ifname);
	char ip[IP6_STRLEN];

	if (!a6.len || !l || s->manage_interfaces)
		return 0;
	for (size_t k = 0; k < live->n_addrs6; k++) {
		const struct addr6_info *a = &live->addrs6[k];

		if (a->ifindex != l->ifindex || !ip6_equal(a->local.s6_addr, a6.addr) || a->prefixlen != a6.len)
			continue;
		if (!(a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			return 0;
		fprintf(err, "%s:%d: error: %s on `%s` is %s: gatewayctl needs it usable (%s); wait for "
			"duplicate address detection, or assign it with nodad\n", s->path, line,
			ip6_str(a6.addr, ip), ifname,
			a->flags & IFA_F_DADFAILED ? "a duplicate (DAD failed)" : "tentative (DAD is running)",
			!strcmp(key, "lan_address") ? "the IPv6 routes' src" : "the tunnels' local address");
		return 1;
	}
	fprintf(err, "%s:%d: error: `%s` does not carry %s/%u (%s); assign it (ip -6 address add "
		"%s/%u dev %s)\n", s->path, line, ifname, ip6_str(a6.addr, ip), a6.len, key, ip, a6.len, ifname);
	return 1;
}

/* The LAN's IPv6 address; the WAN's when a tunnel runs over IPv6; the IPv6
 * endpoints reachable through the WAN (preflight6.c) */
static int check_ipv6(const struct site *s, const struct live *live, FILE *err)
{
	int errors = check_addr6(s, live, s->lan, s->lan_address6, "lan_address", s->line_lan_address, err);

	if (!preflight6_over_ipv6(s))
		return errors;
	errors += check_addr6(s, live, s->wan, s->wan_address6, "wan_address", s->line_wan_address, err);
	return errors + preflight6_routes(s, live, err);
}

/* charon answers when a peer is encrypted */
static int check_charon(const struct site *s, const struct live *live, FILE *err)
{
	if (!ipsec_site_uses(s) || live->ipsec.reachable)
		return 0;
	fprintf(err, "%s: error: %s; peers with `encryption = ipsec` need it\n  hint: %s\n", s->path,
		live->ipsec.error, ipsec_hint(-ENOENT));
	return 1;
}

/* No connection of one of the site's names in charon that the site's record
 * does not own (it would be replaced) */
static int check_ipsec_owner(const struct site *s, const struct live *live, FILE *err)
{
	return ipsec_preflight(s, &live->ipsec, err);
}

/* No link of somebody else's carries the peer's tunnel name. */
static int check_tunnel_name(const struct site *s, const struct peer *p, const struct live *live, FILE *err)
{
	const struct link_info *l = live_link(live, p->tunnel);

	if (!l || model_owns_link(s, l, NULL))
		return 0; /* absent, or ours (perhaps unfinished): fine */
	if (strncmp(l->alias, RTNL_ALIAS_PREFIX, strlen(RTNL_ALIAS_PREFIX)))
		fprintf(err, "%s:%d: error: peer %s: the tunnel name `%s` is taken by a link "
			"gatewayctl did not create (kind %s); choose another with `tunnel =`\n",
			s->path, p->line, p->name, p->tunnel, l->kind[0] ? l->kind : "none");
	else
		fprintf(err, "%s:%d: error: peer %s: the tunnel name `%s` belongs to gatewayctl's "
			"%s; choose another with `tunnel =`\n", s->path, p->line, p->name, p->tunnel,
			l->alias + strlen(RTNL_ALIAS_PREFIX));
	return 1;
}

/* A route to DST (a network of P's, "" IPv4 or " -6" IPv6: FAM) that
 * gatewayctl did not create, told. */
static int foreign_route(const struct site *s, const struct peer *p, const char *fam, const char *dst,
			 unsigned protocol, FILE *err)
{
	fprintf(err, "%s:%d: error: peer %s: a%s route to %s exists that gatewayctl did not create (protocol %u); "
		"remove it first (ip%s route del %s), gatewayctl will route the network itself\n", s->path,
		p->networks_line, p->name, *fam ? "n IPv6" : "", dst, protocol, fam, dst);
	return 1;
}

/* No route that gatewayctl did not create goes to one of the peer's networks
 * (IPv4's, IPv6's). */
static int check_foreign_routes(const struct site *s, const struct peer *p, const struct live *live, FILE *err)
{
	int errors = 0;
	char dst[NET6_STRLEN];

	for (size_t k = 0; k < p->n_networks; k++) {
		size_t count;
		const struct route_info *r = live_routes(live, p->networks[k].addr, p->networks[k].len, &count);

		for (size_t j = 0; j < count; j++)
			if (r[j].table == RT_TABLE_MAIN && r[j].protocol != RTPROT_GATEWAYCTL)
				errors += foreign_route(s, p, "", net4_str(p->networks[k], dst), r[j].protocol, err);
	}
	for (size_t k = 0; k < p->n_networks6; k++) {
		size_t count;
		const struct route6_info *r = live_routes6(live, p->networks6[k].addr, p->networks6[k].len, &count);

		for (size_t j = 0; j < count; j++)
			if (r[j].table == RT_TABLE_MAIN && r[j].protocol != RTPROT_GATEWAYCTL)
				errors += foreign_route(s, p, " -6", net6_str(p->networks6[k], dst), r[j].protocol, err);
	}
	return errors;
}

/* Per peer, in the file's order. */
static int check_peers(const struct site *s, const struct live *live, FILE *err)
{
	int errors = 0;

	for (size_t i = 0; i < s->n_peers; i++) {
		errors += check_tunnel_name(s, &s->peers[i], live, err);
		errors += check_foreign_routes(s, &s->peers[i], live, err);
	}
	return errors;
}

/* No other site up here has the same WAN address (siteclash.h). */
static int check_wan_shared(const struct site *s, const struct live *live, FILE *err)
{
	(void)live;
	return siteclash_check(s, err);
}

static int (*const checks[])(const struct site *, const struct live *, FILE *) = {
	check_interfaces,
	check_ipv6,
	check_charon,
	check_ipsec_owner,
	check_peers,
	check_wan_shared,
};

int preflight(const struct site *s, const struct live *live, FILE *err)
{
	int errors = 0;

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		errors += checks[i](s, live, err);
	return errors;
}
