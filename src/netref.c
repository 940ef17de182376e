/* netref.c - peers' networks sorted for overlap searches (netref.h); moved
 * from config.c (IPv4) and config6.c (IPv6) */
#include "netref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_ref_cmp(const void *a, const void *b)
{
	const struct net_ref *x = a, *y = b;

	if (x->net.addr != y->net.addr)
		return x->net.addr < y->net.addr ? -1 : 1;
	if (x->net.len != y->net.len)
		return x->net.len < y->net.len ? -1 : 1;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

/* Position of the first reference >= (ADDR, LEN) */
static size_t net_ref_lower(const struct net_ref *v, size_t n, uint32_t addr, uint8_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].net.addr < addr || (v[mid].net.addr == addr && v[mid].net.len < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int match_cmp(const void *a, const void *b)
{
	const struct net_ref *x = *(const struct net_ref *const *)a, *y = *(const struct net_ref *const *)b;

	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

/* The references of V that contain ADDR (as a host) or, with OF, that overlap
 * the network OF, into OUT (sorted by peer, then by position in the peer's
 * list, as the messages come in that order). Returns the count. */
size_t net_matches(const struct net_ref *v, size_t n, struct net4 of, bool host,
			  const struct net_ref **out, size_t cap)
{
	size_t m = 0;
	uint8_t top = host ? 32 : of.len;

	/* networks that contain it: one exact search per shorter prefix length */
	for (int len = 1; len <= top; len++) {
		uint32_t a = of.addr & net4_mask((uint8_t)len);

		if (!host && len == of.len)
			break;
		for (size_t i = net_ref_lower(v, n, a, (uint8_t)len); i < n && v[i].net.addr == a &&
		     v[i].net.len == len && m < cap; i++)
			out[m++] = &v[i];
	}
	/* networks inside it (itself included) */
	if (!host)
		for (size_t i = net_ref_lower(v, n, of.addr, of.len); i < n && v[i].net.addr <= net4_broadcast(of) &&
		     m < cap; i++)
			if (v[i].net.len >= of.len)
				out[m++] = &v[i];
	qsort(out, m, sizeof(*out), match_cmp);
	return m;
}

/* ---- IPv6 ---- */

static int ref6_cmp(const void *a, const void *b)
{
	const struct ref6 *x = a, *y = b;
	int c = memcmp(x->net.addr, y->net.addr, 16);

	if (c)
		return c;
	if (x->net.len != y->net.len)
		return x->net.len < y->net.len ? -1 : 1;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

/* the first reference >= (ADDR, LEN) */
static size_t ref6_lower(const struct ref6 *v, size_t n, const uint8_t addr[16], uint8_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(v[mid].net.addr, addr, 16);

		if (c < 0 || (c == 0 && v[mid].net.len < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int match6_cmp(const void *a, const void *b)
{
	const struct ref6 *x = *(const struct ref6 *const *)a, *y = *(const struct ref6 *const *)b;

	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

size_t nets6_matches(struct nets6 *s, struct net6 of, bool host)
{
	size_t m = 0;
	int top = host ? 128 : of.len - 1;

	for (int len = 1; len <= top; len++) {	/* networks that contain it */
		struct net6 a = { .len = (uint8_t)len };

		if (!s->lens[len])
			continue;
		memcpy(a.addr, of.addr, 16);
		a = net6_network(a);
		for (size_t i = ref6_lower(s->v, s->n, a.addr, a.len); i < s->n && s->v[i].net.len == len &&
		     ip6_equal(s->v[i].net.addr, a.addr); i++)
			s->found[m++] = &s->v[i];
	}
	if (!host)	/* networks inside it, itself included */
		for (size_t i = ref6_lower(s->v, s->n, of.addr, of.len); i < s->n && net6_contains(of, s->v[i].net.addr);
		     i++)
			if (s->v[i].net.len >= of.len)
				s->found[m++] = &s->v[i];
	qsort(s->found, m, sizeof(*s->found), match6_cmp);
	return m;
}

void nets6_build(struct nets6 *s, const struct site *site)
{
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < site->n_peers; i++)
		n += site->peers[i].n_networks6;
	s->v = calloc(n ? n : 1, sizeof(*s->v));
	s->found = calloc(n ? n : 1, sizeof(*s->found));
	if (!s->v || !s->found) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < site->n_peers; i++)
		for (size_t k = 0; k < site->peers[i].n_networks6; k++) {
			s->v[s->n++] = (struct ref6){ site->peers[i].networks6[k], (uint32_t)i, (uint32_t)k };
			s->lens[site->peers[i].networks6[k].len] = true;
		}
	qsort(s->v, s->n, sizeof(*s->v), ref6_cmp);
}

void nets6_free(struct nets6 *s)
{
	free(s->v);
	free(s->found);
	s->v = NULL;
	s->found = NULL;
}
