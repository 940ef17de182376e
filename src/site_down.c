/* site_down.c - the engine's down: remove what gatewayctl created for a site,
 * and nothing else (gatewayctl down, the rollback of a pending change) */
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "block.h"
#include "config.h"
#include "gatewayctl.h"
#include "ipsec.h"
#include "model.h"
#include "pending.h"
#include "relay.h"
#include "rtnl_group.h"
#include "site.h"
#include "state.h"

struct down {
	struct nl rt, nf;
	const char *site;	/* the one being removed (audit log) */
	int changes, failures;
	FILE *out, *err;
};

static void done(struct down *d, int r, struct nl *nl, const char *what)
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

static int one_request(struct down *d, struct rtnl_batch *b)
{
	int r = rtnl_flush(&d->rt, b, NULL);

	rtnl_batch_reset(b);
	return r;
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
 * Whether link group 203 holds exactly the N links to delete (WHICH) and no
 * other site has a state file here: then the group itself can be deleted. An
 * up writes its state file before it creates a tunnel, so another site coming
 * up meanwhile shows in this last look at the state files.
 */
static bool group_all_ours(const char *site, const struct link_info *links, size_t n_links,
			   const size_t *which, size_t n)
{
	char (*others)[SITE_NAME_MAX + 1] = NULL;
	size_t in_group = 0, n_others = 0;
	bool alone = true;

	for (size_t k = 0; k < n; k++)
		if (links[which[k]].group != RTNL_LINK_GROUP)
			return false;
	for (size_t i = 0; i < n_links; i++)
		in_group += links[i].group == RTNL_LINK_GROUP;
	if (in_group != n || state_sites(&others, &n_others) < 0)
		return false;
	for (size_t i = 0; i < n_others; i++)
		alone &= !strcmp(others[i], site);
	free(others);
	return alone;
}

/* The site's lock is held. */
static int down_locked(struct down *d, const char *site, const struct site *conf_given)
{
	struct site conf_loaded;
	const struct site *conf = conf_given;
	struct link_info *links = NULL;
	struct route_info *routes = NULL;
	struct addr_info *addrs = NULL;
	size_t n_links = 0, n_routes = 0, n_addrs = 0;
	struct rtnl_batch *b = rtnl_batch_new();
	struct state st;
	char alias[128], text[400], buf[20], buf2[20], err[512] = "";
	struct nft_state ns;
	int r, before = d->changes + d->failures, failures_before = d->failures, tunnel_failures;

	if (!b)
		return -ENOMEM;
	d->site = site;
	if (state_read(site, &st) < 0)
		state_init(&st, site);
	snprintf(alias, sizeof(alias), RTNL_ALIAS_PREFIX "%s/", site);
	/* the site file tells the names of tunnels an interrupted up left without alias */
	if (!conf && st.file[0]) {
		FILE *devnull = fopen("/dev/null", "we");

		if (devnull && config_load(st.file, &conf_loaded, devnull) == 0 &&
		    !strcmp(conf_loaded.name, site))
			conf = &conf_loaded;
		else if (devnull && conf_loaded.peers)
			config_free(&conf_loaded);
		if (devnull)
			fclose(devnull);
	}

	/* the relay first: it sends through the tunnels */
	{
		pid_t pid = relay_running(site, NULL, NULL);

		if (pid) {
			snprintf(text, sizeof(text), "kill %d   # the relay of site %s", (int)pid, site);
			r = relay_stop(site);
			done(d, r, NULL, text);
		}
	}

	/* nftables: SNAT and the input filter go in one transaction */
	if (nft_table_read(&d->nf, site, &ns) == 0 && ns.present) {
		r = nft_table_delete(&d->nf, site, err, sizeof(err));
		snprintf(text, sizeof(text), "nft delete table ip " NFT_TABLE_PREFIX "%s", site);
		done(d, r, r < 0 && !err[0] ? &d->nf : NULL, text);
		if (r < 0 && err[0])
			fprintf(d->err, "  %s\n", err);
	}

	if ((r = rtnl_links(&d->rt, &links, &n_links)) < 0 ||
	    (r = rtnl_routes(&d->rt, &routes, &n_routes)) < 0 ||
	    (r = rtnl_addrs(&d->rt, 0, &addrs, &n_addrs)) < 0) {
		fprintf(d->err, "%s down: reading links, routes and addresses: %s\n", prog, nl_strerror(&d->rt));
		d->failures++;
		goto out;
	}
	/* tunnels (their routes go with them), all in one batch */
	tunnel_failures = d->failures;
	{
		size_t *which = calloc(n_links ? n_links : 1, sizeof(*which)), n = 0, failed = SIZE_MAX;
		int *ifindex = calloc(n_links ? n_links : 1, sizeof(*ifindex));

		for (size_t i = 0; which && ifindex && i < n_links; i++) {
			if (strncmp(links[i].alias, alias, strlen(alias)) &&
			    !(conf && model_owns_link(conf, &links[i], NULL)))
				continue;
			ifindex[n] = links[i].ifindex;
			which[n++] = i;
		}
		/* many: as one link group, which the kernel deletes in one go: group
		 * 203 itself when it holds nothing else, else a spare one */
		if (n > 1 && (group_all_ours(site, links, n_links, which, n) ?
			      rtnl_del_group(&d->rt, RTNL_LINK_GROUP) :
			      rtnl_del_links_by_group(&d->rt, ifindex, n, spare_group(links, n_links))) == 0) {
			for (size_t k = 0; k < n; k++) {
				snprintf(text, sizeof(text), "ip link delete %s", links[which[k]].name);
				done(d, 0, NULL, text);
			}
			n = 0;
		}
		for (size_t k = 0; k < n; k++)
			rtnl_del_link(b, links[which[k]].ifindex);
		free(ifindex);
		if (n && rtnl_flush(&d->rt, b, &failed) < 0 && failed < n) {
			/* later chunks were not sent: report the failure, the rest below */
			snprintf(text, sizeof(text), "ip link delete %s", links[which[failed]].name);
			done(d, d->rt.err ? d->rt.err : -EIO, &d->rt, text);
		}
		for (size_t k = 0; k < n; k++) {
			if (k == failed)
				continue;
			snprintf(text, sizeof(text), "ip link delete %s", links[which[k]].name);
			done(d, rtnl_applied(b, k) ? 0 : -ECANCELED, NULL, text); /* not sent after the failure */
		}
		rtnl_batch_reset(b);
		free(which);
	}
	/* IPsec after the tunnels: their packets stay protected to the end. A
	 * tunnel left in place keeps it: without its policies and keys the tunnel
	 * would carry IPIP in clear */
	if (d->failures != tunnel_failures) {
		fprintf(d->err, "%s down: site %s: IPsec stays (IKE connections and keys in charon) because a "
			"tunnel could not be removed: it would carry IPIP in clear; fix the cause above and run "
			"`%s down %s` again\n", prog, site, prog, site);
	} else {
		int changes = 0;
		FILE *out = audit_stream("down", site, d->out);

		if (ipsec_down(site, conf, out ? out : d->out, d->err, &changes) < 0)
			d->failures++;
		if (out)
			fclose(out);
		d->changes += changes;
	}
	/* the xfrm block policies last, and only when no tunnel is left behind */
	if (d->failures == failures_before) {
		int changes = 0;
		FILE *out = audit_stream("down", site, d->out);

		if (block_down(site, out ? out : d->out, d->err, &changes) < 0)
			d->failures++;
		if (out)
			fclose(out);
		d->changes += changes;
	} else {
		fprintf(d->err, "%s down: site %s: its xfrm block policies stay while something of it "
			"is left (above): its IPIP cannot cross in clear\n", prog, site);
	}
	/* the default route it added */
	for (size_t i = 0; st.default_route.gateway && i < n_routes; i++) {
		struct route_info *ri = &routes[i];

		if (ri->dst_len != 0 || ri->protocol != RTPROT_GATEWAYCTL || ri->gateway != st.default_route.gateway)
			continue;
		rtnl_del_route(b, ri);
		snprintf(text, sizeof(text), "ip route del default via %s proto %d",
			 ip4_str(ri->gateway, buf), RTPROT_GATEWAYCTL);
		done(d, one_request(d, b), &d->rt, text);
	}
	/* addresses it assigned, links it brought up */
	for (int k = 0; k < st.n_addrs; k++) {
		for (size_t i = 0; i < n_addrs; i++) {
			const struct link_info *l = NULL;

			for (size_t j = 0; j < n_links; j++)
				if (links[j].ifindex == addrs[i].ifindex)
					l = &links[j];
			if (!l || strcmp(l->name, st.addrs[k].ifname) || addrs[i].local != st.addrs[k].addr.addr ||
			    addrs[i].prefixlen != st.addrs[k].addr.len)
				continue;
			rtnl_del_addr(b, addrs[i].ifindex, addrs[i].local, addrs[i].prefixlen);
			snprintf(text, sizeof(text), "ip address del %s dev %s", net4_str(st.addrs[k].addr, buf2),
				 l->name);
			done(d, one_request(d, b), &d->rt, text);
		}
	}
	for (int k = 0; k < st.n_links_up; k++) {
		for (size_t j = 0; j < n_links; j++) {
			if (strcmp(links[j].name, st.links_up[k]) || !(links[j].flags & IFF_UP))
				continue;
			rtnl_set_link(b, links[j].ifindex, false, 0);
			snprintf(text, sizeof(text), "ip link set %s down", links[j].name);
			done(d, one_request(d, b), &d->rt, text);
		}
	}
	if (st.forwarding_was >= 0) {
		char (*others)[SITE_NAME_MAX + 1] = NULL;
		size_t n_others = 0;
		bool shared = false;
		uint32_t now;

		/* another site on this machine may still need forwarding */
		if (state_sites(&others, &n_others) == 0)
			for (size_t i = 0; i < n_others; i++)
				if (strcmp(others[i], site))
					shared = true;
		free(others);
		if (!shared && sysctl_read_u32("/proc/sys/net/ipv4/ip_forward", &now) == 0 &&
		    now != (uint32_t)st.forwarding_was) {
			r = sysctl_write_u32("/proc/sys/net/ipv4/ip_forward", (uint32_t)st.forwarding_was);
			snprintf(text, sizeof(text), "sysctl -w net.ipv4.ip_forward=%d", st.forwarding_was);
			done(d, r, NULL, text);
		}
	}
	if (d->failures == failures_before) {
		state_init(&st, site);
		if ((r = state_write(&st)) < 0) {
			fprintf(d->err, "%s down: cannot remove the state file of %s: %s\n", prog, site, strerror(-r));
			d->failures++;
		}
		/* down: no configuration of this site is in force any more */
		if ((r = confirmed_forget(site)) < 0) {
			fprintf(d->err, "%s down: cannot remove the confirmed copy of %s in %s: %s\n", prog, site,
				lib_dir(), lib_strerror(r));
			d->failures++;
		}
	}
out:
	if (d->changes + d->failures == before)
		fprintf(d->out, "site %s: nothing to remove\n", site);
	free(links);
	free(routes);
	free(addrs);
	rtnl_batch_free(b);
	if (conf && conf != conf_given)
		config_free(&conf_loaded);
	return 0;
}

int site_down(const char *site, const struct site *conf, FILE *out, FILE *err)
{
	struct down d = { .out = out, .err = err };
	int r;

	if ((r = nl_open(&d.rt, NETLINK_ROUTE)) < 0) {
		fprintf(err, "%s down: cannot open netlink: %s\n", prog, strerror(-r));
		return -1;
	}
	if ((r = nl_open(&d.nf, NETLINK_NETFILTER)) < 0) {
		fprintf(err, "%s down: cannot open netlink: %s\n", prog, strerror(-r));
		nl_close(&d.rt);
		return -1;
	}
	down_locked(&d, site, conf);
	nl_close(&d.nf);
	nl_close(&d.rt);
	return d.failures ? -1 : 0;
}

static int list_sites(struct down *d, char (**names)[SITE_NAME_MAX + 1], size_t *n)
{
	char (*nft_sites)[33] = NULL, (*st_sites)[SITE_NAME_MAX + 1] = NULL;
	size_t n_nft = 0, n_st = 0, n_links = 0, cap;
	struct link_info *links = NULL;
	int r;

	if ((r = nft_list_sites(&d->nf, &nft_sites, &n_nft)) < 0 ||
	    (r = rtnl_links(&d->rt, &links, &n_links)) < 0 || (r = state_sites(&st_sites, &n_st)) < 0) {
		free(nft_sites);
		free(links);
		return r;
	}
	cap = n_nft + n_st + n_links + 1;
	*names = calloc(cap, sizeof(**names));
	*n = 0;
	if (!*names)
		return -ENOMEM;
#define ADD_NAME(s) do { \
		bool dup = false; \
		for (size_t k = 0; k < *n; k++) dup |= !strcmp((*names)[k], (s)); \
		if (!dup && site_name_valid(s)) snprintf((*names)[(*n)++], SITE_NAME_MAX + 1, "%s", (s)); \
	} while (0)
	for (size_t i = 0; i < n_nft; i++)
		ADD_NAME(nft_sites[i]);
	for (size_t i = 0; i < n_st; i++)
		ADD_NAME(st_sites[i]);
	for (size_t i = 0; i < n_links; i++) {
		size_t pre = strlen(RTNL_ALIAS_PREFIX);
		char name[SITE_NAME_MAX + 1];
		const char *slash;

		if (strncmp(links[i].alias, RTNL_ALIAS_PREFIX, pre) || !(slash = strchr(links[i].alias + pre, '/')) ||
		    (size_t)(slash - links[i].alias - pre) > SITE_NAME_MAX)
			continue;
		memcpy(name, links[i].alias + pre, (size_t)(slash - links[i].alias - pre));
		name[slash - links[i].alias - pre] = '\0';
		ADD_NAME(name);
	}
#undef ADD_NAME
	free(nft_sites);
	free(st_sites);
	free(links);
	return 0;
}

int site_list(char (**names)[SITE_NAME_MAX + 1], size_t *n)
{
	struct down d = { 0 };
	int r;

	*names = NULL;
	*n = 0;
	if ((r = nl_open(&d.rt, NETLINK_ROUTE)) < 0)
		return r;
	if ((r = nl_open(&d.nf, NETLINK_NETFILTER)) < 0) {
		nl_close(&d.rt);
		return r;
	}
	r = list_sites(&d, names, n);
	nl_close(&d.nf);
	nl_close(&d.rt);
	return r;
}
