/* up.c - gatewayctl up FILE: make the kernel match the site file, all or nothing */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "charonwait.h"
#include "config.h"
#include "gatewayctl.h"
#include "pending.h"
#include "probewatch.h"
#include "site.h"
#include "sitearg.h"
#include "state.h"

static int up_help(void)
{
	printf("Usage: %s up [-v] [--confirm [SECONDS] [--probe]] FILE|SITE\n"
	       "       %s up --boot FILE\n\n"
	       "Make the kernel match the site file (or, given a site's name, the file its\n"
	       "last up used): the ipip tunnel to every peer, routes to\n"
	       "the peers' networks, the nftables table (SNAT, MSS clamp, IPIP input filter),\n"
	       "forwarding, and with manage_interfaces = yes the LAN/WAN addresses and the\n"
	       "default route. Only what differs is changed; a second up says \"no changes\".\n"
	       "All or nothing: when a step fails, every step already done is undone and\n"
	       "the error names the step and quotes the kernel. Needs CAP_NET_ADMIN.\n\n"
	       "  -v, --verbose          also list what a rollback undid\n"
	       "  --confirm [SECONDS]    roll the change back by itself after SECONDS (default %d;\n"
	       "                         also --confirm=SECONDS)\n"
	       "                         unless `gatewayctl confirm SITE` runs first; safe for\n"
	       "                         changes made through the tunnel being changed\n"
	       "  --probe                with --confirm: ping every peer's lan_address before\n"
	       "                         the change; the change confirms itself as soon as all\n"
	       "                         that answered answer through it (none: it waits)\n"
	       "  --boot                 what gatewayctl@.service runs: when a change was left\n"
	       "                         unconfirmed (the machine restarted), bring up the last\n"
	       "                         confirmed configuration instead of FILE; with IPsec\n"
	       "                         peers, first wait up to 90 s for charon to answer\n"
	       "                         (GATEWAYCTL_CHARON_WAIT=SECONDS)\n\n"
	       "Before changing anything, up checks the gateway (the interfaces exist, are up\n"
	       "and carry their addresses; charon answers; no foreign link or route is in the\n"
	       "way) and refuses with every problem; `plan` and `status` say the same.\n"
	       "While a change is pending, up and down are refused.\n", prog, prog, CONFIRM_DEFAULT_SECONDS);
	return EXIT_OK;
}

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
	const char *file = NULL;
	bool verbose = false, boot = false, probe = false, loaded;
	unsigned confirm = 0;
	struct site site;
	struct pending p;
	struct confirm_ctx cc = { 0 };
	char name[SITE_NAME_MAX + 1], cmd[64], path[4096] = "";
	struct site_up_opts o = { .cmd = cmd, .out = stdout, .err = stderr };
	int lock, ret = EXIT_FAIL, r;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i]))
			return up_help();
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (!strcmp(argv[i], "--boot"))
			boot = true;
		else if (!strcmp(argv[i], "--probe"))
			probe = true;
		else if (!strcmp(argv[i], "--confirm")) {
			confirm = CONFIRM_DEFAULT_SECONDS;
			/* --confirm 30: seconds given as the next word */
			if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9' &&
			    argv[i + 1][strspn(argv[i + 1], "0123456789")] == '\0' &&
			    parse_seconds(argv[++i], &confirm) < 0)
				return usage_error("up", "--confirm SECONDS wants a whole number of seconds from 1 to %d, "
						   "not `%s`", CONFIRM_MAX_SECONDS, argv[i]);
		} else if (!strncmp(argv[i], "--confirm=", 10)) {
			if (parse_seconds(argv[i] + 10, &confirm) < 0)
				return usage_error("up", "--confirm=SECONDS wants a whole number of seconds from 1 to %d, "
						   "not `%s`", CONFIRM_MAX_SECONDS, argv[i] + 10);
		} else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("up", "unknown option `%s`", argv[i]);
		else if (file)
			return usage_error("up", "one site at a time: `%s` and `%s`", file, argv[i]);
		else
			file = argv[i];
	}
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
	if (cc.begun) {
		char at[32];
		time_t t;

		if (pending_started(&cc.p) < 0)
			fprintf(stderr, "%s up: warning: cannot update the deadline in %s: it stays %u s after "
				"the start of this up\n", prog, lib_dir(), cc.seconds);
		t = (time_t)cc.p.deadline;
		strftime(at, sizeof(at), "%H:%M:%S", localtime(&t));
		printf("change pending: rolls back in %u s (at %s) unless confirmed:\n"
		       "  %s confirm %s     keep it\n"
		       "  %s rollback %s    undo it now\n", cc.seconds, at, prog, name, prog, name);
	} else if ((r = confirmed_keep(&site)) < 0) {
		fprintf(stderr, "%s up: site %s is up, but its confirmed copy cannot be kept in %s: %s; "
			"`up --confirm` refuses until it can\n", prog, name, lib_dir(),
			lib_strerror(r));
		goto out_lock;
	} else if (confirm) {
		printf("site %s: nothing changed, so there is nothing to confirm\n", name);
	}
	ret = EXIT_OK;
out_lock:
	close(lock);
out_site:
	if (loaded)
		config_free(&site);
	return ret;
}
