/* confirm.c - gatewayctl confirm SITE: keep a change made by `up --confirm` */
#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "gatewayctl.h"
#include "pending.h"

static void confirm_about(FILE *out)
{
	fprintf(out, "Keep the change that `%s up --confirm` made to SITE: its watcher is\n"
		"stopped, nothing is rolled back, and the change becomes the configuration\n"
		"that a later rollback returns to. SITE is the site's name (or its file).\n"
		"Exit status 1 when no change of SITE is pending. Needs CAP_NET_ADMIN.\n", prog);
}

static const struct cmdopt confirm_opts[] = { { 0 } };
static const struct cmdspec confirm_spec = {
	.name = "confirm", .usage = "SITE", .about = confirm_about, .opts = confirm_opts,
};

int confirm_main(int argc, char **argv)
{
	char name[SITE_NAME_MAX + 1], cmd[64];
	struct pending p;
	struct cmdline cl;
	int lock, r;

	/* the watcher itself (watcher.c), started by up --confirm */
	if (argc >= 2 && !strcmp(argv[1], "--watcher"))
		return watcher_main(argc - 1, argv + 1);
	if ((r = cmdopt_parse(&confirm_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands != 1)
		return usage_error("confirm", cl.n_operands < 1 ? "which site? gatewayctl confirm SITE" : "one site at a time");
	if ((r = pending_command_start("confirm", cl.operands[0], name, &lock, &p)) != 0)
		return r;
	if ((r = pending_stop_watcher(&p)) < 0)
		fprintf(stderr, "%s confirm: warning: cannot stop the watcher (pid %d): %s; it will find the change "
			"confirmed and do nothing\n", prog, (int)p.watcher_pid, strerror(-r));
	snprintf(cmd, sizeof(cmd), "%s confirm", prog);
	if (pending_confirm(name, &p, cmd, "", stderr) < 0) {
		close(lock);
		return EXIT_FAIL;
	}
	printf("site %s: change confirmed: %s stays in force%s\n", name, p.file[0] ? p.file : "the change",
	       p.failed_at ? " (its rollback had failed: `gatewayctl status` shows whether the kernel matches it)" : "");
	close(lock);
	return EXIT_OK;
}
