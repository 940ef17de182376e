/* plan.c - gatewayctl plan FILE: what `up` would change, as ip/nft commands */
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "gatewayctl.h"
#include "model.h"

static int plan_help(void)
{
	printf("Usage: %s plan [--full] FILE\n\n"
	       "Print the kernel changes `up FILE` would make, one per line, each as the\n"
	       "equivalent ip, nft or sysctl command (comment lines say why).\n"
	       "With CAP_NET_ADMIN (root) only what differs from the live kernel is shown,\n"
	       "or \"no changes\"; without it, or with --full, everything `up` would create\n"
	       "on a gateway that has nothing of this site yet. Changes nothing.\n", prog);
	return EXIT_OK;
}

int plan_main(int argc, char **argv)
{
	const char *file = NULL;
	bool full = false;
	struct site site;
	struct plan plan = { 0 };
	struct live live;
	struct nl rt, nf;
	int ret = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i]))
			return plan_help();
		if (!strcmp(argv[i], "--full"))
			full = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("plan", "unknown option `%s`", argv[i]);
		else if (file)
			return usage_error("plan", "one site file at a time");
		else
			file = argv[i];
	}
	if (!file)
		return usage_error("plan", "no site file given");
	if (config_load(file, &site, stderr) < 0)
		return EXIT_USAGE;

	if (!have_net_admin())
		full = true; /* nftables cannot be read: show everything */
	if (!full && nl_open(&rt, NETLINK_ROUTE) == 0) {
		if (nl_open(&nf, NETLINK_NETFILTER) == 0) {
			int r = live_read(&rt, &nf, &site, &plan, &live, stderr);

			if (r == 0) {
				plan_build(&plan, &site, &live);
				if (plan.n == 0)
					printf("# no changes: the kernel matches %s\n", file);
				else
					plan_print(&plan, stdout);
				live_free(&live);
			} else if (r == -EPERM) {
				full = true;
			} else {
				ret = EXIT_FAIL;
			}
			nl_close(&nf);
		} else {
			full = true;
		}
		nl_close(&rt);
	} else {
		full = true;
	}
	if (full && ret == EXIT_OK) {
		if (!have_net_admin())
			printf("# not privileged: everything `up` would create on a gateway with nothing of site %s\n",
			       site.name);
		for (size_t i = 0; i < site.n_peers; i++)
			if (!site.peers[i].mtu) {
				printf("# mtu auto: assuming %s has MTU 1500\n", site.wan);
				break;
			}
		plan_build(&plan, &site, NULL);
		plan_print(&plan, stdout);
	}
	plan_free(&plan);
	config_free(&site);
	return ret;
}
