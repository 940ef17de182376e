/* site_plan.c - the engine's plan: what up would change on this gateway, or on
 * one with nothing of the site (gatewayctl plan; the steps model.c builds). */
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "endpoints.h"
#include "gatewayctl.h"
#include "model.h"
#include "preflight.h"
#include "site.h"

/* What up would use: names resolved now, auto addresses as the WAN has them
 * (a second call resolves nothing again: the items keep their addresses). */
static int fill(struct site *site, FILE *err)
{
	if (endpoints_fill(site, NULL, EP_DNS_RESOLVE, err) < 0) {
		fprintf(err, "%s plan: site %s: nothing to plan\n", prog, site->name);
		return -EINVAL;
	}
	return 0;
}

int site_plan(struct site *site, struct plan *plan, FILE *err)
{
	struct live live;
	struct nl rt, nf;
	int r;

	if ((r = fill(site, err)) < 0)
		return r;
	if ((r = nl_open(&rt, NETLINK_ROUTE)) < 0) {
		fprintf(err, "%s plan: cannot open netlink: %s\n", prog, strerror(-r));
		return r;
	}
	if ((r = nl_open(&nf, NETLINK_NETFILTER)) < 0) {
		fprintf(err, "%s plan: cannot open netlink: %s\n", prog, strerror(-r));
		nl_close(&rt);
		return r;
	}
	r = live_read(&rt, &nf, site, plan, &live, err);
	if (r == 0) {
		r = preflight(site, &live, err);
		if (r == 0)
			plan_build(plan, site, &live);
		live_free(&live);
	}
	nl_close(&nf);
	nl_close(&rt);
	return r;
}

/* This machine's link named IFNAME, or NULL. */
static const struct link_info *link_named(const struct link_info *links, size_t n, const char *ifname)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(links[k].name, ifname))
			return &links[k];
	return NULL;
}

int site_plan_full(struct site *site, struct plan *plan, struct site_plan_full *f, FILE *err)
{
	struct link_info *links = NULL;
	const struct link_info *wan = NULL;
	size_t n_links = 0;
	struct nl rt;

	memset(f, 0, sizeof(*f));
	if (fill(site, err) < 0)
		return -EINVAL;
	if (nl_open(&rt, NETLINK_ROUTE) == 0) {
		f->read = rtnl_links(&rt, &links, &n_links) == 0;
		nl_close(&rt);
	}
	if (f->read) {
		f->lan_missing = !link_named(links, n_links, site->lan);
		wan = link_named(links, n_links, site->wan);
		f->wan_missing = !wan;
		f->wan_mtu = wan ? wan->mtu : 0;
	}
	for (size_t i = 0; i < site->n_peers; i++)
		if (!site->peers[i].mtu) {
			f->auto_mtu = true;
			if (wan) {
				struct live live = { .links = (struct link_info *)wan, .n_links = 1 };

				site->peers[i].mtu = (int)model_tunnel_mtu(site, &site->peers[i], &live);
			}
		}
	plan_build(plan, site, NULL);
	free(links);
	return 0;
}
