/* budget.c - token buckets in datagrams and bytes, and a port's budget shared
 * fairly between senders (budget.h). */
#include "budget.h"

#include <string.h>

#define NS 1000000000ull
#define UDP_MAX 65507u	/* the largest datagram: one must always fit a bucket */

void limits_init(struct limits *l, unsigned rate, unsigned burst)
{
	l->rate = rate ? rate : 1;
	l->burst = burst ? burst : 1;
	l->byte_rate = l->rate * BUDGET_DATAGRAM_BYTES;
	l->byte_burst = l->burst * BUDGET_DATAGRAM_BYTES;
	if (l->byte_burst < BUDGET_MIN_BYTE_BURST)
		l->byte_burst = BUDGET_MIN_BYTE_BURST;
}

/* depth of a 1/DIV share, in units x NS */
static uint64_t depth(uint64_t burst, unsigned div, uint64_t at_least)
{
	uint64_t d = burst / (div ? div : 1);

	return (d < at_least ? at_least : d) * NS;
}

/* CREDIT after ELAPSED ns at RATE/DIV units per second, capped at MAX. Rates are
 * at most 1.5e9/s and depths 1.5e18 units x NS: no product here overflows. */
static uint64_t refill(uint64_t credit, uint64_t rate, unsigned div, uint64_t max, uint64_t elapsed)
{
	uint64_t per_s = rate * NS / (div ? div : 1), s = elapsed / NS, add;

	if (credit >= max)
		return max;
	if (per_s && s > (max - credit) / per_s)
		return max;
	add = s * per_s + (elapsed % NS) * rate / (div ? div : 1);
	return add >= max - credit ? max : credit + add;
}

static void fill(struct tbucket *b, const struct limits *l, unsigned div, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		uint64_t e = now_ns - b->last_ns;

		b->dg = refill(b->dg, l->rate, div, depth(l->burst, div, 1), e);
		b->by = refill(b->by, l->byte_rate, div, depth(l->byte_burst, div, UDP_MAX), e);
		b->last_ns = now_ns;
	} else {
		/* the share may have shrunk since: never more than its depth */
		uint64_t dmax = depth(l->burst, div, 1), bmax = depth(l->byte_burst, div, UDP_MAX);

		if (b->dg > dmax)
			b->dg = dmax;
		if (b->by > bmax)
			b->by = bmax;
	}
}

void tbucket_init(struct tbucket *b, const struct limits *l, unsigned div, uint64_t now_ns)
{
	b->dg = depth(l->burst, div, 1);
	b->by = depth(l->byte_burst, div, UDP_MAX);
	b->last_ns = now_ns;
}

static bool has(const struct tbucket *b, size_t len, uint64_t dg_reserve, uint64_t by_reserve)
{
	return b->dg >= NS + dg_reserve && b->by >= (uint64_t)len * NS + by_reserve;
}

static void take(struct tbucket *b, size_t len)
{
	b->dg -= NS;
	b->by -= (uint64_t)len * NS;
}

bool tbucket_take(struct tbucket *b, const struct limits *l, unsigned div, size_t len, uint64_t now_ns)
{
	fill(b, l, div, now_ns);
	if (!has(b, len, 0, 0))
		return false;
	take(b, len);
	return true;
}

/* --- fair share ------------------------------------------------------------------- */

void fair_init(struct fair *f, const struct limits *l, uint64_t now_ns)
{
	memset(f, 0, sizeof(*f));
	f->lim = *l;
	tbucket_init(&f->total, l, 1, now_ns);
	f->active = 1;
	f->counted_ns = now_ns;
}

static bool active(const struct sender *s, uint64_t now_ns)
{
	return s->used && now_ns - s->seen_ns < FAIR_ACTIVE_NS;
}

static void recount(struct fair *f, uint64_t now_ns)
{
	unsigned n = active(&f->others, now_ns);

	for (size_t i = 0; i < FAIR_SENDERS; i++)
		n += active(&f->senders[i], now_ns);
	f->active = n ? n : 1;
	f->counted_ns = now_ns;
}

/* ADDR's entry: found, a free or long idle one taken over (*FRESH), or the
 * one shared by those that found no room */
static struct sender *sender(struct fair *f, uint32_t addr, uint64_t now_ns, bool *fresh)
{
	struct sender *s = NULL;

	*fresh = false;
	for (size_t i = 0; i < FAIR_SENDERS; i++) {
		struct sender *c = &f->senders[i];

		if (c->used && c->addr == addr)
			return c;
		if (!c->used) {
			if (!s || s->used)
				s = c;
		} else if ((!s || s->used) && now_ns - c->seen_ns >= 2 * FAIR_ACTIVE_NS &&
			   (!s || c->seen_ns < s->seen_ns)) {
			s = c;
		}
	}
	if (!s)
		s = &f->others;
	if (s == &f->others && s->used)
		return s;
	*fresh = true;
	s->used = true;
	s->addr = addr;
	return s;
}

bool fair_take(struct fair *f, uint32_t addr, size_t len, uint64_t now_ns)
{
	struct sender *s;
	bool own, fresh;

	if (now_ns - f->counted_ns >= FAIR_RECOUNT_NS)
		recount(f, now_ns);
	s = sender(f, addr, now_ns, &fresh);
	/* a newcomer counts at once: its share, and everybody else's, is 1/(N+1) */
	if (fresh || !active(s, now_ns))
		f->active++;
	s->seen_ns = now_ns;
	if (fresh)
		tbucket_init(&s->b, &f->lim, f->active, now_ns);
	own = tbucket_take(&s->b, &f->lim, f->active, len, now_ns);
	fill(&f->total, &f->lim, 1, now_ns);
	if (own) {
		if (!has(&f->total, len, 0, 0))
			return false;	/* the port's budget is spent: even a share waits */
		take(&f->total, len);
		return true;
	}
	/* beyond its share: only from what the port's bucket holds above half */
	if (!has(&f->total, len, depth(f->lim.burst, 1, 1) / 2, depth(f->lim.byte_burst, 1, UDP_MAX) / 2))
		return false;
	take(&f->total, len);
	return true;
}
