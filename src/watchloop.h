/* watchloop.h - the event loop of `gatewayctl watch`, and how to plug into it.
 *
 * One poll(2) over the descriptors of every registered source, with a timeout
 * that is the nearest deadline any source (or a wanted repair) has; with
 * nothing scheduled it sleeps with an infinite timeout: no polling, no
 * wake-ups but events and timers. Nothing here knows about sites beyond the
 * two hooks below; watch.c wires the built-in sources (signals, the kernel's
 * notifications, the relay's pidfd) and the repair (watchrepair.c).
 *
 * A source is a struct wl_source given to wl_add() (copied; up to
 * WL_MAX_SOURCES). Every callback is optional:
 *
 *   fds(ctx, out, max)       the descriptors to wait on now: fill at most MAX
 *                            pollfds (fd, events), return how many. Asked
 *                            before every poll, so the set may change (c-ares
 *                            opens and closes sockets: resolver_pollfds()).
 *   deadline(ctx)            when to be called without an event, in
 *                            CLOCK_MONOTONIC milliseconds (mono_ms() of
 *                            proc.h), or WL_NEVER. Asked before every poll
 *                            (resolver_timeout_ms(), the next probe).
 *   ready(l, ctx, fds, n, now)  after every wake-up: the source's own pollfds
 *                            with their revents (in the order fds() gave them)
 *                            and the time; also called when its deadline
 *                            passed (revents all 0). Call wl_request() here
 *                            when what you saw means the kernel must change.
 *   prepare(ctx, site, why, len)  before every repair, on the freshly loaded
 *                            current configuration of the site (the loop
 *                            holds the site's lock): adjust it (a re-resolved
 *                            endpoint, the WAN's new address for
 *                            wan_address = auto). 0 to go on; -1 and a
 *                            sentence in WHY: the repair fails this time
 *                            (logged once, retried with backoff).
 *   after(ctx, site, result) after every repair attempt, lock still held:
 *                            RESULT is the number of changes applied (0: the
 *                            kernel already matched) or -1.
 *
 * Repairs: wl_request(l, why, urgent) asks for one. It runs WL_DEBOUNCE_MS
 * after the first request (one burst of events, one repair) or at once when
 * URGENT. A repair that fails is retried after 1 s, doubling up to 60 s;
 * requests meanwhile wait for that retry (a failing repair's own rollback
 * makes events too), urgent ones (SIGHUP) do not. A repair that finds the
 * site's lock taken by another gatewayctl retries after WL_BUSY_RETRY_MS
 * without counting as a failure.
 *
 * Example, a periodic probe (the "probe" source):
 *
 *   static uint64_t probe_deadline(void *ctx) { return ((struct probes *)ctx)->next; }
 *   static void probe_ready(struct wl *l, void *ctx, const struct pollfd *f, size_t n, uint64_t now)
 *   { struct probes *p = ctx; if (now >= p->next) { run them; p->next = now + interval; } }
 *   wl_add(loop, &(struct wl_source){ .name = "probe", .ctx = &probes,
 *          .deadline = probe_deadline, .ready = probe_ready });
 */
#ifndef GATEWAYCTL_WATCHLOOP_H
#define GATEWAYCTL_WATCHLOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct site;
struct wl;

#define WL_NEVER UINT64_MAX
#define WL_MAX_SOURCES 16
#define WL_MAX_FDS 64		/* pollfds of all sources together */
#define WL_DEBOUNCE_MS 5
#define WL_BUSY_RETRY_MS 100
#define WL_BACKOFF_MIN_MS 1000
#define WL_BACKOFF_MAX_MS 60000

struct wl_source {
	const char *name;	/* for messages: "netlink", "relay", "dns", "probe" */
	void *ctx;
	size_t (*fds)(void *ctx, struct pollfd *out, size_t max);
	uint64_t (*deadline)(void *ctx);
	void (*ready)(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now);
	int (*prepare)(void *ctx, struct site *site, char *why, size_t len);
	void (*after)(void *ctx, const struct site *site, int result);
};

/* What a repair returns to the loop. */
enum wl_result {
	WL_DONE,	/* the kernel matches (changed or not) */
	WL_FAILED,	/* back off and retry */
	WL_BUSY,	/* the lock is taken: retry soon */
};

struct wl {
	struct wl_source src[WL_MAX_SOURCES];
	size_t n_src;
	/* the repair: WHY is every reason asked since the last one ("; "-joined) */
	enum wl_result (*repair)(struct wl *l, void *ctx, const char *why);
	void *repair_ctx;
	uint64_t repair_at;	/* WL_NEVER: none wanted */
	uint64_t backoff_ms;	/* 0 while repairs succeed */
	char why[1024];
	uint64_t asked_at;	/* mono_ms() of the first request the next repair answers (0: none) */
	bool stop;
	unsigned long wakeups;	/* poll(2) returns */
};

/* An empty loop whose repairs call REPAIR(l, CTX, why). */
void wl_init(struct wl *l, enum wl_result (*repair)(struct wl *, void *, const char *), void *ctx);
/* Register S (copied). 0, or -ENOSPC. */
int wl_add(struct wl *l, const struct wl_source *s);
/* Ask for a repair, saying why (a short phrase: "route 192.168.2.0/24 deleted"). */
void wl_request(struct wl *l, const char *why, bool urgent);
/* End wl_run() after the current wake-up (from a ready callback: SIGTERM). */
void wl_stop(struct wl *l);
/* Run the sources' prepare hooks on SITE (for the repair). 0, or -1 with WHY. */
int wl_prepare(struct wl *l, struct site *site, char *why, size_t len);
/* And their after hooks. */
void wl_after(struct wl *l, const struct site *site, int result);
/* Poll and dispatch until wl_stop(). 0, or -errno when poll itself fails. */
int wl_run(struct wl *l);
/* The poll timeout for NOW given the nearest DEADLINE (-1: infinite), for
 * wl_run and the unit tests. */
int wl_timeout(uint64_t deadline, uint64_t now);

#endif
