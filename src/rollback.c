/* rollback.c - gatewayctl rollback SITE: undo a change made by `up --confirm` now */
#include <string.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "gatewayctl.h"
#include "pending.h"

static void rollback_about(FILE *out)
{
	fprintf(out, "Undo now the change that `%s up --confirm` made to SITE, as its watcher would\n"
		"at the deadline: the last confirmed configuration comes back (through the same\n"
		"all-or-nothing code as up), or the site goes down if it was down before the\n"
		"change. Also retries a rollback that failed. SITE is the site's name (or its\n"
		"file). Exit status 1 when no change of SITE is pending, or when the rollback\n"
		"fails (the change then stays pending). Needs CAP_NET_ADMIN.\n", prog);
}

static const struct cmdopt rollback_opts[] = { { 0 } };
static const struct cmdspec rollback_spec = {
	.name = "rollback", .usage = "SITE", .about = rollback_about, .opts = rollback_opts,
};

int rollback_main(int argc, char **argv)
{
	char name[SITE_NAME_MAX + 1];
	struct pending p;
	struct cmdline cl;
	int lock, r;

	if ((r = cmdopt_parse(&rollback_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands != 1)
		return usage_error("rollback", cl.n_operands < 1 ? "which site? gatewayctl rollback SITE" : "one site at a time");
	if ((r = pending_command_start("rollback", cl.operands[0], name, &lock, &p)) != 0)
		return r;
	if ((r = pending_stop_watcher(&p)) < 0) {
		/* it could not act before our lock goes anyway; say so and go on */
		fprintf(stderr, "%s rollback: warning: cannot stop the watcher (pid %d): %s\n", prog,
			(int)p.watcher_pid, strerror(-r));
	}
	r = pending_rollback(&p, "`gatewayctl rollback` was run", stdout, stderr);
	close(lock);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
