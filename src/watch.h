/* watch.h - the parts of `gatewayctl watch`: watch.c (the command),
 * watchrepair.c (one repair: the site's current configuration applied through
 * the engine, under the site's lock), watchsrc.c (the built-in event sources:
 * signals, the kernel's notifications, the relay's pidfd). The loop itself is
 * watchloop.[ch], the state shown by status watchstate.[ch]. */
#ifndef GATEWAYCTL_WATCH_H
#define GATEWAYCTL_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "monitor.h"
#include "peerwatch.h"
#include "watchloop.h"
#include "watchstate.h"

struct watch {
	char name[SITE_NAME_MAX + 1];
	const char *arg;		/* FILE|SITE as given: applied at start and on SIGHUP */
	bool apply_arg;			/* the next repair applies ARG (like up), not the current copy */
	bool to_stderr;			/* log lines also on stderr (not under systemd) */
	struct wl loop;
	struct mon mon;
	int sig_fd;
	int relay_fd;			/* pidfd of the site's relay, -1 when none */
	pid_t relay_pid;
	struct watch_state ws;
	/* what makes an event ours (from the configuration last loaded) */
	char (*names)[IFNAME_MAX + 1];	/* tunnels, LAN, WAN: sorted */
	size_t n_names;
	uint32_t *endpoints;		/* peers' endpoints (a bogus host route): sorted */
	size_t n_endpoints;
	uint8_t (*endpoints6)[16];	/* peers' IPv6 endpoints (a bogus /128 route) */
	size_t n_endpoints6;
	char table[64];			/* our nftables table */
	unsigned long fail_streak;	/* failed runs in a row */
	bool auto_wait;			/* failed for want of the WAN's address or default route
					 * (auto): the next one that appears repairs at once */
	char last_log[700];		/* the last failure or hold logged (logged once) */
	struct peerwatch pw;		/* the peers' probes every probe_interval */
};

/* watchrepair.c: the loop's repair callback (CTX is the struct watch). */
enum wl_result watch_repair(struct wl *l, void *ctx, const char *why);
/* One line to syslog (daemon facility, warning or notice) and, unless under
 * systemd, to stderr. */
__attribute__((format(printf, 3, 4)))
void watch_log(const struct watch *w, int prio, const char *fmt, ...);
/* Whether the watcher's process is the relay's: re-opened after each repair. */
void watch_relay_rearm(struct watch *w);
/* The event filter's lists from SITE (NULL: the site is down: only our table). */
void watch_interest(struct watch *w, const struct site *site);
void watch_free(struct watch *w);

/* watchsrc.c: register the built-in sources on w->loop. 0 or -errno. */
int watch_sources(struct watch *w);
/* Whether EV concerns W's site (for the tests); WHY gets a short phrase. */
bool watch_event_ours(const struct watch *w, const struct mon_event *ev, char *why, size_t len);

#endif
