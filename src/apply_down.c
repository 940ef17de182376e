/* apply_down.c - carry out down's plan (plan_down.c), best effort: every step
 * is tried, a failure does not stop the rest, each change is narrated (and
 * audited), each failure said. Two guards: IPsec stays when a tunnel could not
 * be deleted (the tunnel would carry IPIP in clear), and the xfrm block
 * policies stay while anything of the site is left. */
#include "apply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "block.h"
#include "gatewayctl.h"
#include "ipsec_down.h"
#include "relay.h"
#include "rtnl_group.h"
#include "state.h"

#define FORWARD_PATH "/proc/sys/net/ipv4/ip_forward"

/* Narrate step text WHAT: done (R >= 0) on OUT, or failed on ERR with NL's
 * message (or R's); both in the audit log. */
static void done(struct removal *d, int r, const struct nl *nl, const char *what)
{
	if (r < 0) {
		d->failures++;
		fprintf(d->err, "%s down: %s: failed: %s\n", prog, what, nl ? nl_strerror(nl) : strerror(-r));
		audit_failure("down", d->site, what);
	} else {
		d->changes++;
		fprintf(d->out, "%s\n", what);
		audit_change("down", d->site, what);
	}
}

/* A link group no link uses, for deleting a site's tunnels as one group. */
static uint32_t spare_group(const struct link_info *links, size_t n)
{
	uint32_t g = 0x67770000u | ((uint32_t)getpid() & 0xffff);

	for (size_t i = 0; i < n; i++)
		if (links[i].group == g) {
			g++;
			i = (size_t)-1;	/* look again from the start */
		}
	return g;
}

/*
 * Whether link group 203 holds exactly the N tunnels to delete (STEPS) and no
 * other site has a state file here: then the group itself can be deleted. An
 * up writes its state file before it creates a tunnel, so another site coming
 * up meanwhile shows in this last look at the state files.
 */
static bool group_all_ours(const struct removal *d, const struct step *steps, size_t n)
{
	char (*others)[SITE_NAME_MAX + 1] = NULL;
	size_t in_group = 0, n_others = 0;
	bool alone = true;

	for (size_t k = 0; k < n; k++)
		if (steps[k].old.group != RTNL_LINK_GROUP)
			return false;
	for (size_t i = 0; i < d->live->n_links; i++)
		in_group += d->live->links[i].group == RTNL_LINK_GROUP;
	if (in_group != n || state_sites(&others, &n_others) < 0)
		return false;
	for (size_t i = 0; i < n_others; i++)
		alone &= !strcmp(others[i], d->site);
	free(others);
	return alone;
}

/* The N tunnel deletions at STEPS: many as one link group, which the kernel
 * deletes in one go (group 203 itself when it holds nothing else, else a spare
 * one); otherwise (or when that fails) in one batch. The number of failures. */
static int delete_tunnels(struct removal *d, const struct step *steps, size_t n)
{
	struct rtnl_batch *b;
	size_t failed = SIZE_MAX;
	int before = d->failures, *ifindex;

	if (n > 1 && (ifindex = calloc(n, sizeof(*ifindex)))) {
		int r;

		for (size_t k = 0; k < n; k++)
			ifindex[k] = steps[k].ifindex;
		r = group_all_ours(d, steps, n) ? rtnl_del_group(d->rt, RTNL_LINK_GROUP) :
		    rtnl_del_links_by_group(d->rt, ifindex, n, spare_group(d->live->links, d->live->n_links));
		free(ifindex);
		if (r == 0) {
			for (size_t k = 0; k < n; k++)
				done(d, 0, NULL, steps[k].text);
			return 0;
		}
	}
	if (!(b = rtnl_batch_new())) {
		for (size_t k = 0; k < n; k++)
			done(d, -ENOMEM, NULL, steps[k].text);
		return d->failures - before;
	}
	for (size_t k = 0; k < n; k++)
		rtnl_del_link(b, steps[k].ifindex);
	if (rtnl_flush(d->rt, b, &failed) < 0 && failed < n)
		/* later chunks were not sent: report the failure, the rest below */
		done(d, d->rt->err ? d->rt->err : -EIO, d->rt, steps[failed].text);
	for (size_t k = 0; k < n; k++)
		if (k != failed)
			done(d, rtnl_applied(b, k) ? 0 : -ECANCELED, NULL, steps[k].text); /* not sent after the failure */
	rtnl_batch_free(b);
	return d->failures - before;
}

/* IPsec (all of the plan's IPsec steps, in one session with charon), then the
 * block policies: through a stream that audits each line printed. */
static void remove_ipsec(struct removal *d, bool kept)
{
	int changes = 0;
	FILE *out;

	if (kept) {
		fprintf(d->err, "%s down: site %s: IPsec stays (IKE connections and keys in charon) because a "
			"tunnel could not be removed: it would carry IPIP in clear; fix the cause above and run "
			"`%s down %s` again\n", prog, d->site, prog, d->site);
		return;
	}
	out = audit_stream("down", d->site, d->out);
	if (ipsec_remove(d->site, d->plan, out ? out : d->out, d->err, &changes) < 0)
		d->failures++;
	if (out)
		fclose(out);
	d->changes += changes;
}

static void remove_blocks(struct removal *d)
{
	int changes = 0;
	FILE *out;

	if (d->failures) {
		fprintf(d->err, "%s down: site %s: its xfrm block policies stay while something of it "
			"is left (above): its IPIP cannot cross in clear\n", prog, d->site);
		return;
	}
	out = audit_stream("down", d->site, d->out);
	if (block_remove(d->plan, out ? out : d->out, d->err, &changes) < 0)
		d->failures++;
	if (out)
		fclose(out);
	d->changes += changes;
}

/* One rtnetlink request: its own batch, sent and acked. */
static int one_request(struct removal *d, const struct step *st)
{
	struct rtnl_batch *b = rtnl_batch_new();
	int r;

	if (!b)
		return -ENOMEM;
	if (st->kind == STEP_ROUTE_DEL && st->v6)
		rtnl_del_route6(b, &st->route6);
	else if (st->kind == STEP_ROUTE_DEL)
		rtnl_del_route(b, &st->route);
	else if (st->kind == STEP_ADDR_DEL && st->v6)
		rtnl_del_addr6(b, st->ifindex, &st->addr6, st->plen);
	else if (st->kind == STEP_ADDR_DEL)
		rtnl_del_addr(b, st->ifindex, st->addr, st->plen);
	else
		rtnl_set_link(b, st->ifindex, false, 0);
	r = rtnl_flush(d->rt, b, NULL);
	rtnl_batch_free(b);
	return r;
}

/* A step on its own: the relay, the table, a route, an address, a link, forwarding. */
static void remove_one(struct removal *d, const struct step *st)
{
	char msg[512] = "";
	int r;

	switch (st->kind) {
	case STEP_RELAY_STOP:
		done(d, relay_stop(d->site), NULL, st->text);
		break;
	case STEP_NFT_DELETE:
		r = nft_table_delete(d->nf, d->site, msg, sizeof(msg));
		done(d, r, r < 0 && !msg[0] ? d->nf : NULL, st->text);
		if (r < 0 && msg[0])
			fprintf(d->err, "  %s\n", msg);
		break;
	case STEP_ROUTE_DEL:
	case STEP_ADDR_DEL:
	case STEP_LINK_DOWN:
		done(d, one_request(d, st), d->rt, st->text);
		break;
	case STEP_FORWARDING:
		done(d, st->v6 ? rtnl_set_ipv6_forwarding("all", st->value) : sysctl_write_u32(FORWARD_PATH, st->value),
		     NULL, st->text);
		break;
	case STEP_ACCEPT_RA:
		done(d, rtnl_set_ipv6_accept_ra(st->ifname, st->value), NULL, st->text);
		break;
	default:
		break;
	}
}

/* Where a step stands in down's order: the phases run in it. */
static int phase(const struct step *st)
{
	switch (st->kind) {
	case STEP_RELAY_STOP:
	case STEP_NFT_DELETE:
		return 0;
	case STEP_TUNNEL_DEL:
		return 1;
	case STEP_IPSEC_UNLOAD:
	case STEP_IPSEC_KEY_UNLOAD:
	case STEP_IPSEC_FORGET:
		return 2;
	case STEP_BLOCK_DEL:
		return 3;
	default:
		return 4;
	}
}

int apply_removal(struct removal *d)
{
	const struct plan *plan = d->plan;
	int tunnel_failures = 0, at = 0;

	/* the IPsec and block phases run even without steps of theirs: they say
	 * what stays and why */
	for (size_t i = 0; i <= plan->n; i++) {
		const struct step *st = i < plan->n ? &plan->steps[i] : NULL;
		int ph = st ? phase(st) : 5;
		size_t n = 0;

		if (at < 2 && ph >= 2)
			remove_ipsec(d, tunnel_failures > 0);
		if (at < 3 && ph >= 3)
			remove_blocks(d);
		at = ph;
		if (!st || ph == 2 || ph == 3)
			continue;
		if (ph == 1) {
			while (i + n < plan->n && plan->steps[i + n].kind == STEP_TUNNEL_DEL)
				n++;
			tunnel_failures += delete_tunnels(d, st, n);
			i += n - 1;
		} else {
			remove_one(d, st);
		}
	}
	return d->failures ? -1 : 0;
}
