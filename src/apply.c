/* apply.c - carry out a plan's steps, all or nothing: on any failure every
 * step already done is undone, newest first. */
#include "apply.h"
#include "audit.h"
#include "block.h"
#include "ipsec.h"
#include "relay.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#define FORWARD_PATH "/proc/sys/net/ipv4/ip_forward"

/* P's tunnel, created (ADD) or changed in place: ipip, or sit/ip6tnl. */
static void tunnel_request(struct rtnl_batch *b, const struct apply *a, const struct step *st, bool add)
{
	char alias[128];
	struct tun_spec spec;

	model_alias(a->site, st->peer, alias, sizeof(alias));
	model_tun_spec(a->site, st->peer, st->ifname, st->value, alias, &spec);
	if (model_tunnel_kind(st->peer) == TUN_IPIP) {
		struct ipip_spec ip = { .name = spec.name, .alias = spec.alias, .local = spec.local,
					.remote = spec.remote, .ttl = spec.ttl, .pmtudisc = true,
					.mtu = spec.mtu, .group = spec.group };

		if (add)
			rtnl_add_ipip(b, &ip);
		else
			rtnl_change_ipip(b, st->ifindex, &ip, true);
	} else if (add) {
		rtnl_add_tun(b, &spec);
	} else {
		rtnl_change_tun(b, st->ifindex, &spec, true);
	}
}

/* The link OLD as it was: re-created (ADD) or changed back (up as it was). */
static void old_tunnel_request(struct rtnl_batch *b, const struct link_info *old, bool add)
{
	if (!strcmp(old->kind, "sit") || !strcmp(old->kind, "ip6tnl")) {
		struct tun_spec t = { .name = old->name, .alias = old->alias, .v6 = !strcmp(old->kind, "ip6tnl"),
				      .local = old->local, .remote = old->remote, .local6 = old->local6,
				      .remote6 = old->remote6, .ttl = old->ttl, .pmtudisc = old->pmtudisc,
				      .mtu = old->mtu, .group = old->group };

		if (add)
			rtnl_add_tun(b, &t);
		else
			rtnl_change_tun(b, old->ifindex, &t, old->flags & IFF_UP);
		return;
	}
	struct ipip_spec spec = { .name = old->name, .alias = old->alias, .local = old->local,
				  .remote = old->remote, .ttl = old->ttl, .pmtudisc = old->pmtudisc,
				  .mtu = old->mtu, .group = old->group };

	if (add)
		rtnl_add_ipip(b, &spec);
	else
		rtnl_change_ipip(b, old->ifindex, &spec, old->flags & IFF_UP);
}

/* Forwarding (IPv4's, or IPv6's for every link) to VALUE; *OLD (may be NULL) what it was. */
static int forwarding_set(bool v6, uint32_t value, uint32_t *old)
{
	int r = 0;

	if (old)
		r = v6 ? rtnl_ipv6_forwarding("all", old) : sysctl_read_u32(FORWARD_PATH, old);
	if (r == 0)
		r = v6 ? rtnl_set_ipv6_forwarding("all", value) : sysctl_write_u32(FORWARD_PATH, value);
	return r;
}

static int ifindex_of(struct apply *a, const char *name)
{
	struct link_info l;

	return rtnl_link_by_name(a->rt, name, &l) == 0 ? l.ifindex : 0;
}

/* ---- undo ----------------------------------------------------------------- */

static int undo_one(struct apply *a, struct step *st)
{
	struct rtnl_batch *b = rtnl_batch_new();
	int r = 0;

	if (!b)
		return -ENOMEM;
	switch (st->kind) {
	case STEP_ADDR_ADD:
		if (st->v6)
			rtnl_del_addr6(b, st->ifindex, &st->addr6, st->plen);
		else
			rtnl_del_addr(b, st->ifindex, st->addr, st->plen);
		break;
	case STEP_LINK_UP:
		rtnl_set_link(b, st->ifindex, false, 0);
		break;
	case STEP_FORWARDING:
	case STEP_ACCEPT_RA:
		r = st->kind == STEP_ACCEPT_RA ? rtnl_set_ipv6_accept_ra(st->ifname, st->old_value)
					       : forwarding_set(st->v6, st->old_value, NULL);
		break;
	case STEP_TUNNEL_ADD:
		if (!st->ifindex)
			st->ifindex = ifindex_of(a, st->ifname);
		if (st->ifindex)
			rtnl_del_link(b, st->ifindex);
		break;
	case STEP_TUNNEL_CHANGE:
		old_tunnel_request(b, &st->old, false);
		break;
	case STEP_TUNNEL_DEL:
		old_tunnel_request(b, &st->old, true);
		r = rtnl_flush(a->rt, b, NULL);
		rtnl_batch_reset(b);
		if (r == 0) {
			int ifindex = ifindex_of(a, st->old.name);

			if (st->old.flags & IFF_UP)
				rtnl_set_link(b, ifindex, true, 0);
			/* the routes that went with it */
			for (size_t i = 0; i < a->live->n_routes; i++) {
				struct route_info ri = a->live->routes[i];

				if (ri.oif != st->old.ifindex)
					continue;
				ri.oif = ifindex;
				rtnl_add_route(b, &ri);
			}
			for (size_t i = 0; i < a->live->n_routes6; i++) {
				struct route6_info ri = a->live->routes6[i];

				if (ri.oif != st->old.ifindex || ri.protocol != RTPROT_GATEWAYCTL)
					continue;
				ri.oif = ifindex;
				rtnl_add_route6(b, &ri);
			}
		}
		break;
	case STEP_RP_FILTER:
		if (st->ifindex)
			rtnl_set_inet_conf(b, st->ifindex, IPV4_DEVCONF_RP_FILTER, st->old_value);
		break;
	case STEP_ROUTE_DEL:
		if (st->v6)
			rtnl_add_route6(b, &st->route6);
		else
			rtnl_add_route(b, &st->route);
		break;
	case STEP_ROUTE_ADD:
		if (st->v6)
			rtnl_del_route6(b, &st->route6);
		else
			rtnl_del_route(b, &st->route);
		break;
	case STEP_RELAY_START:
		r = relay_stop(a->site->name);
		break;
	case STEP_IPSEC_LOAD:
	case STEP_IPSEC_UNLOAD:
		r = apply_ipsec_undo(a, st);
		break;
	case STEP_BLOCK_ADD:
	case STEP_BLOCK_DEL:
		r = block_undo(a, st);
		break;
	case STEP_NFT_REPLACE:
	case STEP_NFT_DELETE:
	case STEP_RELAY_STOP:
	/* down's steps: never undone (down is best effort, apply_down.c) */
	case STEP_ADDR_DEL:
	case STEP_LINK_DOWN:
	case STEP_IPSEC_KEY_UNLOAD:
	case STEP_IPSEC_FORGET:
		break;
	}
	if (r == 0 && rtnl_batch_count(b))
		r = rtnl_flush(a->rt, b, NULL);
	rtnl_batch_free(b);
	return r;
}

static int rollback(struct apply *a)
{
	int failures = 0;

	for (size_t i = a->plan->n; i-- > 0;) {
		struct step *st = &a->plan->steps[i];
		size_t len = strcspn(st->text, "\n");
		int r;

		if (!st->done)
			continue;
		r = undo_one(a, st);
		/* a step whose ack was lost may not have been applied: nothing to undo */
		if (r == -ENOENT || r == -ESRCH || r == -ENODEV || r == -EADDRNOTAVAIL)
			r = 0;
		if (r < 0) {
			failures++;
			fprintf(a->err, "  could not undo: %.*s: %s\n", (int)len, st->text,
				st->kind == STEP_IPSEC_LOAD || st->kind == STEP_IPSEC_UNLOAD ? "charon, above" :
				nl_strerror(a->rt));
		} else {
			st->done = false;
			if (a->verbose)
				fprintf(a->err, "  undone: %.*s\n", (int)len, st->text);
		}
	}
	return failures;
}

/* ---- doing ------------------------------------------------------------- */

/* Queue STEP's requests for the batch; MAP[batch index] = step index. */
struct queued {
	struct rtnl_batch *b;
	size_t *map;
	size_t cap;
};

static void note(struct queued *q, size_t step, size_t before)
{
	size_t n = rtnl_batch_count(q->b);

	if (n > q->cap) {
		q->cap = n * 2;
		q->map = realloc(q->map, q->cap * sizeof(*q->map));
		if (!q->map) {
			fprintf(stderr, "gatewayctl: out of memory\n");
			exit(1);
		}
	}
	for (size_t i = before; i < n; i++)
		q->map[i] = step;
}

/* Send Q; mark the steps whose requests all went through. */
static int flush(struct apply *a, struct queued *q)
{
	size_t failed = 0, n = rtnl_batch_count(q->b);
	int r;

	if (n == 0)
		return 0;
	r = rtnl_flush(a->rt, q->b, &failed);
	for (size_t i = 0; i < n; i++) {
		struct step *st = &a->plan->steps[q->map[i]];

		/* a step is done (and to be undone) once any of its requests applied */
		if (rtnl_applied(q->b, i))
			st->done = true;
	}
	if (r < 0)
		apply_report_failure(a, &a->plan->steps[q->map[failed]], r, a->rt, NULL);
	rtnl_batch_reset(q->b);
	return r;
}

/* 1. addresses, links, tunnels, deletions: queued, sent as one batch */
static int apply_links(struct apply *a, struct queued *q)
{
	struct plan *plan = a->plan;
	int r = 0;

	for (size_t i = 0; i < plan->n && r == 0; i++) {
		struct step *st = &plan->steps[i];
		size_t before = rtnl_batch_count(q->b);

		switch (st->kind) {
		case STEP_ADDR_ADD:
			if (!st->ifindex)
				st->ifindex = ifindex_of(a, st->ifname);
			if (st->v6)
				rtnl_add_addr6(q->b, st->ifindex, &st->addr6, st->plen, true);
			else
				rtnl_add_addr(q->b, st->ifindex, st->addr, st->plen, st->brd);
			break;
		case STEP_LINK_UP:
			if (!st->ifindex)
				st->ifindex = ifindex_of(a, st->ifname);
			rtnl_set_link(q->b, st->ifindex, true, 0);
			break;
		case STEP_FORWARDING:
			if ((r = forwarding_set(st->v6, st->value, &st->old_value)) == 0)
				st->done = true;
			else
				apply_report_failure(a, st, r, NULL, st->v6 ? "cannot write "
					"/proc/sys/net/ipv6/conf/all/forwarding" : "cannot write " FORWARD_PATH);
			break;
		case STEP_ACCEPT_RA:
			if ((r = rtnl_ipv6_accept_ra(st->ifname, &st->old_value)) == 0 &&
			    (r = rtnl_set_ipv6_accept_ra(st->ifname, st->value)) == 0)
				st->done = true;
			else
				apply_report_failure(a, st, r, NULL, "cannot read or write "
						     "/proc/sys/net/ipv6/conf/WAN/accept_ra");
			break;
		case STEP_TUNNEL_DEL:
			rtnl_del_link(q->b, st->ifindex);
			break;
		case STEP_TUNNEL_ADD:
		case STEP_TUNNEL_CHANGE:
			tunnel_request(q->b, a, st, st->kind == STEP_TUNNEL_ADD);
			break;
		case STEP_ROUTE_DEL:
			if (st->v6)
				rtnl_del_route6(q->b, &st->route6);
			else
				rtnl_del_route(q->b, &st->route);
			break;
		case STEP_ROUTE_ADD:
			if (st->peer)
				break; /* through a tunnel: once it is up, below */
			if (st->v6) {
				st->route6.oif = ifindex_of(a, st->ifname);
				rtnl_add_route6(q->b, &st->route6);
				break;
			}
			st->route.oif = ifindex_of(a, st->ifname);
			rtnl_add_route(q->b, &st->route);
			break;
		default:
			break;
		}
		note(q, i, before);
	}
	return r ? r : flush(a, q);
}

/* 2. new tunnels up; rp_filter; routes into tunnels. The new tunnels'
 * ifindexes come from one link dump, not a request per step. */
static int apply_tunnels_up(struct apply *a, struct queued *q)
{
	struct live now = { 0 };	/* links after step 1 */
	struct plan *plan = a->plan;
	int r;

	if ((r = rtnl_links(a->rt, &now.links, &now.n_links)) < 0) {
		fprintf(a->err, "%s: site %s: failed: reading the links after creating the tunnels: %s\n",
			a->cmd, a->site->name, nl_strerror(a->rt));
		return r;
	}
	live_index(&now);
	for (size_t i = 0; i < plan->n; i++) {
		struct step *st = &plan->steps[i];
		size_t before = rtnl_batch_count(q->b);
		const struct link_info *l = live_link(&now, st->ifname);

		switch (st->kind) {
		case STEP_TUNNEL_ADD:
			st->ifindex = l ? l->ifindex : 0;
			rtnl_set_link(q->b, st->ifindex, true, 0);
			break;
		case STEP_RP_FILTER:
			if (!st->ifindex)
				st->ifindex = l ? l->ifindex : 0;
			rtnl_set_inet_conf(q->b, st->ifindex, IPV4_DEVCONF_RP_FILTER, st->value);
			break;
		case STEP_ROUTE_ADD:
			if (!st->peer)
				break;
			if (st->v6) {
				st->route6.oif = l ? l->ifindex : 0;
				rtnl_add_route6(q->b, &st->route6);
				break;
			}
			st->route.oif = l ? l->ifindex : 0;
			rtnl_add_route(q->b, &st->route);
			break;
		default:
			break;
		}
		note(q, i, before);
	}
	live_free(&now);
	return flush(a, q);
}

/* 3. the relay: stopped, (re)started */
static int apply_relay(struct apply *a)
{
	struct plan *plan = a->plan;
	int r = 0;

	for (size_t i = 0; i < plan->n && r == 0; i++) {
		struct step *st = &plan->steps[i];
		char msg[512] = "";

		if (st->kind == STEP_RELAY_STOP || (st->kind == STEP_RELAY_START && st->value)) {
			r = relay_stop(a->site->name);
			if (r < 0)
				apply_report_failure(a, st, r, NULL, "cannot stop the running relay");
		}
		if (r == 0 && st->kind == STEP_RELAY_START) {
			r = relay_start(a->site, msg, sizeof(msg));
			if (r < 0)
				apply_report_failure(a, st, r, NULL, msg);
			else
				st->done = true;
		}
	}
	return r;
}

/* 4. nftables last: one transaction that needs no undo */
static int apply_nft(struct apply *a)
{
	struct plan *plan = a->plan;
	int r = 0;

	for (size_t i = 0; i < plan->n && r == 0; i++) {
		struct step *st = &plan->steps[i];
		char msg[512] = "";

		if (st->kind != STEP_NFT_REPLACE)
			continue;
		r = nft_table_replace(a->nf, &plan->nft, msg, sizeof(msg));
		if (r < 0) {
			apply_report_failure(a, st, r, a->nf, msg);
			/* When the answer was lost the transaction may have been committed
			 * all the same: a table that was absent before goes again. */
			if (!a->live->nft_present && nft_table_matches(a->nf, &plan->nft) == 1 &&
			    nft_table_delete(a->nf, a->site->name, msg, sizeof(msg)) < 0)
				fprintf(a->err, "  could not undo: the table " NFT_TABLE_PREFIX "%s: %s\n",
					a->site->name, msg);
		} else {
			st->done = true;
		}
	}
	return r;
}

/* After a failure: undo what was done, say how that went. */
static void undo_all(struct apply *a)
{
	int left = rollback(a) + apply_ipsec_release(a);

	if (left)
		fprintf(a->err, "%s: site %s: failed rollback: %d change(s) could not be undone (above); "
			"`gatewayctl down %s` removes everything gatewayctl made\n",
			a->cmd, a->site->name, left, a->site->name);
	else
		fprintf(a->err, "%s: site %s: rolled back; the kernel is as it was before\n",
			a->cmd, a->site->name);
}

int apply_plan(struct apply *a)
{
	struct queued q = { .b = rtnl_batch_new() };
	int r;

	if (!q.b)
		return -ENOMEM;
	/* 0. IPsec first: the kernel's policies for protocol 4 exist before a tunnel
	 * can carry anything, so nothing ever leaves in clear (fail closed); our
	 * own block policies before them, for when charon is gone (block.h) */
	r = block_apply(a);
	if (r == 0)
		r = apply_ipsec(a);
	if (r == 0)
		r = apply_links(a, &q);
	if (r == 0)
		r = apply_tunnels_up(a, &q);
	if (r == 0)
		r = apply_relay(a);
	if (r == 0)
		r = apply_nft(a);
	rtnl_batch_free(q.b);
	free(q.map);
	if (r == 0)
		apply_ipsec_commit(a);
	else
		undo_all(a);
	audit_plan(a->cmd, a->site->name, a->plan, r);
	return r;
}
