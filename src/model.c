/* model.c - the steps from the kernel as it is to what the site file asks */
#define _GNU_SOURCE
#include "model.h"
#include "gatewayctl.h"
#include "relay.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

static void plan_init_spec(struct plan *plan, const struct site *s)
{
	size_t n_masq = 0, n_ipsec = 0, n_ep = 0;

	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].masquerade)
			n_masq += s->peers[i].n_networks;
	plan->masq = live_xcalloc(n_masq, sizeof(*plan->masq));
	plan->tunnels = live_xcalloc(s->n_peers, sizeof(*plan->tunnels));
	plan->endpoints = live_xcalloc(s->n_peers, sizeof(*plan->endpoints));
	plan->ipsec = live_xcalloc(s->n_peers, sizeof(*plan->ipsec));
	n_masq = 0;
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		for (size_t k = 0; p->masquerade && k < p->n_networks; k++) {
			plan->masq[n_masq].addr = p->networks[k].addr;
			plan->masq[n_masq++].len = p->networks[k].len;
		}
		snprintf(plan->tunnels[i], sizeof(plan->tunnels[i]), "%s", p->tunnel);
		/* a peer over IPv6 is in the ip6 table's set (plan_init_spec6) */
		if (!p->endpoint_v6)
			plan->endpoints[n_ep++] = p->endpoint;
		if (p->encryption == ENC_IPSEC && !p->endpoint_v6)
			plan->ipsec[n_ipsec++] = p->endpoint;
	}
	plan->nft = (struct nft_spec){
		.site = s->name,
		.lan = s->lan,
		.lan_addr = s->lan_address.addr,
		.lan_broadcast = net4_broadcast(s->lan_address),
		.masq = plan->masq,
		.n_masq = n_masq,
		.tunnels = (const char (*)[16])plan->tunnels,
		.n_tunnels = s->n_peers,
		.endpoints = plan->endpoints,
		.n_endpoints = n_ep,
		.wan_addr = s->wan_address.addr,
		.mss_clamp = s->mss_clamp,
		.ipsec = plan->ipsec,
		.n_ipsec = n_ipsec,
		.netmap_lan = s->lan_address.addr & net4_mask(s->lan_address.len),
		.netmap_to = s->netmap.addr,
		.netmap_len = s->netmap.len,
	};
	plan_init_spec6(plan, s);
}

void plan_free(struct plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		free(plan->steps[i].text);
	free(plan->steps);
	free(plan->masq);
	free(plan->tunnels);
	free(plan->endpoints);
	free(plan->ipsec);
	free(plan->masq6);
	free(plan->endpoints6);
	free(plan->ipsec6);
	free(plan->by_name);
	free(plan->by_tunnel);
	free(plan->by_ifindex);
	memset(plan, 0, sizeof(*plan));
}

static bool has_addr(const struct live *live, int ifindex, struct net4 a)
{
	for (size_t i = 0; i < live->n_addrs; i++)
		if (live->addrs[i].ifindex == ifindex && live->addrs[i].local == a.addr &&
		    live->addrs[i].prefixlen == a.len)
			return true;
	return false;
}

/* manage_interfaces: IFNAME's addresses (A, A6; len 0: none), the link up. */
static void plan_interface(struct plan *plan, const struct live *live, const char *ifname, struct net4 a,
			   struct net6 a6)
{
	const struct link_info *l = live_link(live, ifname);
	char ip[16], brd[16];
	struct step *st;

	if (a.len && (!live || !l || !has_addr(live, l->ifindex, a))) {
		st = plan_add_step(plan, STEP_ADDR_ADD, "ip address add %s/%u broadcast %s dev %s",
			      ip4_str(a.addr, ip), a.len, ip4_str(net4_broadcast(a), brd), ifname);
		snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
		st->ifindex = l ? l->ifindex : 0;
		st->addr = a.addr;
		st->plen = a.len;
		st->brd = net4_broadcast(a);
		if (live)
			step_why(st, "%s lacks %s/%u", ifname, ip, a.len);
	}
	if (a6.len)
		plan_addr6(plan, live, l, ifname, a6);
	if (!live || !l || !(l->flags & IFF_UP)) {
		st = plan_add_step(plan, STEP_LINK_UP, "ip link set %s up", ifname);
		snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
		st->ifindex = l ? l->ifindex : 0;
		if (live)
			step_why(st, "%s is down", ifname);
	}
}

static void plan_default_route(struct plan *plan, const struct site *s, const struct live *live)
{
	size_t n;
	const struct route_info *r = live_routes(live, 0, 0, &n);
	char gw[16];
	struct step *st;

	for (size_t i = 0; i < n; i++)
		if (r[i].table == RT_TABLE_MAIN && r[i].gateway == s->gateway)
			return; /* there, whoever made it */
	st = plan_add_step(plan, STEP_ROUTE_ADD, "ip route add default via %s dev %s proto %d",
		      ip4_str(s->gateway, gw), s->wan, RTPROT_GATEWAYCTL);
	snprintf(st->ifname, sizeof(st->ifname), "%s", s->wan);
	st->route = (struct route_info){ .gateway = s->gateway, .protocol = RTPROT_GATEWAYCTL,
					 .table = RT_TABLE_MAIN, .scope = RT_SCOPE_UNIVERSE,
					 .type = RTN_UNICAST };
	if (live)
		step_why(st, n ? "the default route goes elsewhere" : "no default route");
}





static void plan_tunnels(struct plan *plan, const struct site *s, const struct live *live)
{
	char text[400], drift[300];

	/* tunnels of ours that the file no longer names go first: a new peer may reuse the name */
	for (size_t i = 0; live && i < live->n_links; i++) {
		const struct link_info *l = &live->links[i];
		const char *peer;
		struct step *st;

		if (!model_owns_link(s, l, &peer) || peer_named(plan, s, peer))
			continue;
		st = plan_add_step(plan, STEP_TUNNEL_DEL, "ip link delete %s", l->name);
		step_why(st, "peer %s is no longer in the file", peer);
		snprintf(st->ifname, sizeof(st->ifname), "%s", l->name);
		st->ifindex = l->ifindex;
		st->old = *l;
	}
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct link_info *l = live_link(live, p->tunnel);
		unsigned mtu = model_tunnel_mtu(s, p, live);
		struct step *st;

		if (l && model_owns_link(s, l, NULL))
			model_tunnel_drift(s, p, l, mtu, drift, sizeof(drift));
		if (!l) {
			model_tunnel_text(text, sizeof(text), "add", s, p, mtu);
			st = plan_add_step(plan, STEP_TUNNEL_ADD, "%s", text);
			if (live)
				step_why(st, "tunnel %s is missing", p->tunnel);
		} else if (!model_owns_link(s, l, NULL)) {
			continue; /* somebody else's link: preflight refuses */
		} else if (!strcmp(l->kind, model_kind_name(model_tunnel_kind(p))) && drift[0]) {
			model_tunnel_text(text, sizeof(text), "set", s, p, mtu);
			st = plan_add_step(plan, STEP_TUNNEL_CHANGE, "%s", text);
			step_why(st, "%s", drift);
			st->old = *l;
		} else if (drift[0]) {
			st = plan_add_step(plan, STEP_TUNNEL_DEL, "ip link delete %s", l->name);
			step_why(st, "%s", drift);
			st->old = *l;
			st->ifindex = l->ifindex;
			snprintf(st->ifname, sizeof(st->ifname), "%s", p->tunnel);
			st->peer = p;
			model_tunnel_text(text, sizeof(text), "add", s, p, mtu);
			st = plan_add_step(plan, STEP_TUNNEL_ADD, "%s", text);
			l = NULL;
		} else {
			continue;
		}
		st->peer = p;
		st->value = mtu;
		st->ifindex = l ? l->ifindex : 0;
		snprintf(st->ifname, sizeof(st->ifname), "%s", p->tunnel);
	}
}

/* A strict rp_filter (1) on a tunnel drops decapsulated packets whose reverse
 * route is elsewhere; gatewayctl makes it loose (2) on its own tunnels. */
static void plan_rp_filter(struct plan *plan, const struct site *s, const struct live *live)
{
	if (!live)
		return;
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct link_info *l = live_link(live, p->tunnel);
		uint32_t dev = l ? live->peer_rp_filter[i] : live->rp_filter_default;
		uint32_t eff = dev > live->rp_filter_all ? dev : live->rp_filter_all;
		struct step *st;

		if (eff != 1 || (l && !model_owns_link(s, l, NULL)))
			continue;
		st = plan_add_step(plan, STEP_RP_FILTER, "sysctl -w net.ipv4.conf.%s.rp_filter=2", p->tunnel);
		step_why(st, "strict rp_filter would drop decapsulated packets whose reverse route is not %s",
		    p->tunnel);
		st->peer = p;
		st->value = 2;
		st->ifindex = l ? l->ifindex : 0;
		st->old_value = dev;
		snprintf(st->ifname, sizeof(st->ifname), "%s", p->tunnel);
	}
}

static void route_del_text(struct step *st, const struct route_info *r, const struct plan *plan)
{
	const struct link_info *l = live_link_index(plan, r->oif);
	char dst[20], gw[16];

	free(st->text);
	st->text = NULL;
	if (asprintf(&st->text, "ip route del %s%s%s%s%s proto %u",
		 net4_str((struct net4){ r->dst, r->dst_len }, dst),
		 r->gateway ? " via " : "", r->gateway ? ip4_str(r->gateway, gw) : "",
		 l ? " dev " : "", l ? l->name : "", r->protocol) < 0) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		exit(1);
	}
	st->route = *r;
	st->ifindex = r->oif;
	if (l)
		snprintf(st->ifname, sizeof(st->ifname), "%s", l->name);
}

static bool wanted_route(const struct plan *plan, const struct site *s, const struct route_info *r,
			 const char *tunnel)
{
	const struct peer *p = peer_of_tunnel(plan, s, tunnel);

	for (size_t k = 0; p && k < p->n_networks; k++)
		if (p->networks[k].addr == r->dst && p->networks[k].len == r->dst_len)
			return r->prefsrc == s->lan_address.addr && r->gateway == 0;
	return false;
}

static void plan_routes(struct plan *plan, const struct site *s, const struct live *live)
{
	char dst[20], src[16];

	/* bogus host routes: a peer's endpoint routed into a tunnel loops */
	for (size_t i = 0; live && i < s->n_peers; i++) {
		size_t n;
		const struct route_info *r = live_routes(live, s->peers[i].endpoint, 32, &n);

		for (size_t k = 0; k < n; k++) {
			const struct link_info *l = live_link_index(plan, r[k].oif);
			struct step *st;

			if (!l || !model_tunnel_link_kind(l->kind))
				continue;
			st = plan_add_step(plan, STEP_ROUTE_DEL, "%s", "");
			route_del_text(st, &r[k], plan);
			step_why(st, "bogus host route: peer %s's endpoint is routed into %s, where its own packets would loop",
			    s->peers[i].name, l->name);
			st->peer = &s->peers[i];
		}
	}
	/* our routes that the file no longer asks for (or asks for differently) */
	for (size_t i = 0; live && i < live->n_routes; i++) {
		const struct route_info *r = &live->routes[i];
		const struct link_info *l;
		const char *peer;
		struct step *st;

		if (r->protocol != RTPROT_GATEWAYCTL || !(l = live_link_index(plan, r->oif)) ||
		    !model_owns_link(s, l, &peer) || !peer_named(plan, s, peer) || wanted_route(plan, s, r, l->name))
			continue;
		st = plan_add_step(plan, STEP_ROUTE_DEL, "%s", "");
		route_del_text(st, r, plan);
		step_why(st, "route %s is not in the file (or not as it is)",
		    net4_str((struct net4){ r->dst, r->dst_len }, dst));
	}
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct link_info *l = live_link(live, p->tunnel);

		for (size_t k = 0; k < p->n_networks; k++) {
			struct net4 net = p->networks[k];
			struct route_info want = {
				.dst = net.addr, .dst_len = net.len, .protocol = RTPROT_GATEWAYCTL,
				.scope = RT_SCOPE_LINK, .type = RTN_UNICAST, .table = RT_TABLE_MAIN,
				.prefsrc = s->lan_address.addr,
			};
			size_t n;
			const struct route_info *r = live_routes(live, net.addr, net.len, &n);
			bool ok = false;
			struct step *st;

			for (size_t j = 0; j < n; j++)
				if (l && r[j].oif == l->ifindex && r[j].protocol == RTPROT_GATEWAYCTL &&
				    wanted_route(plan, s, &r[j], l->name))
					ok = true;
			if (ok)
				continue;
			st = plan_add_step(plan, STEP_ROUTE_ADD,
				      "ip route add %s dev %s proto %d scope link src %s",
				      net4_str(net, dst), p->tunnel, RTPROT_GATEWAYCTL,
				      ip4_str(s->lan_address.addr, src));
			st->route = want;
			st->peer = p;
			snprintf(st->ifname, sizeof(st->ifname), "%s", p->tunnel);
			if (live)
				step_why(st, "route %s via %s is missing", dst, p->tunnel);
		}
	}
}

/* The relay runs when [relay] is there, with the file's settings. */
static void plan_relay(struct plan *plan, const struct site *s, const struct live *live)
{
	struct step *st;
	char ports[RELAY_PORTS_MAX * 6 + 1] = "";
	size_t len = 0;

	for (size_t i = 0; i < s->relay.n_ports && len < sizeof(ports); i++)
		len += (size_t)snprintf(ports + len, sizeof(ports) - len, "%s%u", i ? "," : "", s->relay.ports[i]);
	if (s->relay.enabled && (!live || !live->relay_pid || live->relay_hash != relay_config_hash(s))) {
		char path[sizeof(s->path) * 4 + 4];

		shell_word(s->path, path, sizeof(path));
		st = plan_add_step(plan, STEP_RELAY_START, "gatewayctl relay -f %s --daemon   # UDP ports %s",
			      path, ports);
		st->value = live ? (uint32_t)live->relay_pid : 0; /* a relay to stop first */
		if (live)
			step_why(st, live->relay_pid ? "the relay (pid %d) runs with other settings than the file's"
						: "the broadcast relay is not running", live->relay_pid);
	} else if (!s->relay.enabled && live && live->relay_pid) {
		st = plan_add_step(plan, STEP_RELAY_STOP, "kill %d   # the relay of site %s", live->relay_pid, s->name);
		st->value = (uint32_t)live->relay_pid;
		step_why(st, "the file has no [relay] section any more");
	}
}

/* Whether the last up recorded connection NAME as loaded. */
static bool ipsec_recorded(const struct ipsec_live *il, const char *name)
{
	for (size_t k = 0; k < il->record.n; k++)
		if (!strcmp(il->record.conns[k].name, name))
			return true;
	return false;
}

/* Each ipsec peer's IKE connection is loaded in charon exactly as the file
 * asks (its message and key recorded by the last up); ours that no peer asks
 * for any more go. */
static void plan_ipsec(struct plan *plan, const struct site *s, const struct live *live)
{
	const struct ipsec_live *il = live ? &live->ipsec : NULL;
	struct step *st;

	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct ipsec_peer_live *pl = il && il->peers ? &il->peers[i] : NULL;
		char *text;

		if (p->encryption != ENC_IPSEC || (pl && pl->same))
			continue;
		text = ipsec_plan_text(s, p);
		st = plan_add_step(plan, STEP_IPSEC_LOAD, "%s", text ? text : "swanctl --load-conns");
		free(text);
		st->peer = p;
		ipsec_conn_name(s, p, st->conn, sizeof(st->conn));
		st->value = pl && pl->loaded && !pl->foreign;	/* replaced, not new */
		if (live && il->reachable && !(pl && pl->loaded) && ipsec_recorded(il, st->conn))
			/* loaded by an earlier up, gone since: charon restarted, or a
			 * `swanctl --load-all` (strongswan.service) unloaded it */
			step_why(st, "IKE connection %s is not loaded in charon any more: charon restarted, or "
				 "`swanctl --load-all` unloaded it (see ENCRYPTION in gatewayctl(8))", st->conn);
		else if (live)
			step_why(st, !il->reachable ? "charon is not reachable: %s" :
				 !pl || !pl->loaded ? "IKE connection %s is not loaded in charon" :
				 pl->foreign ? "charon holds an IKE connection %s that gatewayctl did not load: up refuses "
					       "to replace it" :
				 pl->conn_same ? "charon lacks the key of IKE connection %s (restarted, or swanctl "
						 "--load-creds)" :
				 "IKE connection %s differs from the file", !il->reachable ? il->error : st->conn);
	}
	for (size_t k = 0; il && k < il->n_stale; k++) {
		st = plan_add_step(plan, STEP_IPSEC_UNLOAD, "swanctl --terminate --ike %s; swanctl --unload-conn %s",
			      il->stale[k], il->stale[k]);
		snprintf(st->conn, sizeof(st->conn), "%s", il->stale[k]);
		step_why(st, "IKE connection %s is for no ipsec peer of the file any more", il->stale[k]);
	}
}

void plan_build(struct plan *plan, const struct site *s, const struct live *live)
{
	struct step *st;

	if (!plan->nft.site)
		plan_init_spec(plan, s);
	plan_index(plan, s, live);
	if (s->manage_interfaces) {
		plan_interface(plan, live, s->lan, s->lan_address, s->lan_address6);
		plan_interface(plan, live, s->wan, s->wan_address, s->wan_address6);
	}
	if (s->forwarding && (!live || live->ip_forward != 1)) {
		st = plan_add_step(plan, STEP_FORWARDING, "sysctl -w net.ipv4.ip_forward=1");
		st->value = 1;
		if (live)
			step_why(st, "IPv4 forwarding is off");
	}
	plan_forwarding6(plan, s, live);
	if (s->manage_interfaces && s->gateway)
		plan_default_route(plan, s, live);
	if (s->manage_interfaces && !ip6_zero(s->gateway6))
		plan_default_route6(plan, s, live);
	plan_ipsec(plan, s, live);
	block_plan(plan, s, live);
	plan_tunnels(plan, s, live);
	plan_rp_filter(plan, s, live);
	plan_routes(plan, s, live);
	plan_routes6(plan, s, live);
	plan_relay(plan, s, live);
	if (!live || live->nft_match != 1) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (f) {
			nft_spec_print(&plan->nft, f);
			fclose(f);
		}
		st = plan_add_step(plan, STEP_NFT_REPLACE, "%s", text ? text : "");
		free(text);
		if (live)
			step_why(st, live->nft_present ? "table " NFT_TABLE_PREFIX "%s differs from the file"
						  : "table " NFT_TABLE_PREFIX "%s is missing", s->name);
	}
}

void plan_print(const struct plan *plan, FILE *out)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct step *st = &plan->steps[i];
		size_t len = strlen(st->text);

		if (st->why[0])
			fprintf(out, "# %s\n", st->why);
		fprintf(out, "%s%s", st->text, len && st->text[len - 1] == '\n' ? "" : "\n");
	}
}

/* ---- reading the kernel ------------------------------------------------ */


void live_free(struct live *live)
{
	free(live->links);
	free(live->addrs);
	free(live->routes);
	free(live->routes6);
	free(live->addrs6);
	free(live->peer_rp_filter);
	ipsec_live_free(&live->ipsec);
	block_live_free(&live->block);
	memset(live, 0, sizeof(*live));
}

int live_read(struct nl *rt, struct nl *nf, const struct site *s, struct plan *plan,
	      struct live *live, FILE *err)
{
	int r;

	memset(live, 0, sizeof(*live));
	if (!plan->nft.site)
		plan_init_spec(plan, s);
	if ((r = rtnl_links(rt, &live->links, &live->n_links)) < 0 ||
	    (r = rtnl_addrs(rt, 0, &live->addrs, &live->n_addrs)) < 0 ||
	    (r = rtnl_routes(rt, &live->routes, &live->n_routes)) < 0) {
		fprintf(err, "gatewayctl: reading links, addresses and routes: %s\n", nl_strerror(rt));
		live_free(live);
		return r;
	}
	/* IPv6's, for a site with IPv6 only (a site that drops it drops its sit
	 * tunnels, and their routes with them) */
	if (model_site_v6(s) && ((r = rtnl_routes6(rt, &live->routes6, &live->n_routes6)) < 0 ||
				 (r = rtnl_addrs6(rt, 0, &live->addrs6, &live->n_addrs6)) < 0)) {
		fprintf(err, "gatewayctl: reading IPv6 routes and addresses: %s\n", nl_strerror(rt));
		live_free(live);
		return r;
	}
	live_index(live);
	if (sysctl_read_u32("/proc/sys/net/ipv4/ip_forward", &live->ip_forward) < 0)
		live->ip_forward = 0;
	if (rtnl_ipv6_forwarding("all", &live->ip6_forward) < 0)
		live->ip6_forward = 0;
	if (!model_site_v6(s) || rtnl_ipv6_accept_ra(s->wan, &live->wan_accept_ra) < 0)
		live->wan_accept_ra = 0;
	if (sysctl_read_u32("/proc/sys/net/ipv4/conf/all/rp_filter", &live->rp_filter_all) < 0)
		live->rp_filter_all = 0;
	if (sysctl_read_u32("/proc/sys/net/ipv4/conf/default/rp_filter", &live->rp_filter_default) < 0)
		live->rp_filter_default = 0;
	live->relay_pid = (int)relay_running(s->name, NULL, &live->relay_hash);
	if (ipsec_live_read(s, &live->ipsec) < 0) {
		fprintf(err, "gatewayctl: reading charon's state: out of memory\n");
		live_free(live);
		return -ENOMEM;
	}
	block_live_read(s, &live->block);
	if (live->block.failed) {
		/* stale block policies would go unseen (and block a plain tunnel) */
		fprintf(err, "gatewayctl: %s: try again\n", live->block.error);
		live_free(live);
		return -EIO;
	}
	/* the link dump carries each link's rp_filter: no request per tunnel */
	live->peer_rp_filter = live_xcalloc(s->n_peers, sizeof(*live->peer_rp_filter));
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct link_info *l = live_link(live, s->peers[i].tunnel);

		live->peer_rp_filter[i] = l ? l->rp_filter : 0;
	}
	if (nf) {
		r = nft_table_read(nf, s->name, &live->nft);
		if (r < 0) {
			fprintf(err, "gatewayctl: reading nftables: %s\n", nl_strerror(nf));
			live_free(live);
			return r;
		}
		live->nft_present = live->nft.present;
		r = live->nft.present ? nft_table_matches(nf, &plan->nft) : 0;
		if (r < 0) {
			fprintf(err, "gatewayctl: reading nftables: %s\n", nl_strerror(nf));
			live_free(live);
			return r;
		}
		live->nft_match = r;
	}
	return 0;
}

bool live_route_present(const struct live *live, const struct link_info *l, struct net4 n, uint32_t src)
{
	size_t count;
	const struct route_info *r = live_routes(live, n.addr, n.len, &count);

	for (size_t i = 0; l && i < count; i++)
		if (r[i].oif == l->ifindex && r[i].protocol == RTPROT_GATEWAYCTL && r[i].prefsrc == src)
			return true;
	return false;
}

bool live_bogus_route(const struct live *live, const struct peer *p)
{
	size_t count;
	const struct route_info *r;

	if (p->endpoint_v6)
		return live_bogus_route6(live, p->endpoint6);
	r = live_routes(live, p->endpoint, 32, &count);

	for (size_t i = 0; i < count; i++)
		if (live_tunnel_at(live, r[i].oif))
			return true;
	return false;
}
