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
	p->v6 = sp->endpoint_v6;
	for (size_t e = 0; e < sp->n_eps; e++) {
		const struct endpoint_item *it = &sp->eps[e];
		size_t n = it->name ? it->n_addrs : 1;

		for (size_t k = 0; k < n && p->n_choices < PW_CHOICES; k++) {
			memcpy(p->choices6[p->n_choices], it->name ? it->addrs6[k] : it->addr6, 16);
			p->choices[p->n_choices++] = it->name ? it->addrs[k] : it->addr;
		}
	}
}

bool pw_next_choice6(const struct pw_peer *p, uint8_t out[16])
{
	unsigned i;

	memset(out, 0, 16);
	if (!p->v6 || p->n_choices < 2)
		return false;
	for (i = 0; i < p->n_choices && !ip6_equal(p->choices6[i], p->endpoint6); i++)
		;
	memcpy(out, p->choices6[i < p->n_choices ? (i + 1) % p->n_choices : 0], 16);
	return true;
}

bool pw_failover_pending(const struct pw_peer *p)
{
	return p->failover_to || !ip6_zero(p->failover_to6);
}

uint32_t pw_next_choice(const struct pw_peer *p)
{
	if (p->v6 || p->n_choices < 2)
		return 0;
	for (unsigned i = 0; i < p->n_choices; i++)
		if (p->choices[i] == p->endpoint)
			return p->choices[(i + 1) % p->n_choices];
	return p->choices[0];
}

/* P's next choice into failover_to (or failover_to6), its text into FROM and TO */
static bool next_choice(struct pw_peer *p, char *from, char *to)
{
	uint8_t next6[16];
	uint32_t next = pw_next_choice(p);

	if (p->v6) {
		if (!pw_next_choice6(p, next6) || ip6_equal(next6, p->endpoint6))
			return false;
		memcpy(p->failover_to6, next6, 16);
		ip6_str(p->endpoint6, from);
		ip6_str(next6, to);
		return true;
	}
	if (!next || next == p->endpoint)
		return false;
	p->failover_to = next;
	ip4_str(p->endpoint, from);
	ip4_str(next, to);
	return true;
}

bool pw_failover(struct peerwatch *pw, struct pw_peer *p)
{
	char ip[IP6_STRLEN], to[IP6_STRLEN], why[160];

	if (!pw->loop || !next_choice(p, ip, to))
		return false;
	syslog(LOG_WARNING, "site %s: peer %s does not answer through endpoint %s: trying its next endpoint %s",
	       pw->site, p->name, ip, to);
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
	e->v6 = p->v6;
	memcpy(e->addr6, p->failover_to6, 16);
	e->ike_base = 0;	/* one of the file's choices */
	memset(e->ike_base6, 0, 16);
}

static size_t record_all(struct state *st, void *arg)
{
	const struct peerwatch *pw = arg;
	size_t n = 0;

	for (size_t i = 0; i < pw->n; i++)
		if (pw_failover_pending(&pw->p[i])) {
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
		any |= pw_failover_pending(&pw->p[i]);
	if (!any)
		return 0;
	/* on failure the failovers stay pending: the repair's retry records them */
	if (state_update(site->name, "the peers' next endpoints", record_all, pw, why, len) < 0)
		return -1;
	for (size_t i = 0; i < pw->n; i++) {
		pw->p[i].failover_to = 0;
		memset(pw->p[i].failover_to6, 0, 16);
	}
	return 0;
}
