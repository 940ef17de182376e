/* endpoints_source.c - the "dns" source of `gatewayctl watch`: the site's
 * endpoint names re-resolved at their TTL (endpoints_watch.h) on the watch
 * loop (watchloop.h); an answer that moves a peer asks for a repair, whose
 * prepare hook puts the accepted addresses into the freshly loaded site. */
#include <syslog.h>

#include "endpoints_watch.h"
#include "proc.h"
#include "watch.h"

struct dns_source {
	struct ew ew;
	const struct watch *w;
};

/* one per watcher process, for its whole life */
static struct dns_source dns;

static void dns_log(void *arg, bool warning, const char *text)
{
	const struct dns_source *d = arg;

	watch_log(d->w, warning ? LOG_WARNING : LOG_NOTICE, "%s", text);
}

static size_t dns_fds(void *ctx, struct pollfd *out, size_t max)
{
	return ew_fds(&((struct dns_source *)ctx)->ew, out, max);
}

static uint64_t dns_deadline(void *ctx)
{
	uint64_t t = ew_deadline(&((struct dns_source *)ctx)->ew);

	return t == UINT64_MAX ? WL_NEVER : t;
}

static void dns_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	if (ew_ready(&((struct dns_source *)ctx)->ew, fds, n, now))
		wl_request(l, "a peer's endpoint name resolves to another address", false);
}

static int dns_prepare(void *ctx, struct site *site, char *why, size_t len)
{
	(void)why;
	(void)len;
	ew_prepare(&((struct dns_source *)ctx)->ew, site);
	return 0;
}

static void dns_after(void *ctx, const struct site *site, int result)
{
	ew_after(&((struct dns_source *)ctx)->ew, site, result, mono_ms());
}

int endpoints_source_add(const struct watch *w, struct wl *loop)
{
	int r;

	dns.w = w;
	if ((r = ew_init(&dns.ew, dns_log, &dns)) < 0) {
		watch_log(w, LOG_WARNING, "endpoint names will not be looked up again: %s", dns.ew.error);
		return r;
	}
	return wl_add(loop, &(struct wl_source){ .name = "dns", .ctx = &dns, .fds = dns_fds,
						 .deadline = dns_deadline, .ready = dns_ready,
						 .prepare = dns_prepare, .after = dns_after });
}
