/* site.h - the engine: what gatewayctl does to one site, whoever asks (the
 * commands up, down, status, metrics, plan; the rollback watcher; next a
 * long-running daemon). Commands parse their arguments, call these, print and
 * choose their exit code; they never call each other. The engine calls model,
 * apply, state, ipsec and netlink/, never a command.
 *
 * The caller holds the site's lock (state_lock) around site_up and site_down. */
#ifndef GATEWAYCTL_SITE_H
#define GATEWAYCTL_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

struct live;
struct site_up_opts {
	const char *cmd;	/* for messages: "gatewayctl up" */
	FILE *out, *err;
	bool verbose;
	/* Called once the plan has steps, before anything changes (up --confirm
	 * records its pending change there); non-zero aborts with nothing changed. */
	int (*before_change)(void *ctx, const struct site *site, const struct live *live);
	void *ctx;
};

/* Make the kernel match SITE (parsed from a file or from memory; site->path is
 * recorded in the state file and given to the relay), all or nothing. The
 * number of changes applied (0: "no changes"), or -1 with the reason on
 * o->err (the kernel is then as before). */
int site_up(struct site *site, const struct site_up_opts *o);

/* What site_up would change now: SITE's run-time parts filled as up fills
 * them (endpoint names resolved now, wan_address/gateway = auto from the
 * WAN), the kernel read, up's checks, the steps into PLAN. 0; or the number
 * of problems up would refuse for (said on ERR, nothing planned); or -errno
 * when the kernel cannot be read (-EPERM: not without privileges), -EINVAL
 * when the run-time parts cannot be filled (said on ERR). */
struct plan;
int site_plan(struct site *site, struct plan *plan, FILE *err);

/* What site_up would create on a gateway with nothing of SITE, into PLAN
 * (SITE's run-time parts filled first, as for site_plan); the peers'
 * automatic MTUs from this machine's WAN interface when it has one. 0, or
 * -EINVAL when the run-time parts cannot be filled (said on ERR). */
struct site_plan_full {
	bool read;		/* this machine's links could be read */
	bool lan_missing, wan_missing;	/* ... and the LAN or WAN interface is not among them */
	unsigned wan_mtu;	/* the WAN interface's MTU (0: not here) */
	bool auto_mtu;		/* some peer's MTU comes from it */
};
int site_plan_full(struct site *site, struct plan *plan, struct site_plan_full *f, FILE *err);


/* Remove everything gatewayctl created for site NAME, best effort: down's
 * plan (plan_down), every step tried, each change narrated on OUT (and the
 * audit log), each failure on ERR; once nothing is left, its state file,
 * confirmed copy and IPsec record go too. CONF, when not NULL, is the site's parsed file (it names tunnels an
 * interrupted up left without alias); otherwise the file the state file
 * records is read when it can be. 0, or -1 when something failed. */
int site_down(const char *name, const struct site *conf, FILE *out, FILE *err);

/* What site_down would do, changing nothing: the steps of down's plan, one
 * line each, exactly as site_down narrates them (notes first), on OUT; "site
 * NAME: nothing to remove" when there are none. 0, or -1 when something could
 * not be read (said on ERR). */
int site_down_plan(const char *name, const struct site *conf, FILE *out, FILE *err);

/* The sites gatewayctl manages here, found by their nftables tables, tunnels
 * and state files (sorted as found, without duplicates): 0 with *NAMES (to
 * free) and *N, or -errno. */
int site_list(char (**names)[SITE_NAME_MAX + 1], size_t *n);

#endif
