/* site_up.c - the engine's up: make the kernel match a site, all or nothing
 * (gatewayctl up, the rollback of a pending change) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "config.h"
#include "endpoints.h"
#include "model.h"
#include "preflight.h"
#include "site.h"
#include "state.h"

/* An address step S in the state (once: state_add_addr) */
static void record_addr(struct state *st, const struct step *s)
{
	if (s->v6) {
		struct net6 a = { .len = s->plen };

		memcpy(a.addr, &s->addr6, 16);
		state_add_addr6(st, s->ifname, a);
	} else {
		state_add_addr(st, s->ifname, (struct net4){ s->addr, s->plen });
	}
}

/* Note in the state file, before applying, what only the state file can tell
 * `down` later: the old forwarding value, addresses and links we change. */
static void record_intents(const struct plan *plan, const struct live *live, struct state *st)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct step *s = &plan->steps[i];

		switch (s->kind) {
		case STEP_FORWARDING:
			if (s->v6 && st->forwarding6_was < 0)
				st->forwarding6_was = (int)live->ip6_forward;
			else if (!s->v6 && st->forwarding_was < 0)
				st->forwarding_was = (int)live->ip_forward;
			break;
		case STEP_ACCEPT_RA:
			if (st->accept_ra_was < 0) {
				st->accept_ra_was = (int)live->wan_accept_ra;
				strcpy(st->accept_ra_ifname, s->ifname);
			}
			break;
		case STEP_ADDR_ADD:
			record_addr(st, s);
			break;
		case STEP_LINK_UP:
			state_add_link(st, s->ifname);
			break;
		case STEP_ROUTE_ADD:
			if (!s->peer && s->v6) {
				memcpy(st->default_route6.gateway, &s->route6.gateway, 16);
				strcpy(st->default_route6.ifname, s->ifname);
			} else if (!s->peer) {
				st->default_route.gateway = s->route.gateway;
				strcpy(st->default_route.ifname, s->ifname);
			}
			break;
		default:
			break;
		}
	}
}

int site_up(struct site *site, const struct site_up_opts *o)
{
	struct plan plan = { 0 };
	struct live live;
	struct state st, before;
	struct nl rt, nf;
	int ret = -1, r;
	char *abs;

	if ((r = nl_open(&rt, NETLINK_ROUTE)) < 0) {
		fprintf(o->err, "%s: cannot open rtnetlink: %s\n", o->cmd, strerror(-r));
		plan_free(&plan);
		return -1;
	}
	if ((r = nl_open(&nf, NETLINK_NETFILTER)) < 0) {
		fprintf(o->err, "%s: cannot open nfnetlink: %s\n", o->cmd, strerror(-r));
		goto out_rt;
	}
	/* names resolved, auto addresses read: before anything is planned */
	if (endpoints_fill(site, &rt, EP_DNS_RESOLVE, o->err) < 0) {
		fprintf(o->err, "%s: site %s: nothing changed\n", o->cmd, site->name);
		goto out_nf;
	}
	if (live_read(&rt, &nf, site, &plan, &live, o->err) < 0)
		goto out_nf;
	if (preflight(site, &live, o->err)) {
		fprintf(o->err, "%s: site %s: nothing changed\n", o->cmd, site->name);
		goto out_live;
	}
	plan_build(&plan, site, &live);
	if (plan.n == 0) {
		fprintf(o->out, "site %s: no changes\n", site->name);
		ret = 0;
		goto out_live;
	}
	if (o->before_change && o->before_change(o->ctx, site, &live)) {
		fprintf(o->err, "%s: site %s: nothing changed\n", o->cmd, site->name);
		goto out_live;
	}
	if (state_read(site->name, &before) < 0)
		state_init(&before, site->name);
	st = before;
	endpoints_record(site, &st);
	abs = realpath(site->path, NULL);
	snprintf(st.file, sizeof(st.file), "%s", abs ? abs : site->path);
	free(abs);
	record_intents(&plan, &live, &st);
	if ((r = state_write(&st)) < 0) {
		fprintf(o->err, "%s: cannot write the state file in %s: %s; nothing changed\n", o->cmd,
			state_dir(), strerror(-r));
		goto out_live;
	}
	{
		struct apply a = {
			.cmd = o->cmd, .rt = &rt, .nf = &nf, .site = site, .live = &live,
			.plan = &plan, .err = o->err, .verbose = o->verbose,
		};

		if (apply_plan(&a) < 0) {
			state_write(&before);
			goto out_live;
		}
	}
	fprintf(o->out, "site %s: %zu change%s applied\n", site->name, plan.n, plan.n == 1 ? "" : "s");
	plan_print(&plan, o->out);
	ret = plan.n > (size_t)INT32_MAX ? INT32_MAX : (int)plan.n;
out_live:
	live_free(&live);
out_nf:
	nl_close(&nf);
out_rt:
	nl_close(&rt);
	plan_free(&plan);
	return ret;
}
