/* up.c - gatewayctl up FILE: make the kernel match the site file, all or nothing */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "charonwait.h"
#include "config.h"
#include "gatewayctl.h"
#include "pending.h"
#include "probewatch.h"
#include "site.h"
#include "sitearg.h"
#include "state.h"

static void up_about(FILE *out)
{
	fputs("Make the kernel match the site file (or, given a site's name, the file its\n"
	      "last up used): the ipip tunnel to every peer, routes to\n"
	      "the peers' networks, the nftables table (SNAT, MSS clamp, IPIP input filter),\n"
	      "forwarding, and with manage_interfaces = yes the LAN/WAN addresses and the\n"
	      "default route. Only what differs is changed; a second up says \"no changes\".\n"
	      "All or nothing: when a step fails, every step already done is undone and\n"
	      "the error names the step and quotes the kernel. Needs CAP_NET_ADMIN.\n", out);
}

#define STR_(x) #x
#define STR(x) STR_(x)
enum { OPT_VERBOSE = 1, OPT_CONFIRM, OPT_PROBE, OPT_BOOT };
static const struct cmdopt up_opts[] = {
	{ OPT_VERBOSE, "--verbose", "-v", CMDOPT_FLAG, NULL, NULL, "also list what a rollback undid" },
	{ OPT_CONFIRM, "--confirm", NULL, CMDOPT_NUMBER_OPT, "SECONDS", NULL,
	  "roll the change back by itself after SECONDS (default " STR(CONFIRM_DEFAULT_SECONDS) ";\n"
	  "also --confirm=SECONDS)\n"
	  "unless `gatewayctl confirm SITE` runs first; safe for\n"
	  "changes made through the tunnel being changed" },
	{ OPT_PROBE, "--probe", NULL, CMDOPT_FLAG, NULL, NULL,
	  "with --confirm: ping every peer's lan_address before\n"
	  "the change; the change confirms itself as soon as all\n"
	  "that answered answer through it (none: it waits)" },
	{ OPT_BOOT, "--boot", NULL, CMDOPT_FLAG, NULL, NULL,
	  "what gatewayctl@.service runs: when a change was left\n"
	  "unconfirmed (the machine restarted), bring up the last\n"
	  "confirmed configuration instead of FILE; with IPsec\n"
	  "peers, first wait up to 90 s for charon to answer\n"
	  "(GATEWAYCTL_CHARON_WAIT=SECONDS)" },
	{ 0 }
};
static const struct cmdspec up_spec = {
	.name = "up", .usage = "[-v] [--confirm [SECONDS] [--probe]] FILE|SITE\n--boot FILE", .about = up_about,
	.opts = up_opts,
	.after = "Before changing anything, up checks the gateway (the interfaces exist, are up\n"
		 "and carry their addresses; charon answers; no foreign link or route is in the\n"
		 "way) and refuses with every problem; `plan` and `status` say the same.\n"
		 "While a change is pending, up and down are refused.\n",
};

/* up --confirm: the pending change is recorded (and its watcher started) once
 * the plan is known to change something, before the first change. */
struct confirm_ctx {
	unsigned seconds;
	bool probe;			/* --probe */
	struct pending p;
	bool begun;
};

static int begin_pending(void *ctx, const struct site *site, const struct live *live)
{
	struct confirm_ctx *c = ctx;

	struct pending_probe pp;

	/* the peers that answer now, through the configuration in force */
	if (c->probe && probe_before_change(site, &pp, stdout, stderr) < 0)
		return -1;
	if (pending_begin(site, live, c->seconds, c->probe ? &pp : NULL, &c->p, stderr) < 0)
		return -1;
	c->begun = true;
	return 0;
}

/* --boot FILE when FILE cannot be used: the site named by its base name. */
static bool name_from_path(const char *file, char *name, size_t len)
{
	const char *base = strrchr(file, '/');
	size_t n;

	base = base ? base + 1 : file;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".ini"))
		n -= 4;
	if (n == 0 || n >= len)
		return false;
	memcpy(name, base, n);
	name[n] = '\0';
	return site_name_valid(name);
}

/* --boot with a change pending: a live watcher keeps its job; otherwise (the
 * machine restarted before the change was confirmed) the change is rolled back:
 * the last confirmed configuration comes up, not the file being edited. */
static int boot_pending(struct pending *p)
{
	if (pending_watcher_alive(p)) {
		printf("site %s: a change is pending (%s); left to its watcher: it rolls back in %lld s "
		       "unless `%s confirm %s`\n", p->site, p->file, pending_remaining(p), prog, p->site);
		return EXIT_OK;
	}
	return pending_rollback(p, "it was never confirmed and its watcher is gone (the machine restarted)",
				stdout, stderr) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* After a successful up: a pending change's deadline counts from now and the
 * commands that end it are said; otherwise the file's bytes become the
 * confirmed copy. The exit status. */
static int after_up(const struct site *site, struct confirm_ctx *cc, bool confirm)
{
	int r;

	if (cc->begun) {
		char at[32];
		time_t t;

		if (pending_started(&cc->p) < 0)
			fprintf(stderr, "%s up: warning: cannot update the deadline in %s: it stays %u s after "
				"the start of this up\n", prog, lib_dir(), cc->seconds);
		t = (time_t)cc->p.deadline;
		strftime(at, sizeof(at), "%H:%M:%S", localtime(&t));
		printf("change pending: rolls back in %u s (at %s) unless confirmed:\n"
		       "  %s confirm %s     keep it\n"
		       "  %s rollback %s    undo it now\n", cc->seconds, at, prog, site->name, prog, site->name);
	} else if ((r = confirmed_keep(site)) < 0) {
		fprintf(stderr, "%s up: site %s is up, but its confirmed copy cannot be kept in %s: %s; "
			"`up --confirm` refuses until it can\n", prog, site->name, lib_dir(), lib_strerror(r));
		return EXIT_FAIL;
	} else if (confirm) {
		printf("site %s: nothing changed, so there is nothing to confirm\n", site->name);
	}
	return EXIT_OK;
}

static int parse_seconds(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > CONFIRM_MAX_SECONDS)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int up_main(int argc, char **argv)
{
	const char *file;
	bool verbose, boot, probe, loaded;
	unsigned confirm = 0;
	struct cmdline cl;
	struct site site;
	struct pending p;
	struct confirm_ctx cc = { 0 };
	char name[SITE_NAME_MAX + 1], cmd[64], path[4096] = "";
	struct site_up_opts o = { .cmd = cmd, .out = stdout, .err = stderr };
	int lock, ret = EXIT_FAIL, r;

	if ((r = cmdopt_parse(&up_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands > 1)
		return usage_error("up", "one site at a time: `%s` and `%s`", cl.operands[0], cl.operands[1]);
	file = cl.n_operands ? cl.operands[0] : NULL;
	verbose = cl.given[OPT_VERBOSE];
	boot = cl.given[OPT_BOOT];
	probe = cl.given[OPT_PROBE];
	if (cl.given[OPT_CONFIRM])
		confirm = CONFIRM_DEFAULT_SECONDS;
	if (cl.value[OPT_CONFIRM] && parse_seconds(cl.value[OPT_CONFIRM], &confirm) < 0)
		return usage_error("up", "--confirm SECONDS wants a whole number of seconds from 1 to %d, not `%s`",
				   CONFIRM_MAX_SECONDS, cl.value[OPT_CONFIRM]);
	if (!file)
		return usage_error("up", "no site file given");
	if (boot && confirm)
		return usage_error("up", "--boot and --confirm do not go together");
	if (probe && !confirm)
		return usage_error("up", "--probe confirms a change by itself: it goes with --confirm SECONDS");
	snprintf(cmd, sizeof(cmd), "%s up", prog);
	o.verbose = verbose;
	/* a site's name: the file its last up recorded (at boot, the name may
	 * still find a pending change below) */
	if (sitearg_file("up", file, path, sizeof(path)) < 0 && !boot)
		return EXIT_USAGE;
	if (path[0])
		file = path;
	loaded = config_load(file, &site, stderr) == 0;
	if (loaded) {
		snprintf(name, sizeof(name), "%s", site.name);
	} else {
		/* at boot, a pending change does not depend on the file being edited */
		if (!boot || !name_from_path(file, name, sizeof(name)) ||
		    ((r = pending_read(name, &p)) != 0 && r != -EINVAL))
			return EXIT_USAGE;
		fprintf(stderr, "%s up: site %s has a change pending: %s is not needed\n", prog, name, file);
	}
	if (!have_net_admin()) {
		fprintf(stderr, "%s up: needs CAP_NET_ADMIN to change links, routes and nftables: run it as root\n",
			prog);
		goto out_site;
	}
	lock = state_lock(name);
	if (lock < 0)
		goto out_site;
	r = pending_read(name, &p);
	if (r == 0 || r == -EINVAL) {
		if (boot)
			ret = boot_pending(&p);
		else
			pending_refuse(&p, "up", stderr);
		goto out_lock;
	}
	if (r != -ENOENT) {
		fprintf(stderr, "%s up: site %s: cannot read its pending change in %s: %s\n", prog, name,
			lib_dir(), lib_strerror(r));
		goto out_lock;
	}
	if (!loaded) {
		ret = EXIT_USAGE;
		goto out_lock;
	}
	if (confirm) {
		cc.seconds = confirm;
		cc.probe = probe;
		o.before_change = begin_pending;
		o.ctx = &cc;
	}
	/* at boot strongSwan may still be starting: wait for it (bounded) */
	if (boot)
		charon_wait(&site, stdout, stderr);
	if (site_up(&site, &o) < 0) {
		if (cc.begun)
			pending_abort(&cc.p);
		goto out_lock;
	}
	ret = after_up(&site, &cc, confirm != 0);
out_lock:
	close(lock);
out_site:
	if (loaded)
		config_free(&site);
	return ret;
}
