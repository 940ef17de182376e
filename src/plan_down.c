/* plan_down.c - down as a plan: what removing a site would take, read from the
 * kernel, the state file, charon and the site's file, as steps that
 * `down --dry-run` prints and apply_removal (apply_down.c) carries out. Only
 * what carries gatewayctl's marks (docs/DESIGN.md, "Ownership marks"). */
#include <linux/if.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "config.h"
#include "gatewayctl.h"
#include "ipsec_down.h"
#include "model.h"
#include "relay.h"
#include "state.h"

/* The site's file when the caller has none: the one its last up recorded (the
 * names of tunnels an interrupted up left without alias). */
static bool load_recorded(const char *name, const struct state *st, struct site *conf)
{
	FILE *devnull = fopen("/dev/null", "we");
	bool ok = false;

	memset(conf, 0, sizeof(*conf));
	if (!devnull || !st->file[0]) {
		if (devnull)
			fclose(devnull);
		return false;
	}
	if (config_load(st->file, conf, devnull) == 0) {
		ok = !strcmp(conf->name, name);
		if (!ok)
			config_free(conf);
	} else if (conf->peers) {
		config_free(conf);
	}
	fclose(devnull);
	return ok;
}

/* The relay first (it sends through the tunnels), then the nftables table. */
static void plan_relay_nft(struct plan *plan, struct nl *nf, const char *name)
{
	pid_t pid = relay_running(name, NULL, NULL);
	struct nft_state ns;

	if (pid)
		plan_add_step(plan, STEP_RELAY_STOP, "kill %d   # the relay of site %s", (int)pid, name)->value =
			(uint32_t)pid;
	if (nft_table_read(nf, name, &ns) == 0 && (ns.present || ns.present6))
		plan_add_step(plan, STEP_NFT_DELETE, "%s%s%s%s%s", ns.present ? "nft delete table ip " NFT_TABLE_PREFIX : "",
			      ns.present ? name : "", ns.present && ns.present6 ? "\n" : "",
			      ns.present6 ? "nft delete table ip6 " NFT_TABLE_PREFIX : "", ns.present6 ? name : "");
}

/* Tunnels, by their alias (or, without one, by group and a name of CONF's). */
static void plan_tunnels_down(struct plan *plan, const char *name, const struct site *conf,
			      const struct live *live)
{
	char alias[128];

	snprintf(alias, sizeof(alias), RTNL_ALIAS_PREFIX "%s/", name);
	for (size_t i = 0; i < live->n_links; i++) {
		const struct link_info *l = &live->links[i];
		struct step *st;

		if (strncmp(l->alias, alias, strlen(alias)) && !(conf && model_owns_link(conf, l, NULL)))
			continue;
		st = plan_add_step(plan, STEP_TUNNEL_DEL, "ip link delete %s", l->name);
		st->ifindex = l->ifindex;
		snprintf(st->ifname, sizeof(st->ifname), "%s", l->name);
		st->old = *l;
	}
}

/* What the state file says up added of IPv6 (manage_interfaces): the default
 * route (still ours), the addresses. */
static void plan_recorded6(struct plan *plan, const struct state *st, const struct live *live)
{
	char buf[NET6_STRLEN];
	struct step *s;

	for (size_t i = 0; !ip6_zero(st->default_route6.gateway) && i < live->n_routes6; i++) {
		const struct route6_info *ri = &live->routes6[i];

		if (ri->dst_len != 0 || ri->protocol != RTPROT_GATEWAYCTL ||
		    !ip6_equal(ri->gateway.s6_addr, st->default_route6.gateway))
			continue;
		s = plan_add_step(plan, STEP_ROUTE_DEL, "ip -6 route del default via %s proto %d",
				  ip6_str(ri->gateway.s6_addr, buf), RTPROT_GATEWAYCTL);
		s->v6 = true;
		s->route6 = *ri;
	}
	for (int k = 0; k < st->n_addrs6; k++) {
		for (size_t i = 0; i < live->n_addrs6; i++) {
			const struct addr6_info *a = &live->addrs6[i];
			const struct link_info *l = live_link_at(live, a->ifindex);

			if (!l || strcmp(l->name, st->addrs6[k].ifname) ||
			    !ip6_equal(a->local.s6_addr, st->addrs6[k].addr.addr) || a->prefixlen != st->addrs6[k].addr.len)
				continue;
			s = plan_add_step(plan, STEP_ADDR_DEL, "ip -6 address del %s dev %s",
					  net6_str(st->addrs6[k].addr, buf), l->name);
			s->v6 = true;
			s->ifindex = a->ifindex;
			s->addr6 = a->local;
			s->plen = a->prefixlen;
		}
	}
}

/* What the state file says up added: the default route (still ours),
 * addresses, links it brought up. */
static void plan_recorded(struct plan *plan, const struct state *st, const struct live *live)
{
	char buf[20];

	for (size_t i = 0; st->default_route.gateway && i < live->n_routes; i++) {
		const struct route_info *ri = &live->routes[i];

		if (ri->dst_len != 0 || ri->protocol != RTPROT_GATEWAYCTL || ri->gateway != st->default_route.gateway)
			continue;
		plan_add_step(plan, STEP_ROUTE_DEL, "ip route del default via %s proto %d", ip4_str(ri->gateway, buf),
			      RTPROT_GATEWAYCTL)->route = *ri;
	}
	for (int k = 0; k < st->n_addrs; k++) {
		for (size_t i = 0; i < live->n_addrs; i++) {
			const struct addr_info *a = &live->addrs[i];
			const struct link_info *l = live_link_at(live, a->ifindex);
			struct step *s;

			if (!l || strcmp(l->name, st->addrs[k].ifname) || a->local != st->addrs[k].addr.addr ||
			    a->prefixlen != st->addrs[k].addr.len)
				continue;
			s = plan_add_step(plan, STEP_ADDR_DEL, "ip address del %s dev %s",
					  net4_str(st->addrs[k].addr, buf), l->name);
			s->ifindex = a->ifindex;
			s->addr = a->local;
			s->plen = a->prefixlen;
		}
	}
	/* before the links go down: that takes IPv6 addresses and routes with it */
	plan_recorded6(plan, st, live);
	for (int k = 0; k < st->n_links_up; k++) {
		for (size_t j = 0; j < live->n_links; j++) {
			const struct link_info *l = &live->links[j];

			if (strcmp(l->name, st->links_up[k]) || !(l->flags & IFF_UP))
				continue;
			plan_add_step(plan, STEP_LINK_DOWN, "ip link set %s down", l->name)->ifindex = l->ifindex;
		}
	}
}

/* Whether another site here has a state file (it may need forwarding). */
static bool other_sites(const char *name)
{
	char (*others)[SITE_NAME_MAX + 1] = NULL;
	size_t n_others = 0;
	bool shared = false;

	if (state_sites(&others, &n_others) == 0)
		for (size_t i = 0; i < n_others; i++)
			if (strcmp(others[i], name))
				shared = true;
	free(others);
	return shared;
}

/* The WAN's accept_ra back to what it was (ST's accept_ra_was, -1: left
 * alone), if it is still the 2 that up set and no other site here forwards. */
static void plan_accept_ra(struct plan *plan, const char *name, const struct state *st)
{
	uint32_t now;
	struct step *s;

	if (st->accept_ra_was < 0 || other_sites(name) || rtnl_ipv6_accept_ra(st->accept_ra_ifname, &now) < 0 ||
	    now != 2 || st->accept_ra_was == 2)
		return;
	s = plan_add_step(plan, STEP_ACCEPT_RA, "sysctl -w net.ipv6.conf.%s.accept_ra=%d", st->accept_ra_ifname,
			  st->accept_ra_was);
	s->v6 = true;
	s->value = (uint32_t)st->accept_ra_was;
	s->old_value = now;
	snprintf(s->ifname, sizeof(s->ifname), "%s", st->accept_ra_ifname);
}

/* Forwarding (IPv4's, and IPv6's: V6) back to what it was (WAS, -1: left
 * alone), unless another site here still needs it. */
static void plan_forwarding(struct plan *plan, const char *name, int was, bool v6)
{
	bool shared;
	uint32_t now;
	int r;

	if (was < 0)
		return;
	shared = other_sites(name);
	r = v6 ? rtnl_ipv6_forwarding("all", &now) : sysctl_read_u32("/proc/sys/net/ipv4/ip_forward", &now);
	if (!shared && r == 0 && now != (uint32_t)was) {
		struct step *s = plan_add_step(plan, STEP_FORWARDING, v6 ? "sysctl -w net.ipv6.conf.all.forwarding=%d"
									 : "sysctl -w net.ipv4.ip_forward=%d", was);

		s->v6 = v6;
		s->value = (uint32_t)was;
		s->old_value = now;
	}
}

int plan_down(struct nl *rt, struct nl *nf, const char *name, const struct site *conf, struct plan *plan,
	      struct live *live, FILE *notes, FILE *err)
{
	struct site loaded;
	struct state st;
	int failures = 0;

	memset(live, 0, sizeof(*live));
	if (state_read(name, &st) < 0)
		state_init(&st, name);
	if (!conf && load_recorded(name, &st, &loaded))
		conf = &loaded;
	plan_relay_nft(plan, nf, name);
	if (rtnl_links(rt, &live->links, &live->n_links) < 0 || rtnl_routes(rt, &live->routes, &live->n_routes) < 0 ||
	    rtnl_addrs(rt, 0, &live->addrs, &live->n_addrs) < 0) {
		fprintf(err, "%s down: reading links, routes and addresses: %s\n", prog, nl_strerror(rt));
		failures++;
		goto out;
	}
	plan_tunnels_down(plan, name, conf, live);
	/* IPsec after the tunnels: their packets stay protected to the end */
	if (ipsec_plan_down(name, conf, plan, notes, err) < 0)
		failures++;
	/* the xfrm block policies last of the tunnels' guards */
	if (block_plan_down(name, plan, err) < 0)
		failures++;
	if ((st.n_addrs6 || !ip6_zero(st.default_route6.gateway)) &&
	    (rtnl_routes6(rt, &live->routes6, &live->n_routes6) < 0 ||
	     rtnl_addrs6(rt, 0, &live->addrs6, &live->n_addrs6) < 0)) {
		fprintf(err, "%s down: reading IPv6 routes and addresses: %s\n", prog, nl_strerror(rt));
		failures++;
	}
	plan_recorded(plan, &st, live);
	plan_forwarding(plan, name, st.forwarding_was, false);
	plan_forwarding(plan, name, st.forwarding6_was, true);
	/* after forwarding: the WAN takes no advertisement it should not meanwhile */
	plan_accept_ra(plan, name, &st);
out:
	if (conf == &loaded)
		config_free(&loaded);
	return failures;
}
