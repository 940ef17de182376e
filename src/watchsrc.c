/* watchsrc.c - the built-in event sources of `gatewayctl watch`: signals
 * (signalfd), the kernel's notifications about links, addresses, routes,
 * forwarding and nftables (netlink/monitor.h), and the relay's death (a pidfd).
 * Each event that concerns the site asks the loop for a repair, saying why. */
#include "endpoints_watch.h"
#include "ipsecmove.h"
#include "watch.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "proc.h"
#include "relay.h"

/* ---- what concerns the site ----------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void watch_free(struct watch *w)
{
	free(w->names);
	free(w->endpoints);
	free(w->endpoints6);
	w->names = NULL;
	w->endpoints = NULL;
	w->endpoints6 = NULL;
	w->n_names = w->n_endpoints = w->n_endpoints6 = 0;
}

void watch_interest(struct watch *w, const struct site *site)
{
	size_t n;

	snprintf(w->table, sizeof(w->table), "%s%s", NFT_TABLE_PREFIX, w->name);
	if (!site) {
		/* down: the next up creates our table, and that wakes us */
		watch_free(w);
		return;
	}
	n = site->n_peers + 2;
	watch_free(w);
	w->names = calloc(n, sizeof(*w->names));
	w->endpoints = calloc(n, sizeof(*w->endpoints));
	w->endpoints6 = calloc(n, sizeof(*w->endpoints6));
	if (!w->names || !w->endpoints || !w->endpoints6) {
		watch_free(w);	/* out of memory: only our table counts, until the next repair */
		return;
	}
	snprintf(w->names[w->n_names++], IFNAME_MAX + 1, "%s", site->lan);
	snprintf(w->names[w->n_names++], IFNAME_MAX + 1, "%s", site->wan);
	for (size_t i = 0; i < site->n_peers; i++) {
		snprintf(w->names[w->n_names++], IFNAME_MAX + 1, "%s", site->peers[i].tunnel);
		if (site->peers[i].endpoint_v6)
			memcpy(w->endpoints6[w->n_endpoints6++], site->peers[i].endpoint6, 16);
		else
			w->endpoints[w->n_endpoints++] = site->peers[i].endpoint;
	}
	qsort(w->names, w->n_names, sizeof(*w->names), name_cmp);
	qsort(w->endpoints, w->n_endpoints, sizeof(*w->endpoints), u32_cmp);
}

/* (no names: the site is down, only our table's creation counts) */
static bool our_name(const struct watch *w, const char *name)
{
	return w->names && bsearch(name, w->names, w->n_names, sizeof(*w->names), name_cmp) != NULL;
}

static bool our_route(const struct watch *w, const struct route_info *r, const char *gone, char *why, size_t len)
{
	char a[16];

	ip4_str(r->dst, a);
	if (r->protocol == RTPROT_GATEWAYCTL) {
		snprintf(why, len, "route %s/%u %s", a, r->dst_len, gone);
		return true;
	}
	if (r->dst_len == 32 && w->endpoints &&
	    bsearch(&r->dst, w->endpoints, w->n_endpoints, sizeof(uint32_t), u32_cmp)) {
		snprintf(why, len, "a host route to peer endpoint %s", a);
		return true;
	}
	if (r->dst_len == 0 && w->names) {
		snprintf(why, len, "the default route changed");
		return true;
	}
	return false;
}

/* gatewayctl's IPv6 routes, and a host route to a peer's IPv6 endpoint */
static bool our_route6(const struct watch *w, const struct route6_info *r, const char *gone, char *why,
		       size_t len)
{
	char a[IP6_STRLEN];

	if (r->protocol == RTPROT_GATEWAYCTL) {
		snprintf(why, len, "an IPv6 route of gatewayctl's %s", gone);
		return true;
	}
	for (size_t i = 0; r->dst_len == 128 && i < w->n_endpoints6; i++)
		if (ip6_equal(r->dst.s6_addr, w->endpoints6[i])) {
			snprintf(why, len, "a host route to peer endpoint %s", ip6_str(w->endpoints6[i], a));
			return true;
		}
	return false;
}

bool watch_event_ours(const struct watch *w, const struct mon_event *ev, char *why, size_t len)
{
	const char *gone = ev->removed ? "deleted" : "changed";

	switch (ev->kind) {
	case MON_LINK:
		snprintf(why, len, "link %s %s", ev->link.name, gone);
		return our_name(w, ev->link.name);
	case MON_ADDR:
		snprintf(why, len, "an IPv4 address %s", ev->removed ? "removed" : "added");
		return w->names != NULL;
	case MON_ROUTE:
		return our_route(w, &ev->route, gone, why, len);
	case MON_NETCONF:
		snprintf(why, len, "forwarding turned %s", ev->netconf.forwarding == 0 ? "off" : "on");
		if (ev->netconf.family == AF_INET6)
			snprintf(why, len, "IPv6 forwarding turned %s", ev->netconf.forwarding == 0 ? "off" : "on");
		return w->names != NULL && ev->netconf.forwarding >= 0 && ev->netconf.ifindex == MON_NETCONF_ALL;
	case MON_ADDR6:
		return false;	/* (SLAAC's addresses come and go; the LAN's is checked by up) */
	case MON_ROUTE6:
		return our_route6(w, &ev->route6, gone, why, len);
	case MON_NFT:
		snprintf(why, len, "nftables table %s %s", ev->nft.table, gone);
		return ev->nft.msg != NFT_MSG_NEWGEN && !strcmp(ev->nft.table, w->table);
	case MON_LOST:
		snprintf(why, len, "notifications were lost (burst): everything checked");
		return true;
	}
	return false;
}

/* ---- the kernel's notifications ----------------------------------------- */

static size_t mon_fds(void *ctx, struct pollfd *out, size_t max)
{
	struct watch *w = ctx;
	size_t n = 0;

	if (max >= 2 && w->mon.rt_fd >= 0) {
		out[n++] = (struct pollfd){ .fd = w->mon.rt_fd, .events = POLLIN };
		out[n++] = (struct pollfd){ .fd = w->mon.nf_fd, .events = POLLIN };
	}
	return n;
}

static void on_event(const struct mon_event *ev, void *arg)
{
	struct watch *w = arg;
	char why[160];

	if (!watch_event_ours(w, ev, why, sizeof(why)))
		return;
	/* waiting for an auto address or default route: the one that appears is
	 * no drift of ours but the cure, not left for the backoff's next retry */
	if (w->auto_wait && !ev->removed &&
	    (ev->kind == MON_ADDR || (ev->kind == MON_ROUTE && ev->route.dst_len == 0))) {
		w->auto_wait = false;
		wl_request(&w->loop, why, true);
		return;
	}
	wl_request(&w->loop, why, false);
}

static void mon_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct watch *w = ctx;

	(void)l;
	(void)now;
	for (size_t i = 0; i < n; i++) {
		int r;

		if (!fds[i].revents)
			continue;
		r = mon_read(&w->mon, fds[i].fd, on_event, w);
		if (r < 0 && r != -EAGAIN)
			wl_request(&w->loop, "reading notifications failed: everything checked", false);
	}
}

/* ---- the relay's pidfd ---------------------------------------------------- */

void watch_relay_rearm(struct watch *w)
{
	pid_t pid = relay_running(w->name, NULL, NULL);

	if (pid == w->relay_pid && (w->relay_fd >= 0 || pid <= 0))
		return;
	if (w->relay_fd >= 0)
		close(w->relay_fd);
	w->relay_fd = -1;
	w->relay_pid = pid;
	if (pid > 0)
		w->relay_fd = proc_pidfd_open(pid);
}

static size_t relay_fds(void *ctx, struct pollfd *out, size_t max)
{
	struct watch *w = ctx;

	if (w->relay_fd < 0 || max < 1)
		return 0;
	out[0] = (struct pollfd){ .fd = w->relay_fd, .events = POLLIN };
	return 1;
}

static void relay_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct watch *w = ctx;
	char why[80];

	(void)fds;
	(void)n;
	(void)now;
	snprintf(why, sizeof(why), "the relay (pid %d) exited", (int)w->relay_pid);
	close(w->relay_fd);
	w->relay_fd = -1;
	w->relay_pid = 0;
	wl_request(l, why, false);
}

/* ---- signals -------------------------------------------------------------- */

static size_t sig_fds(void *ctx, struct pollfd *out, size_t max)
{
	struct watch *w = ctx;

	if (max < 1)
		return 0;
	out[0] = (struct pollfd){ .fd = w->sig_fd, .events = POLLIN };
	return 1;
}

static void sig_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct watch *w = ctx;
	struct signalfd_siginfo si;

	(void)fds;
	(void)n;
	(void)now;
	while (read(w->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			watch_log(w, LOG_NOTICE, "SIGHUP: reading %s again", w->arg);
			w->apply_arg = true;
			wl_request(l, "SIGHUP", true);
		} else {
			watch_log(w, LOG_NOTICE, "%s: exiting; the site stays as it is",
				  si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			wl_stop(l);
		}
	}
}

int watch_sources(struct watch *w)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	w->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sig_fd < 0)
		return -errno;
	if ((r = mon_open(&w->mon)) < 0)
		return r;
	w->relay_fd = -1;
	wl_add(&w->loop, &(struct wl_source){ .name = "signals", .ctx = w, .fds = sig_fds, .ready = sig_ready });
	wl_add(&w->loop, &(struct wl_source){ .name = "netlink", .ctx = w, .fds = mon_fds, .ready = mon_ready });
	wl_add(&w->loop, &(struct wl_source){ .name = "relay", .ctx = w, .fds = relay_fds, .ready = relay_ready });
	endpoints_source_add(w, &w->loop);	/* endpoint names: looked up again at their TTL */
	ikemove_source_add(w, &w->loop);	/* encrypted peers that IKE finds elsewhere (after dns) */
	return 0;
}
