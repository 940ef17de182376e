/* up.c - gatewayctl up FILE: make the kernel match the site file, all or nothing */
#include <errno.h>
#include <linux/capability.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply.h"
#include "config.h"
#include "gatewayctl.h"
#include "ipsec.h"
#include "model.h"
#include "state.h"

bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

static int up_help(void)
{
	printf("Usage: %s up [-v] FILE\n\n"
	       "Make the kernel match the site file: the ipip tunnel to every peer, routes to\n"
	       "the peers' networks, the nftables table (SNAT, MSS clamp, IPIP input filter),\n"
	       "forwarding, and with manage_interfaces = yes the LAN/WAN addresses and the\n"
	       "default route. Only what differs is changed; a second up says \"no changes\".\n"
	       "All or nothing: when a step fails, every step already done is undone and\n"
	       "the error names the step and quotes the kernel. Needs CAP_NET_ADMIN.\n\n"
	       "  -v, --verbose   also list what a rollback undid\n", prog);
	return EXIT_OK;
}

/* What must hold before anything is changed. Every problem is reported. */
static int preflight(const struct site *s, const struct live *live)
{
	int errors = 0;
	char ip[16];
	const char *path = s->path;
	const struct {
		const char *ifname, *role;
		struct net4 addr;
		int line, addr_line;
	} ifs[2] = {
		{ s->lan, "lan", s->lan_address, s->line_lan, s->line_lan_address },
		{ s->wan, "wan", s->wan_address, s->line_wan, s->line_wan_address },
	};

	for (int i = 0; i < 2; i++) {
		const struct link_info *l = live_link(live, ifs[i].ifname);
		bool has = false;

		if (!l) {
			fprintf(stderr, "%s:%d: error: interface `%s` (%s) does not exist on this gateway; "
				"check the name with `ip link`\n", path, ifs[i].line, ifs[i].ifname, ifs[i].role);
			errors++;
			continue;
		}
		if (s->manage_interfaces)
			continue;
		for (size_t k = 0; k < live->n_addrs; k++)
			if (live->addrs[k].ifindex == l->ifindex && live->addrs[k].local == ifs[i].addr.addr &&
			    live->addrs[k].prefixlen == ifs[i].addr.len)
				has = true;
		if (!has) {
			fprintf(stderr, "%s:%d: error: `%s` does not carry %s/%u (%s_address); assign it, "
				"or set manage_interfaces = yes to let gatewayctl do it\n", path,
				ifs[i].addr_line, ifs[i].ifname, ip4_str(ifs[i].addr.addr, ip), ifs[i].addr.len,
				ifs[i].role);
			errors++;
		}
		if (!(l->flags & IFF_UP)) {
			fprintf(stderr, "%s:%d: error: `%s` (%s) is down; bring it up (ip link set %s up), "
				"or set manage_interfaces = yes\n", path, ifs[i].line, ifs[i].ifname,
				ifs[i].role, ifs[i].ifname);
			errors++;
		}
	}
	if (ipsec_site_uses(s) && !live->ipsec.reachable) {
		fprintf(stderr, "%s: error: %s; peers with `encryption = ipsec` need it\n  hint: %s\n", path,
			live->ipsec.error, ipsec_hint(-ENOENT));
		errors++;
	}
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct link_info *l = live_link(live, p->tunnel);
		char dst[20];

		if (!l || model_owns_link(s, l, NULL)) {
			/* absent, or ours (perhaps unfinished): fine */
		} else if (strncmp(l->alias, RTNL_ALIAS_PREFIX, strlen(RTNL_ALIAS_PREFIX))) {
			fprintf(stderr, "%s:%d: error: peer %s: the tunnel name `%s` is taken by a link "
				"gatewayctl did not create (kind %s); choose another with `tunnel =`\n",
				path, p->line, p->name, p->tunnel, l->kind[0] ? l->kind : "none");
			errors++;
		} else {
			fprintf(stderr, "%s:%d: error: peer %s: the tunnel name `%s` belongs to gatewayctl's "
				"%s; choose another with `tunnel =`\n", path, p->line, p->name, p->tunnel,
				l->alias + strlen(RTNL_ALIAS_PREFIX));
			errors++;
		}
		for (size_t k = 0; k < p->n_networks; k++) {
			size_t count;
			const struct route_info *r = live_routes(live, p->networks[k].addr, p->networks[k].len, &count);

			for (size_t j = 0; j < count; j++) {
				if (r[j].table != RT_TABLE_MAIN || r[j].protocol == RTPROT_GATEWAYCTL)
					continue;
				fprintf(stderr, "%s:%d: error: peer %s: a route to %s exists that gatewayctl did "
					"not create (protocol %u); remove it first (ip route del %s), gatewayctl "
					"will route the network itself\n", path, p->networks_line, p->name,
					net4_str(p->networks[k], dst), r[j].protocol, dst);
				errors++;
			}
		}
	}
	return errors;
}

/* Note in the state file, before applying, what only the state file can tell
 * `down` later: the old forwarding value, addresses and links we change. */
static void record_intents(const struct plan *plan, const struct live *live, struct state *st)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct step *s = &plan->steps[i];

		switch (s->kind) {
		case STEP_FORWARDING:
			if (st->forwarding_was < 0)
				st->forwarding_was = (int)live->ip_forward;
			break;
		case STEP_ADDR_ADD:
			if (st->n_addrs < STATE_MAX_ITEMS) {
				strcpy(st->addrs[st->n_addrs].ifname, s->ifname);
				st->addrs[st->n_addrs++].addr = (struct net4){ s->addr, s->plen };
			}
			break;
		case STEP_LINK_UP:
			if (st->n_links_up < STATE_MAX_ITEMS)
				strcpy(st->links_up[st->n_links_up++], s->ifname);
			break;
		case STEP_ROUTE_ADD:
			if (!s->peer) {
				st->default_route.gateway = s->route.gateway;
				strcpy(st->default_route.ifname, s->ifname);
			}
			break;
		default:
			break;
		}
	}
}

int up_main(int argc, char **argv)
{
	const char *file = NULL;
	bool verbose = false;
	struct site site;
	struct plan plan = { 0 };
	struct live live;
	struct state st, before;
	struct nl rt, nf;
	int lock, ret = EXIT_FAIL, r;
	char *abs;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i]))
			return up_help();
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("up", "unknown option `%s`", argv[i]);
		else if (file)
			return usage_error("up", "one site file at a time");
		else
			file = argv[i];
	}
	if (!file)
		return usage_error("up", "no site file given");
	if (config_load(file, &site, stderr) < 0)
		return EXIT_USAGE;
	if (!have_net_admin()) {
		fprintf(stderr, "%s up: needs CAP_NET_ADMIN to change links, routes and nftables: run it as root\n",
			prog);
		config_free(&site);
		return EXIT_FAIL;
	}
	lock = state_lock(site.name);
	if (lock < 0) {
		config_free(&site);
		return EXIT_FAIL;
	}
	if ((r = nl_open(&rt, NETLINK_ROUTE)) < 0) {
		fprintf(stderr, "%s up: cannot open rtnetlink: %s\n", prog, strerror(-r));
		goto out_lock;
	}
	if ((r = nl_open(&nf, NETLINK_NETFILTER)) < 0) {
		fprintf(stderr, "%s up: cannot open nfnetlink: %s\n", prog, strerror(-r));
		goto out_rt;
	}
	if (live_read(&rt, &nf, &site, &plan, &live, stderr) < 0)
		goto out_nf;
	if (preflight(&site, &live)) {
		fprintf(stderr, "%s up: site %s: nothing changed\n", prog, site.name);
		goto out_live;
	}
	plan_build(&plan, &site, &live);
	if (plan.n == 0) {
		printf("site %s: no changes\n", site.name);
		ret = EXIT_OK;
		goto out_live;
	}
	if (state_read(site.name, &before) < 0)
		state_init(&before, site.name);
	st = before;
	abs = realpath(file, NULL);
	snprintf(st.file, sizeof(st.file), "%s", abs ? abs : file);
	free(abs);
	record_intents(&plan, &live, &st);
	if ((r = state_write(&st)) < 0) {
		fprintf(stderr, "%s up: cannot write the state file in %s: %s; nothing changed\n", prog,
			state_dir(), strerror(-r));
		goto out_live;
	}
	{
		struct apply a = {
			.cmd = "gatewayctl up", .rt = &rt, .nf = &nf, .site = &site, .live = &live,
			.plan = &plan, .err = stderr, .verbose = verbose,
		};

		if (apply_plan(&a) < 0) {
			state_write(&before);
			goto out_live;
		}
	}
	printf("site %s: %zu change%s applied\n", site.name, plan.n, plan.n == 1 ? "" : "s");
	plan_print(&plan, stdout);
	ret = EXIT_OK;
out_live:
	live_free(&live);
out_nf:
	nl_close(&nf);
out_rt:
	nl_close(&rt);
out_lock:
	close(lock);
	plan_free(&plan);
	config_free(&site);
	return ret;
}
