/* plan.c - gatewayctl plan FILE: what `up` would change, as ip/nft commands */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "config.h"
#include "gatewayctl.h"
#include "model.h"
#include "site.h"
#include "sitearg.h"

static void plan_about(FILE *out)
{
	fputs("Print the kernel changes `up FILE` would make, one per line, each as the\n"
	      "equivalent ip, nft or sysctl command (comment lines say why).\n"
	      "With CAP_NET_ADMIN (root) only what differs from the live kernel is shown,\n"
	      "or \"no changes\"; without it, or with --full, everything `up` would create\n"
	      "on a gateway that has nothing of this site yet. Changes nothing.\n"
	      "A site's name instead of FILE: the file its last up used.\n"
	      "Where `up` would refuse (a missing interface, an address not assigned, a\n"
	      "foreign route...), plan says why, as up would, plans nothing and exits 1;\n"
	      "the full plan warns of a LAN or WAN interface missing on this machine.\n", out);
}

enum { OPT_FULL = 1 };
static const struct cmdopt plan_opts[] = {
	{ OPT_FULL, "--full", NULL, CMDOPT_FLAG, NULL, NULL,
	  "everything up would create on a gateway with nothing of\nthe site, whatever this one has" },
	{ 0 }
};
static const struct cmdspec plan_spec = {
	.name = "plan", .usage = "[--full] FILE|SITE", .about = plan_about, .opts = plan_opts,
};

/* Refused as `up` would refuse: say so, plan nothing. */
static int refused(const struct site *s, int problems)
{
	fprintf(stderr, "%s plan: site %s: `up` would refuse (%d problem%s above) and change nothing; "
		"nothing to plan\n", prog, s->name, problems, problems == 1 ? "" : "s");
	return EXIT_FAIL;
}

#define PLAN_FALL_BACK (-1)

/* The plan against the live kernel (privileged). An exit status, or
 * PLAN_FALL_BACK when it cannot be read (then the full plan is shown). */
static int plan_live(struct site *site, const char *file, struct plan *plan)
{
	int r = site_plan(site, plan, stderr);

	if (r > 0)
		return refused(site, r);
	if (r < 0)
		return r == -EPERM ? PLAN_FALL_BACK : EXIT_FAIL;
	if (plan->n == 0)
		printf("# no changes: the kernel matches %s\n", file);
	else
		plan_print(plan, stdout);
	return EXIT_OK;
}

/* Everything up would create on a gateway with nothing of the site. */
static int plan_full(struct site *site, struct plan *plan)
{
	struct site_plan_full f;

	if (site_plan_full(site, plan, &f, stderr) < 0)
		return EXIT_FAIL;
	if (f.lan_missing)
		fprintf(stderr, "%s:%d: warning: interface `%s` (lan) does not exist on this machine; "
			"`up` here would refuse (check the name with `ip link`)\n", site->path, site->line_lan, site->lan);
	if (f.wan_missing)
		fprintf(stderr, "%s:%d: warning: interface `%s` (wan) does not exist on this machine; "
			"`up` here would refuse (check the name with `ip link`)\n", site->path, site->line_wan, site->wan);
	if (!have_net_admin())
		printf("# not privileged: everything `up` would create on a gateway with nothing of site %s\n",
		       site->name);
	if (f.auto_mtu && f.wan_mtu)
		printf("# mtu auto: %s has MTU %u\n", site->wan, f.wan_mtu);
	else if (f.auto_mtu)
		printf("# mtu auto: %s %s; assuming MTU 1500\n", site->wan,
		       f.read ? "does not exist on this machine" : "could not be read");
	plan_print(plan, stdout);
	return EXIT_OK;
}

int plan_main(int argc, char **argv)
{
	const char *file;
	struct cmdline cl;
	bool full;
	struct site site;
	struct plan plan = { 0 };
	char path[4096];
	int ret = PLAN_FALL_BACK, r;

	if ((r = cmdopt_parse(&plan_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands > 1)
		return usage_error("plan", "one site at a time: `%s` and `%s`", cl.operands[0], cl.operands[1]);
	file = cl.n_operands ? cl.operands[0] : NULL;
	full = cl.given[OPT_FULL];
	if (!file)
		return usage_error("plan", "no site file given");
	if (sitearg_file("plan", file, path, sizeof(path)) < 0 || config_load(path, &site, stderr) < 0)
		return EXIT_USAGE;
	if (!full && have_net_admin())
		ret = plan_live(&site, path, &plan);
	if (ret == PLAN_FALL_BACK) {	/* not privileged, --full, or nftables not readable */
		plan_free(&plan);
		memset(&plan, 0, sizeof(plan));
		ret = plan_full(&site, &plan);
	}
	plan_free(&plan);
	config_free(&site);
	return ret;
}
