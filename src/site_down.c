/* site_down.c - the engine's down: remove what gatewayctl created for a site,
 * and nothing else (gatewayctl down, the rollback of a pending change). Down
 * is a plan (plan_down.c) carried out best effort (apply_down.c); --dry-run
 * prints the plan. */
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "audit.h"
#include "config.h"
#include "gatewayctl.h"
#include "ipsec_down.h"
#include "model.h"
#include "pending.h"
#include "site.h"
#include "state.h"

struct down {
	struct nl rt, nf;
};

static int open_sockets(struct down *d, FILE *err)
{
	int r;

	if ((r = nl_open(&d->rt, NETLINK_ROUTE)) < 0) {
		fprintf(err, "%s down: cannot open netlink: %s\n", prog, strerror(-r));
		return -1;
	}
	if ((r = nl_open(&d->nf, NETLINK_NETFILTER)) < 0) {
		fprintf(err, "%s down: cannot open netlink: %s\n", prog, strerror(-r));
		nl_close(&d->rt);
		return -1;
	}
	return 0;
}

static void close_sockets(struct down *d)
{
	nl_close(&d->nf);
	nl_close(&d->rt);
}

/* Once nothing of the site is left: its state file, confirmed copy and IPsec
 * record go too. The number of failures. */
static int forget_site(const char *site, FILE *err)
{
	struct state st;
	int r, failures = 0;

	state_init(&st, site);
	if ((r = state_write(&st)) < 0) {
		fprintf(err, "%s down: cannot remove the state file of %s: %s\n", prog, site, strerror(-r));
		failures++;
	}
	/* down: no configuration of this site is in force any more */
	if ((r = confirmed_forget(site)) < 0) {
		fprintf(err, "%s down: cannot remove the confirmed copy of %s in %s: %s\n", prog, site, lib_dir(),
			lib_strerror(r));
		failures++;
	}
	ipsec_forget(site);
	return failures;
}

int site_down(const char *site, const struct site *conf, FILE *out, FILE *err)
{
	struct down d;
	struct plan plan = { 0 };
	struct live live;
	struct removal rm = { .rt = &d.rt, .nf = &d.nf, .site = site, .live = &live, .plan = &plan,
			      .out = out, .err = err };
	FILE *notes;

	if (open_sockets(&d, err) < 0)
		return -1;
	notes = audit_stream("down", site, out);
	rm.failures = plan_down(&d.rt, &d.nf, site, conf, &plan, &live, notes ? notes : out, err);
	if (notes)
		fclose(notes);
	apply_removal(&rm);
	if (rm.failures == 0)
		rm.failures += forget_site(site, err);
	if (rm.changes + rm.failures == 0)
		fprintf(out, "site %s: nothing to remove\n", site);
	live_free(&live);
	plan_free(&plan);
	close_sockets(&d);
	return rm.failures ? -1 : 0;
}

int site_down_plan(const char *site, const struct site *conf, FILE *out, FILE *err)
{
	struct down d;
	struct plan plan = { 0 };
	struct live live;
	int failures;

	if (open_sockets(&d, err) < 0)
		return -1;
	failures = plan_down(&d.rt, &d.nf, site, conf, &plan, &live, out, err);
	for (size_t i = 0; i < plan.n; i++)
		fprintf(out, "%s\n", plan.steps[i].text);
	if (plan.n == 0 && failures == 0)
		fprintf(out, "site %s: nothing to remove\n", site);
	live_free(&live);
	plan_free(&plan);
	close_sockets(&d);
	return failures ? -1 : 0;
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
