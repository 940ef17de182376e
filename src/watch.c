/* watch.c - gatewayctl watch FILE|SITE: bring the site up like `up`, then keep
 * the kernel equal to its current configuration, repairing drift as the
 * kernel announces it (watchloop.h, watchrepair.c, watchsrc.c). */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "gatewayctl.h"
#include "proc.h"
#include "sitearg.h"
#include "watch.h"

static void watch_about(FILE *out)
{
	fputs("Bring the site up like `up FILE`, then keep the kernel equal to the site's\n"
	      "current configuration (what up, up --confirm, confirm and rollback last set: a\n"
	      "pending change while it is pending) until SIGTERM. Runs in the foreground\n"
	      "(gatewayctl-watch@SITE.service). Event-driven: the kernel's notifications about\n"
	      "links, addresses, routes, forwarding and nftables, and the relay's exit, wake it;\n"
	      "a deleted or downed tunnel, a deleted route, a changed or deleted table,\n"
	      "forwarding off or a dead relay is repaired within moments, all or nothing, under\n"
	      "the site's lock. Only what gatewayctl owns is touched. A repair that fails is\n"
	      "retried after 1 s, then 2, 4... up to every 60 s, and logged once per change of\n"
	      "outcome. Every repair goes to syslog with what and why; status shows the\n"
	      "watcher, its repairs and failures. Every probe_interval (default 10 s) it\n"
	      "pings each peer's lan_address through its tunnel: RTT, loss and whether it\n"
	      "answers in status; a peer that stops answering is logged within 3 intervals.\n"
	      "Encrypted peers that move are followed without DNS: when charon reports that\n"
	      "the IKE_SA of one of the site's own connections, established with the peer's\n"
	      "identity, moved to another address (MOBIKE), the peer's tunnel, nftables sets,\n"
	      "block policies and IKE connection move there.\n", out);
}

static const struct cmdopt watch_opts[] = { { 0 } };
static const struct cmdspec watch_spec = {
	.name = "watch", .usage = "FILE|SITE", .about = watch_about, .opts = watch_opts,
	.after = "Signals: SIGTERM, SIGINT  exit at once, leaving the site as it is\n"
		 "         SIGHUP           read FILE again and apply it like up (not while a\n"
		 "                          change is pending)\n"
		 "Needs CAP_NET_ADMIN. Exit status: 0 after SIGTERM, 1 when it cannot start,\n"
		 "2 for bad usage or an invalid FILE (nothing changed).\n",
};

/* Check ARG (a file, or a site's name) before anything runs: its site's name. */
static int check_arg(const char *arg, char *name, size_t len)
{
	char path[4096] = "";
	struct site site;

	if (sitearg_file("watch", arg, path, sizeof(path)) < 0)
		return -1;
	if (config_load(path[0] ? path : arg, &site, stderr) < 0)
		return -1;
	snprintf(name, len, "%s", site.name);
	config_free(&site);
	return 0;
}

static void watch_close(struct watch *w)
{
	mon_close(&w->mon);
	if (w->sig_fd >= 0)
		close(w->sig_fd);
	if (w->relay_fd >= 0)
		close(w->relay_fd);
	peerwatch_free(&w->pw);
	watch_free(w);
}

int watch_main(int argc, char **argv)
{
	struct watch w;
	struct cmdline cl;
	const char *arg;
	int r;

	if ((r = cmdopt_parse(&watch_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands > 1)
		return usage_error("watch", "one site at a time: `%s` and `%s`", cl.operands[0], cl.operands[1]);
	arg = cl.n_operands ? cl.operands[0] : NULL;
	if (!arg)
		return usage_error("watch", "no site file given");
	memset(&w, 0, sizeof(w));
	w.sig_fd = w.relay_fd = w.mon.rt_fd = w.mon.nf_fd = -1;
	if (check_arg(arg, w.name, sizeof(w.name)) < 0)
		return EXIT_USAGE;
	peerwatch_init(&w.pw, w.name);
	if (!have_net_admin()) {
		fprintf(stderr, "%s watch: needs CAP_NET_ADMIN to repair links, routes and nftables: run it as root\n",
			prog);
		return EXIT_FAIL;
	}
	w.arg = arg;
	w.to_stderr = !getenv("JOURNAL_STREAM");
	openlog("gatewayctl", LOG_PID, LOG_DAEMON);
	wl_init(&w.loop, watch_repair, &w);
	if ((r = watch_sources(&w)) < 0) {
		fprintf(stderr, "%s watch: cannot subscribe to the kernel's notifications: %s\n", prog, strerror(-r));
		watch_close(&w);
		return EXIT_FAIL;
	}
	/* the peers' probes: their peers come with each repair's configuration */
	wl_add(&w.loop, &(struct wl_source){ .name = "probe", .ctx = &w.pw, .fds = peerwatch_fds,
					      .deadline = peerwatch_deadline, .ready = peerwatch_ready,
					      .prepare = peerwatch_prepare, .after = peerwatch_after });
	w.ws.pid = getpid();
	proc_stat(w.ws.pid, &w.ws.start_ticks, NULL);
	proc_boot_id(w.ws.boot_id);
	w.ws.started = (int64_t)time(NULL);
	watch_log(&w, LOG_NOTICE, "watching (pid %d), applying %s first", (int)w.ws.pid, arg);
	w.apply_arg = true;
	wl_request(&w.loop, "start", true);
	r = wl_run(&w.loop);
	watchstate_remove(w.name);
	watch_close(&w);
	if (r < 0) {
		fprintf(stderr, "%s watch: poll: %s\n", prog, strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
