/* endpoints_watch.h - a long-running watcher's view of a site's endpoint
 * names: each name re-resolved (c-ares, asynchronously) when its TTL expires;
 * a changed answer makes the watcher re-apply the site, whose peers then
 * follow: the tunnel's remote, the nftables peer set and the IKE connection
 * are planned from the filled site like at `up`.
 *
 *   - a DNS server that stops answering: the old address is kept (logged
 *     once, retried every RESOLVE_TTL_MIN seconds);
 *   - a new address that is ours, or inside the LAN or a peer's networks:
 *     refused (logged once), the old one kept;
 *   - several addresses: the one in use is kept while it is still among
 *     them, else the first (probes do not choose yet).
 *
 * The loop asks ew_fds() and ew_deadline() before each poll and calls
 * ew_ready() after it; ew_ready() says whether an answer changed something
 * (then: ask for a repair). Before each repair ew_prepare() writes the
 * accepted addresses into the freshly loaded site; after it ew_after() learns
 * the names the engine resolved itself (new names) and the addresses in use. */
#ifndef GATEWAYCTL_ENDPOINTS_WATCH_H
#define GATEWAYCTL_ENDPOINTS_WATCH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct resolver;
struct ew_name;

/* LOG(arg, warning, text): one line for syslog (warning: LOG_WARNING, else LOG_NOTICE) */
typedef void (*ew_log_fn)(void *arg, bool warning, const char *text);

struct ew {
	struct resolver *res;
	struct ew_name *names;
	size_t n;
	uint32_t wan;		/* our WAN address at the last repair (auto moves it) */
	bool changed;		/* an answer differs from what is applied */
	ew_log_fn log;
	void *log_arg;
	char error[160];	/* why the resolver could not be set up ("" when fine) */
};

/* 0, or -errno with ew->error set. */
int ew_init(struct ew *w, ew_log_fn log, void *arg);
void ew_free(struct ew *w);

size_t ew_fds(struct ew *w, struct pollfd *out, size_t max);
/* CLOCK_MONOTONIC milliseconds of the next thing to do, UINT64_MAX: none */
uint64_t ew_deadline(const struct ew *w);
/* Process what poll found (FDS as ew_fds gave them) and start the lookups
 * that are due at NOW. True when an answer changed: re-apply the site. */
bool ew_ready(struct ew *w, const struct pollfd *fds, size_t n, uint64_t now);

/* Before a repair: the names' accepted addresses into SITE (its items filled,
 * each peer's endpoint chosen, site->endpoints_chosen set), refusing (logged)
 * what SITE forbids. Names SITE has that are not known yet are left for the
 * engine to resolve. */
void ew_prepare(struct ew *w, struct site *site);
/* After a repair that worked (RESULT >= 0): the names and addresses of the
 * filled SITE, each re-resolved TTL seconds from NOW. */
void ew_after(struct ew *w, const struct site *site, int result, uint64_t now);

/* endpoints_source.c: register the "dns" source on watcher W's LOOP. 0 or -errno. */
struct watch;
struct wl;
int endpoints_source_add(const struct watch *w, struct wl *loop);

#endif
