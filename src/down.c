/* down.c - gatewayctl down [FILE|SITE]: remove what gatewayctl created for a site */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "config.h"
#include "gatewayctl.h"
#include "pending.h"
#include "site.h"
#include "sitearg.h"
#include "state.h"

static void down_about(FILE *out)
{
	fprintf(out,
		"Remove everything gatewayctl created for a site, and nothing else: its tunnels\n"
		"(found by their alias gatewayctl:SITE/PEER) and the routes through them, its\n"
		"nftables table (gatewayctl-SITE), the relay, and what the state file in\n"
		"%s records: addresses it assigned, links it brought up, the default\n"
		"route it added, the forwarding setting it changed. The site is named by its\n"
		"file or by its name; without either, every site gatewayctl manages here.\n"
		"Running it twice is fine. Refused while a change made by `up --confirm` is\n"
		"pending (confirm or roll it back first). Needs CAP_NET_ADMIN.\n", state_dir());
}

enum { OPT_DRY_RUN = 1 };
static const struct cmdopt down_opts[] = {
	{ OPT_DRY_RUN, "--dry-run", "-n", CMDOPT_FLAG, NULL, NULL,
	  "print what down would do, one line per change, exactly as\n"
	  "down prints them, and change nothing" },
	{ 0 }
};
static const struct cmdspec down_spec = {
	.name = "down", .usage = "[--dry-run] [FILE|SITE]", .about = down_about, .opts = down_opts,
	.after = "Best effort: a step that fails does not stop the others; every failure is\n"
		 "said, and the exit status is then 1. IPsec stays while a tunnel is left.\n",
};

/* Site NAME under its lock, unless a change is pending. 0, or -1. */
static int down_one(const char *name, const struct site *conf, bool dry_run)
{
	struct pending p;
	int lock = state_lock(name), r;

	if (lock < 0)
		return -1;
	r = pending_read(name, &p);
	if (r == 0 || r == -EINVAL) {
		pending_refuse(&p, "down", stderr);
		close(lock);
		return -1;
	}
	r = dry_run ? site_down_plan(name, conf, stdout, stderr) : site_down(name, conf, stdout, stderr);
	close(lock);
	return r;
}

int down_main(int argc, char **argv)
{
	const char *arg;
	char site[SITE_NAME_MAX + 1] = "";
	struct site conf;
	struct cmdline cl;
	bool have_conf = false, dry_run;
	int r, failures = 0;

	if ((r = cmdopt_parse(&down_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands > 1)
		return usage_error("down", "one site at a time (or none: every site)");
	arg = cl.n_operands ? cl.operands[0] : NULL;
	dry_run = cl.given[OPT_DRY_RUN];
	if (arg && sitearg_is_file(arg)) {
		if (config_load(arg, &conf, stderr) < 0) {
			fprintf(stderr, "%s down: give the site's name instead of the file to remove it anyway\n", prog);
			return EXIT_USAGE;
		}
		snprintf(site, sizeof(site), "%s", conf.name);
		have_conf = true;
	} else if (arg) {
		if (!site_name_valid(arg))
			return usage_error("down", "`%s` is neither a site file nor a site name", arg);
		snprintf(site, sizeof(site), "%s", arg);
	}
	if (!have_net_admin()) {
		fprintf(stderr, "%s down: needs CAP_NET_ADMIN: run it as root\n", prog);
		if (have_conf)
			config_free(&conf);
		return EXIT_FAIL;
	}
	if (site[0]) {
		failures += down_one(site, have_conf ? &conf : NULL, dry_run) < 0;
	} else {
		char (*names)[SITE_NAME_MAX + 1] = NULL;
		size_t n = 0;

		if ((r = site_list(&names, &n)) < 0) {
			fprintf(stderr, "%s down: finding gatewayctl's sites: %s\n", prog, strerror(-r));
			failures++;
		}
		if (r == 0 && n == 0)
			printf("no site of gatewayctl's here: nothing to remove\n");
		for (size_t i = 0; i < n; i++)
			failures += down_one(names[i], NULL, dry_run) < 0;
		free(names);
	}
	if (have_conf)
		config_free(&conf);
	return failures ? EXIT_FAIL : EXIT_OK;
}
