/* endpoints_watch.c - endpoint names re-resolved at their TTL by a watcher
 * (endpoints_watch.h) */
#include "endpoints_watch.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoints.h"
#include "resolve.h"

struct ew_name {
	char peer[SITE_NAME_MAX + 1];
	char name[DNS_NAME_MAX + 2];
	bool v6;				/* the peer's endpoint is IPv6: AAAA, ADDRS6 */
	uint32_t addrs[ENDPOINT_ADDRS_MAX];	/* accepted: what the site uses */
	uint8_t addrs6[ENDPOINT_ADDRS_MAX][16];
	size_t n;
	unsigned ttl;
	struct resolved fresh;			/* the last answer, not taken yet */
	bool have_fresh;
	uint32_t in_use;			/* the peer's endpoint at the last repair */
	uint8_t in_use6[16];
	uint64_t due;				/* look it up again then (mono ms) */
	bool in_flight, failing, seen;
	char refused[200];			/* the refusal last logged */
};

/* the time of the wake-up being processed, for the callbacks */
static uint64_t ew_now;

static void say(struct ew *w, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct ew *w, bool warning, const char *fmt, ...)
{
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (w->log)
		w->log(w->log_arg, warning, text);
}

int ew_init(struct ew *w, ew_log_fn log, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->log = log;
	w->log_arg = arg;
	return resolver_new(&w->res, w->error, sizeof(w->error));
}

void ew_free(struct ew *w)
{
	if (w->res)
		resolver_free(w->res);	/* lookups in flight end as -ECANCELED */
	free(w->names);
	w->names = NULL;
	w->n = 0;
	w->res = NULL;
}

size_t ew_fds(struct ew *w, struct pollfd *out, size_t max)
{
	int n = w->res ? resolver_pollfds(w->res, out, max > 64 ? 64 : (int)max) : 0;

	return n > 0 ? (size_t)n : 0;
}

uint64_t ew_deadline(const struct ew *w)
{
	uint64_t next = UINT64_MAX;
	int t;

	for (size_t i = 0; i < w->n; i++)
		if (!w->names[i].in_flight && w->names[i].due < next)
			next = w->names[i].due;
	if (w->res && (t = resolver_timeout_ms(w->res)) >= 0 && ew_now + (uint64_t)t < next)
		next = ew_now + (uint64_t)t;
	return next;
}

/* Whether the set V (IPv4) or V6 (with IS6) of N holds A or A6 */
static bool has(bool is6, const uint32_t *v, const uint8_t (*v6)[16], size_t n, uint32_t a, const uint8_t *a6)
{
	for (size_t i = 0; i < n; i++)
		if (is6 ? ip6_equal(v6[i], a6) : v[i] == a)
			return true;
	return false;
}

/* Whether answer RES holds E's address in use */
static bool has_in_use(const struct ew_name *e, const struct resolved *res)
{
	return has(e->v6, res->addr, res->addr6, res->n, e->in_use, e->in_use6);
}

/* Whether answer RES is E's accepted set */
static bool same_set(const struct ew_name *e, const struct resolved *res)
{
	if (res->n != e->n)
		return false;
	for (size_t i = 0; i < res->n; i++)
		if (!has(e->v6, e->addrs, e->addrs6, e->n, res->addr[i], res->addr6[i]))
			return false;
	return true;
}

static const char *addr_str(bool is6, uint32_t a, const uint8_t *a6, char *buf)
{
	return is6 ? ip6_str(a6, buf) : ip4_str(a, buf);
}

/* An answer for NAME: every entry of that name waiting for it takes it. */
static void answered(const char *name, const struct resolved *res, void *arg)
{
	struct ew *w = arg;
	char a[IP6_STRLEN];

	for (size_t i = 0; i < w->n; i++) {
		struct ew_name *e = &w->names[i];

		if (!e->in_flight || strcasecmp(e->name, name))
			continue;
		e->in_flight = false;
		if (res->status == -ECANCELED)
			continue;
		if (res->status < 0) {
			if (!e->failing)
				say(w, true, "endpoint %s of peer %s does not resolve (%s): keeping %s, asking again "
				    "every %d s; logged again when it answers", e->name, e->peer, res->error,
				    addr_str(e->v6, e->in_use, e->in_use6, a), RESOLVE_TTL_MIN);
			e->failing = true;
			e->due = ew_now + RESOLVE_TTL_MIN * 1000u;
			continue;
		}
		if (e->failing)
			say(w, false, "endpoint %s of peer %s resolves again", e->name, e->peer);
		e->failing = false;
		e->due = ew_now + res->ttl * 1000u;
		if (same_set(e, res) && !e->have_fresh) {
			e->ttl = res->ttl;
			continue;
		}
		e->fresh = *res;
		e->have_fresh = true;
		/* a repair only when the address in use is gone from the answer */
		w->changed |= !has_in_use(e, res);
	}
}

bool ew_ready(struct ew *w, const struct pollfd *fds, size_t n, uint64_t now)
{
	bool changed;

	ew_now = now;
	if (!w->res)
		return false;
	resolver_process(w->res, fds, (int)n);
	for (size_t i = 0; i < w->n; i++) {
		struct ew_name *e = &w->names[i];

		if (e->in_flight || now < e->due)
			continue;
		e->in_flight = true;
		if (resolver_start_af(w->res, e->name, e->v6 ? AF_INET6 : AF_INET, answered, w) < 0) {
			e->in_flight = false;
			e->due = now + RESOLVE_TTL_MIN * 1000u;
		}
	}
	changed = w->changed;
	w->changed = false;
	return changed;
}

static struct ew_name *find(struct ew *w, const char *peer, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->names[i].peer, peer) && !strcasecmp(w->names[i].name, name))
			return &w->names[i];
	return NULL;
}

/* E's fresh answer checked against SITE: accepted into E, or refused (logged once) */
static void take_fresh(struct ew *w, struct ew_name *e, const struct site *site, const struct peer *p)
{
	char why[160], a[IP6_STRLEN], old[IP6_STRLEN], msg[200];
	const struct resolved *f = &e->fresh;

	e->have_fresh = false;
	for (size_t k = 0; k < f->n; k++) {
		uint32_t addr = f->addr[k];

		if ((e->v6 ? endpoints_refused6(site, p, f->addr6[k], why, sizeof(why)) :
			     endpoints_refused(site, p, addr, why, sizeof(why))) ||
		    (!e->v6 && w->wan && addr == w->wan && snprintf(why, sizeof(why), "this gateway's own address"))) {
			snprintf(msg, sizeof(msg), "%s %s", addr_str(e->v6, addr, f->addr6[k], a), why);
			if (strcmp(e->refused, msg))
				say(w, true, "endpoint %s of peer %s now resolves to %s, %s: refused, keeping %s",
				    e->name, e->peer, a, why, addr_str(e->v6, e->in_use, e->in_use6, old));
			snprintf(e->refused, sizeof(e->refused), "%s", msg);
			return;
		}
	}
	e->refused[0] = '\0';
	if (!has_in_use(e, f))
		say(w, false, "endpoint %s of peer %s moved: %s now (was %s, TTL %u s)", e->name, e->peer,
		    addr_str(e->v6, f->addr[0], f->addr6[0], a), addr_str(e->v6, e->in_use, e->in_use6, old), f->ttl);
	e->n = f->n < ENDPOINT_ADDRS_MAX ? f->n : ENDPOINT_ADDRS_MAX;
	memcpy(e->addrs, f->addr, e->n * sizeof(e->addrs[0]));
	memcpy(e->addrs6, f->addr6, e->n * 16);
	e->ttl = f->ttl;
}

void ew_prepare(struct ew *w, struct site *site)
{
	for (size_t i = 0; i < site->n_peers; i++) {
		struct peer *p = &site->peers[i];
		uint32_t keep = 0;
		uint8_t keep6[16] = { 0 };
		bool all = true;

		for (size_t k = 0; k < p->n_eps; k++) {
			struct endpoint_item *it = &p->eps[k];
			struct ew_name *e = it->name ? find(w, p->name, it->name) : NULL;

			if (!it->name)
				continue;
			if (!e || !e->n) {
				all = false;	/* new: the engine resolves it */
				continue;
			}
			if (e->have_fresh)
				take_fresh(w, e, site, p);
			it->n_addrs = e->n;
			memcpy(it->addrs, e->addrs, e->n * sizeof(it->addrs[0]));
			memcpy(it->addrs6, e->addrs6, e->n * 16);
			it->ttl = e->ttl;
			keep = e->in_use;
			memcpy(keep6, e->in_use6, 16);
		}
		if (p->endpoint_named && all && p->endpoint_v6)
			endpoints_choose6(p, keep6, p->endpoint6);
		else if (p->endpoint_named && all)
			p->endpoint = endpoints_choose(p, keep);
	}
	site->endpoints_chosen = w->n > 0;
}

/* Add an entry for peer P's name IT, or refresh the known one from the site. */
static void learn(struct ew *w, const struct peer *p, const struct endpoint_item *it, uint64_t now)
{
	struct ew_name *e = find(w, p->name, it->name);

	if (!e) {
		struct ew_name *v = realloc(w->names, (w->n + 1) * sizeof(*v));

		if (!v)
			return;	/* not watched: the next repair resolves it again */
		w->names = v;
		e = &w->names[w->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->peer, sizeof(e->peer), "%s", p->name);
		snprintf(e->name, sizeof(e->name), "%s", it->name);
		e->due = now + it->ttl * 1000u;
	}
	if (!e->have_fresh) {
		e->n = it->n_addrs;
		memcpy(e->addrs, it->addrs, it->n_addrs * sizeof(e->addrs[0]));
		memcpy(e->addrs6, it->addrs6, it->n_addrs * 16);
		e->ttl = it->ttl;
	}
	e->v6 = p->endpoint_v6;
	e->in_use = p->endpoint;
	memcpy(e->in_use6, p->endpoint6, 16);
	e->seen = true;
}

void ew_after(struct ew *w, const struct site *site, int result, uint64_t now)
{
	size_t kept = 0;

	if (result < 0)
		return;
	w->wan = site->wan_address.addr;
	for (size_t i = 0; i < w->n; i++)
		w->names[i].seen = false;
	for (size_t i = 0; i < site->n_peers; i++)
		for (size_t k = 0; k < site->peers[i].n_eps; k++)
			if (site->peers[i].eps[k].name && site->peers[i].eps[k].n_addrs)
				learn(w, &site->peers[i], &site->peers[i].eps[k], now);
	/* names gone from the site: forgotten (an answer in flight finds nobody) */
	for (size_t i = 0; i < w->n; i++)
		if (w->names[i].seen)
			w->names[kept++] = w->names[i];
	w->n = kept;
}
