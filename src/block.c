/* block.c - the xfrm block policies that keep an ipsec peer's tunnel packets
 * (IPIP, 6in4, 4in6, 6in6) from leaving or entering in clear when neither
 * charon nor nftables protects them */
#define _GNU_SOURCE
#include "block.h"
#include "apply.h"
#include "gatewayctl.h"
#include "ipsec_conn.h"
#include "model.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <stdlib.h>
#include <string.h>

uint32_t block_priority(const char *site)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (const unsigned char *c = (const unsigned char *)site; *c; c++)
		h = (h ^ *c) * 16777619u;
	return XFRM_BLOCK_PRIO_BASE | ((h ^ (h >> 16)) & 0xffffu);
}

int block_wanted(const struct site *s, const struct peer *p, struct xfrm_pol out[BLOCK_PER_PEER])
{
	static const uint8_t dirs[] = { XFRM_POLICY_OUT, XFRM_POLICY_OUT, XFRM_POLICY_IN, XFRM_POLICY_IN };
	uint32_t prio = block_priority(s->name);
	uint8_t protos[IPSEC_PROTOCOLS_MAX];
	size_t np = ipsec_protocols(p, protos);
	int n = 0;

	for (size_t i = 0; i < np; i++)
		for (int k = 0; k < 4; k++, n++) {
			uint32_t mark = k % 2 ? XFRM_BLOCK_MARK : 0;

			if (p->endpoint_v6)
				xfrm_block_pol6(&out[n], s->wan_address6.addr, p->endpoint6, protos[i], dirs[k], mark,
						prio);
			else
				xfrm_block_pol(&out[n], s->wan_address.addr, p->endpoint, protos[i], dirs[k], mark, prio);
		}
	return n;
}

/* P's selector addresses as text, either family */
static void pol_addrs(const struct xfrm_pol *p, char src[IP6_STRLEN], char dst[IP6_STRLEN])
{
	if (p->family == AF_INET6) {
		ip6_str(p->src6, src);
		ip6_str(p->dst6, dst);
	} else {
		ip4_str(p->src, src);
		ip4_str(p->dst, dst);
	}
}

/* The `ip xfrm policy` command for P (VERB add or delete) into BUF. A
 * deletion names the policy by its index: iproute2 drops a mark of value 0
 * from a delete by selector, which would then take charon's policy. */
static const char *pol_text(const struct xfrm_pol *p, const char *verb, char *buf, size_t len)
{
	char a[IP6_STRLEN], b[IP6_STRLEN];
	const char *dir = p->dir == XFRM_POLICY_OUT ? "out" : p->dir == XFRM_POLICY_IN ? "in" : "fwd";

	pol_addrs(p, a, b);
	if (!strcmp(verb, "add"))
		snprintf(buf, len, "ip xfrm policy add src %s/%u dst %s/%u proto %u dir %s action block "
			 "priority %u mark %#x mask %#x", a, p->src_len, b, p->dst_len, p->proto, dir, p->priority,
			 p->mark_v, p->mark_m);
	else
		snprintf(buf, len, "ip xfrm policy %s dir %s index %u   # block src %s/%u dst %s/%u proto %u "
			 "mark %#x/%#x", verb, dir, p->index, a, p->src_len, b, p->dst_len, p->proto, p->mark_v,
			 p->mark_m);
	return buf;
}

static int pol_cmp(const void *x, const void *y)
{
	const struct xfrm_pol *a = x, *b = y;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	if (a->dst != b->dst)
		return a->dst < b->dst ? -1 : 1;
	if ((c = memcmp(a->src6, b->src6, 16)) || (c = memcmp(a->dst6, b->dst6, 16)))
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	if (a->mark_v != b->mark_v)
		return a->mark_v < b->mark_v ? -1 : 1;
	return 0;
}

void block_live_read(const struct site *s, struct block_live *bl)
{
	struct xfrm_pol *all = NULL, *ours;
	uint32_t prio = block_priority(s->name), pr;
	size_t n_all = 0, n_ours = 0;
	bool *used;
	struct nl x;
	int r;

	memset(bl, 0, sizeof(*bl));
	bl->have = calloc(s->n_peers ? s->n_peers : 1, sizeof(*bl->have));
	for (size_t i = 0; i < s->n_peers; i++) {
		struct xfrm_pol w[BLOCK_PER_PEER];

		if (s->peers[i].encryption == ENC_IPSEC)
			bl->wanted += (unsigned)block_wanted(s, &s->peers[i], w);
	}
	if ((r = nl_open(&x, NETLINK_XFRM)) < 0) {
		snprintf(bl->error, sizeof(bl->error), "cannot open NETLINK_XFRM: %s", strerror(-r));
		/* no xfrm in this kernel: no policy can exist */
		bl->failed = r != -EPROTONOSUPPORT;
		return;
	}
	r = xfrm_pols(&x, &all, &n_all);
	if (r < 0) {
		snprintf(bl->error, sizeof(bl->error), "reading the xfrm policies: %s", nl_strerror(&x));
		/* without CAP_NET_ADMIN (plan, status as a user) they stay unknown */
		bl->failed = r != -EPERM && r != -EACCES;
	}
	nl_close(&x);
	if (r < 0 || !bl->have)
		return;
	bl->read = true;
	/* the site's own: our shape and the site's priority, sorted for lookups */
	ours = all;
	for (size_t i = 0; i < n_all; i++)
		if (xfrm_block_shape(&all[i], &pr) && pr == prio)
			ours[n_ours++] = all[i];
	if (n_ours)
		qsort(ours, n_ours, sizeof(*ours), pol_cmp);
	used = calloc(n_ours ? n_ours : 1, sizeof(*used));
	for (size_t i = 0; used && i < s->n_peers; i++) {
		struct xfrm_pol w[BLOCK_PER_PEER];
		int nw;

		if (s->peers[i].encryption != ENC_IPSEC)
			continue;
		nw = block_wanted(s, &s->peers[i], w);
		for (int k = 0; k < nw; k++) {
			const struct xfrm_pol *f = n_ours ? bsearch(&w[k], ours, n_ours, sizeof(*ours), pol_cmp) : NULL;

			if (!f)
				continue;
			bl->have[i] |= (uint8_t)(1u << k);
			bl->present++;
			used[f - ours] = true;
		}
	}
	bl->stale = calloc(n_ours ? n_ours : 1, sizeof(*bl->stale));
	for (size_t i = 0; used && bl->stale && i < n_ours; i++)
		if (!used[i])
			bl->stale[bl->n_stale++] = ours[i];
	free(used);
	free(all);
}

void block_live_free(struct block_live *bl)
{
	free(bl->have);
	free(bl->stale);
	memset(bl, 0, sizeof(*bl));
}

/* The step adding peer P's MISSING policies (bits of block_wanted's order) */
static void block_add_step(struct plan *plan, const struct site *s, const struct peer *p, unsigned missing,
			   const struct block_live *bl, bool why)
{
	struct xfrm_pol w[BLOCK_PER_PEER];
	int nw = block_wanted(s, p, w);
	char line[200], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct step *st;

	for (int k = 0; f && k < nw; k++)
		if (missing & (1u << k))
			fprintf(f, "%s\n", pol_text(&w[k], "add", line, sizeof(line)));
	if (f)
		fclose(f);
	st = plan_add_step(plan, STEP_BLOCK_ADD, "%s", text ? text : "");
	free(text);
	st->peer = p;
	st->value = missing;
	if (!why)
		return;
	if (!bl->read)
		step_why(st, "peer %s: its xfrm block policies cannot be read: %s", p->name, bl->error);
	else
		step_why(st, "peer %s: %s xfrm block policies for IP protocol%s missing: without charon's "
			 "policies its tunnel would cross in clear", p->name,
			 missing == (1u << nw) - 1 ? "its" : "some of its", nw > 4 ? "s 4 and 41" : " 4");
}

void block_plan(struct plan *plan, const struct site *s, const struct live *live)
{
	const struct block_live *bl = live ? &live->block : NULL;
	char line[200];

	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		struct xfrm_pol w[BLOCK_PER_PEER];
		int nw = block_wanted(s, p, w);
		unsigned missing = 0;

		if (p->encryption != ENC_IPSEC)
			continue;
		for (int k = 0; k < nw; k++)
			if (!bl || !bl->read || !(bl->have[i] & (1u << k)))
				missing |= 1u << k;
		if (missing)
			block_add_step(plan, s, p, missing, bl, live != NULL);
	}
	for (size_t i = 0; bl && i < bl->n_stale; i++) {
		char a[IP6_STRLEN], b[IP6_STRLEN];
		const struct xfrm_pol *sp = &bl->stale[i];
		struct step *st = plan_add_step(plan, STEP_BLOCK_DEL, "%s", pol_text(sp, "delete", line, sizeof(line)));

		st->pol = *sp;
		pol_addrs(sp, a, b);
		step_why(st, "xfrm block policy for IP protocol %u towards %s is for no ipsec peer of the file any more",
			 sp->proto, sp->dir == XFRM_POLICY_OUT ? b : a);
	}
}

static const char *block_hint(int err)
{
	if (err == -EEXIST)
		return "an xfrm policy with the same selector, direction and mark exists that "
		       "gatewayctl did not make (see `ip xfrm policy`): remove it";
	if (err == -EPROTONOSUPPORT || err == -EAFNOSUPPORT || err == -ENOENT)
		return "this kernel lacks xfrm (IPsec): load it with `modprobe xfrm_user`";
	return NULL;
}

static int block_open(struct apply *a, struct step *st, struct nl *x)
{
	int r = nl_open(x, NETLINK_XFRM);

	if (r < 0) {
		char detail[200];

		snprintf(detail, sizeof(detail), "cannot open NETLINK_XFRM: %s%s%s", strerror(-r),
			 block_hint(r) ? "; " : "", block_hint(r) ? block_hint(r) : "");
		apply_report_failure(a, st, r, NULL, detail);
	}
	return r;
}

int block_apply(struct apply *a)
{
	struct nl x;
	bool open = false;
	int r = 0;

	/* additions first: nothing is unprotected at any moment */
	for (int pass = 0; pass < 2 && r == 0; pass++) {
		for (size_t i = 0; i < a->plan->n && r == 0; i++) {
			struct step *st = &a->plan->steps[i];
			struct xfrm_pol w[BLOCK_PER_PEER];

			if (st->kind != (pass ? STEP_BLOCK_DEL : STEP_BLOCK_ADD))
				continue;
			if (!open && (r = block_open(a, st, &x)) < 0)
				break;
			open = true;
			if (st->kind == STEP_BLOCK_DEL) {
				r = xfrm_pol_del(&x, &st->pol);
				if (r == -ENOENT)
					r = 0;	/* gone meanwhile: as asked */
				if (r == 0)
					st->done = true;
			} else {
				int nw = block_wanted(a->site, st->peer, w);

				for (int k = 0; k < nw && r == 0; k++) {
					if (!(st->value & (1u << k)))
						continue;
					if ((r = xfrm_pol_add(&x, &w[k])) == 0) {
						st->old_value |= 1u << k;
						st->done = true;
					}
				}
			}
			if (r < 0) {
				char detail[400];
				const char *hint = block_hint(r);

				snprintf(detail, sizeof(detail), "kernel: %s%s%s", nl_strerror(&x),
					 hint ? "\n  hint: " : "", hint ? hint : "");
				apply_report_failure(a, st, r, NULL, detail);
			}
		}
	}
	if (open)
		nl_close(&x);
	return r;
}

int block_undo(struct apply *a, struct step *st)
{
	struct xfrm_pol w[BLOCK_PER_PEER], p;
	struct nl x;
	int r, first = 0;

	if ((r = nl_open(&x, NETLINK_XFRM)) < 0)
		return r;
	if (st->kind == STEP_BLOCK_ADD) {
		int nw = block_wanted(a->site, st->peer, w);

		for (int k = 0; k < nw; k++) {
			if (!(st->old_value & (1u << k)))
				continue;
			r = xfrm_pol_del(&x, &w[k]);
			if (r == 0 || r == -ENOENT)
				st->old_value &= ~(1u << k);
			else if (!first)
				first = r;
		}
	} else {
		p = st->pol;
		p.index = 0;
		first = xfrm_pol_add(&x, &p);
	}
	nl_close(&x);
	return first;
}

int block_plan_down(const char *site, struct plan *plan, FILE *err)
{
	struct xfrm_pol *all = NULL;
	uint32_t prio = block_priority(site), pr;
	size_t n = 0;
	char line[200];
	struct nl x;
	int r;

	if (nl_open(&x, NETLINK_XFRM) < 0)
		return 0;	/* no xfrm here: no policy either */
	if ((r = xfrm_pols(&x, &all, &n)) < 0) {
		fprintf(err, "%s down: reading the xfrm policies: %s\n", prog, nl_strerror(&x));
		nl_close(&x);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		if (!xfrm_block_shape(&all[i], &pr) || pr != prio)
			continue;
		plan_add_step(plan, STEP_BLOCK_DEL, "%s", pol_text(&all[i], "delete", line, sizeof(line)))->pol = all[i];
	}
	free(all);
	nl_close(&x);
	return 0;
}

int block_remove(const struct plan *plan, FILE *out, FILE *err, int *changes)
{
	struct nl x;
	bool open = false;
	int r, first = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct step *st = &plan->steps[i];

		if (st->kind != STEP_BLOCK_DEL)
			continue;
		if (!open && (r = nl_open(&x, NETLINK_XFRM)) < 0) {
			fprintf(err, "%s down: %s: failed: %s\n", prog, st->text, strerror(-r));
			return r;
		}
		open = true;
		r = xfrm_pol_del(&x, &st->pol);
		if (r == 0 || r == -ENOENT) {
			fprintf(out, "%s\n", st->text);
			(*changes)++;
		} else {
			fprintf(err, "%s down: %s: failed: %s\n", prog, st->text, nl_strerror(&x));
			if (!first)
				first = r;
		}
	}
	if (open)
		nl_close(&x);
	return first;
}
