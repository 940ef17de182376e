/* peerfailover.c - a peer with several endpoints (`endpoint = A, B`, or a name
 * with several addresses) that stops answering the watcher's probes moves to
 * its next endpoint (see peerwatch.h). The choice is recorded as the peer's
 * endpoint in use in the site's state under the site's lock, by the loop's
 * prepare hook, right before the repair that applies it: the repair's
 * endpoints_fill() keeps a recorded address that is still among the choices. */
#define _GNU_SOURCE
#include "peerwatch.h"

#include <string.h>
#include <syslog.h>

#include "state.h"
#include "watchloop.h"

void pw_choices(struct pw_peer *p, const struct peer *sp)
{
	p->n_choices = 0;
	for (size_t e = 0; e < sp->n_eps; e++) {
		const struct endpoint_item *it = &sp->eps[e];
		size_t n = it->name ? it->n_addrs : 1;

		for (size_t k = 0; k < n && p->n_choices < PW_CHOICES; k++)
			p->choices[p->n_choices++] = it->name ? it->addrs[k] : it->addr;
	}
}

uint32_t pw_next_choice(const struct pw_peer *p)
{
	if (p->n_choices < 2)
		return 0;
	for (unsigned i = 0; i < p->n_choices; i++)
		if (p->choices[i] == p->endpoint)
			return p->choices[(i + 1) % p->n_choices];
	return p->choices[0];
}

bool pw_failover(struct peerwatch *pw, struct pw_peer *p)
{
	char ip[16], to[16], why[160];
	uint32_t next = pw_next_choice(p);

	if (!next || next == p->endpoint || !pw->loop)
		return false;
	p->failover_to = next;
	syslog(LOG_WARNING, "site %s: peer %s does not answer through endpoint %s: trying its next endpoint %s",
	       pw->site, p->name, ip4_str(p->endpoint, ip), ip4_str(next, to));
	snprintf(why, sizeof(why), "peer %s: failover to endpoint %s", p->name, to);
	wl_request(pw->loop, why, false);
	return true;
}

/* Record P's failover choice in ST as its endpoint in use. */
static void record(struct state *st, const struct pw_peer *p)
{
	struct state_endpoint *e = state_endpoint(st, p->name);

	if (!e)
		return;
	e->addr = p->failover_to;
	e->ike_base = 0;	/* one of the file's choices */
}

static size_t record_all(struct state *st, void *arg)
{
	const struct peerwatch *pw = arg;
	size_t n = 0;

	for (size_t i = 0; i < pw->n; i++)
		if (pw->p[i].failover_to) {
			record(st, &pw->p[i]);
			n++;
		}
	return n;
}

int peerwatch_prepare(void *ctx, struct site *site, char *why, size_t len)
{
	struct peerwatch *pw = ctx;
	bool any = false;

	for (size_t i = 0; i < pw->n; i++)
		any |= pw->p[i].failover_to != 0;
	if (!any)
		return 0;
	/* on failure the failovers stay pending: the repair's retry records them */
	if (state_update(site->name, "the peers' next endpoints", record_all, pw, why, len) < 0)
		return -1;
	for (size_t i = 0; i < pw->n; i++)
		pw->p[i].failover_to = 0;
	return 0;
}
