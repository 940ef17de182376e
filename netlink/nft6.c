/* nft6.c - the ip6 table of a site with IPv6 (nft.h): "gatewayctl-SITE" of
 * family ip6, beside the ip one and replaced with it in one transaction
 * (nft_txn.c). Why two tables and not one inet table: DESIGN.md ("IPv6").
 * Built of the same pieces as the ip table (nft_expr.c); uses no other file.
 */
#include "nft.h"
#include "nft_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#define IP6_SADDR 8
#define IP6_DADDR 24

/* --- the masqueraded networks: an interval set of 16-byte keys ----------- */

static void mask6(struct in6_addr *a, uint8_t len)
{
	for (int i = 0; i < 16; i++) {
		int bits = (int)len - 8 * i;

		a->s6_addr[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static int cmp_net6(const void *a, const void *b)
{
	const struct nft_net6 *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	return c ? c : (int)x->len - (int)y->len;
}

/* The first address after NET/LEN into NEXT; false when there is none (the
 * network reaches ffff:...:ffff). */
static bool next6(const struct nft_net6 *net, struct in6_addr *next)
{
	int byte = (net->len - 1) / 8;
	unsigned carry = 1u << (7 - (net->len - 1) % 8);

	*next = net->addr;
	for (int i = byte; i >= 0 && carry; i--) {
		unsigned v = next->s6_addr[i] + carry;

		next->s6_addr[i] = (uint8_t)v;
		carry = v >> 8;
	}
	return carry == 0;
}

/* The networks as the set holds them: masked, sorted, once each; *N of them.
 * Malloc'd (NULL when out of memory). */
static struct nft_net6 *norm_nets6(const struct nft_spec *spec, size_t *n)
{
	struct nft_net6 *v = calloc(spec->n_masq6 + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < spec->n_masq6; i++) {
		v[i] = spec->masq6[i];
		v[i].len = v[i].len > 128 ? 128 : v[i].len;
		mask6(&v[i].addr, v[i].len);
	}
	qsort(v, spec->n_masq6, sizeof(*v), cmp_net6);
	for (size_t i = 0; i < spec->n_masq6; i++)
		if (*n == 0 || cmp_net6(&v[*n - 1], &v[i]) != 0)
			v[(*n)++] = v[i];
	return v;
}

/* As the ip table's: start and end elements, masked, sorted, no duplicates;
 * an end element at :: when the first network does not start there (as nft
 * makes it); a network that reaches the top is open. */
static int masq6_elems(const struct nft_spec *spec, struct want *w)
{
	size_t nn, k = 0;
	struct nft_net6 *v = norm_nets6(spec, &nn);
	struct elem *el = calloc(2 * spec->n_masq6 + 2, sizeof(*el));

	if (!v || !el) {
		free(v);
		free(el);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nn; i++) {
		struct in6_addr next;
		bool closed = v[i].len > 0 && next6(&v[i], &next);

		if (i == 0 && (v[i].len == 0 || memcmp(&v[i].addr, &in6addr_any, 16) != 0)) {
			el[k].klen = 16;
			el[k++].end = 1;
		}
		el[k].klen = 16;
		memcpy(el[k].key, &v[i].addr, 16);
		el[k++].open = !closed;
		if (closed) {
			el[k].klen = 16;
			el[k].end = 1;
			memcpy(el[k++].key, &next, 16);
		}
	}
	free(v);
	w->el[SET_MASQ] = el;
	w->nel[SET_MASQ] = nft_sort_elems(el, k);
	return 0;
}

/* --- rules --------------------------------------------------------------- */


/* oifname "LAN" ip6 saddr @masq counter snat ip6 to LAN_ADDR6 */
static int rule_snat6(const struct nft_spec *spec, struct want *w, int *oom)
{
	struct nftnl_rule *r = new_rule(w, CH_POSTROUTING, "snat6");

	if (!r)
		return -ENOMEM;
	x_oifname(r, spec->lan ? spec->lan : "", oom);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, IP6_SADDR, 16, oom);
	x_lookup(r, SET_MASQ, oom);
	x_counter(r, oom);
	x_snat_to(r, NFPROTO_IPV6, &spec->lan_addr6, 16, oom);
	return 0;
}

/* meta l4proto PROTO ip6 saddr @endpoints counter accept, and
 * meta l4proto PROTO ip6 daddr WAN_ADDR6 counter drop */
static int rules_tun6(const struct nft_spec *spec, struct want *w, uint8_t proto, bool other, int *oom)
{
	static const char *const names[2][2] = { { "4in6-peers", "6in6-peers" }, { "4in6-other", "6in6-other" } };
	struct nftnl_rule *r = new_rule(w, CH_INPUT, names[other][proto == IPPROTO_IPV6]);

	if (!r)
		return -ENOMEM;
	x_meta(r, NFT_META_L4PROTO, oom);
	x_cmp(r, NFT_CMP_EQ, &proto, 1, oom);
	if (other) {
		x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, IP6_DADDR, 16, oom);
		x_cmp(r, NFT_CMP_EQ, &spec->wan_addr6, 16, oom);
	} else {
		x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, IP6_SADDR, 16, oom);
		x_lookup(r, SET_ENDPOINTS, oom);
	}
	x_counter(r, oom);
	x_verdict(r, other ? NF_DROP : NF_ACCEPT, oom);
	return 0;
}

/* The encrypted peers over IPv6: 4in6 and 6in6 (PROTO) in without ESP, out
 * without a policy; IKE (500) and ESP to our IPv6 WAN address from others */
static int rules_ipsec6(const struct nft_spec *spec, struct want *w, int *oom)
{
	static const char *const names[2][2] = { { "ipsec-4in6-in", "ipsec-6in6-in" },
						 { "ipsec-4in6-out", "ipsec-6in6-out" } };
	static const uint8_t protos[2] = { IPPROTO_IPIP, IPPROTO_IPV6 };
	uint8_t esp = IPPROTO_ESP;
	struct nftnl_rule *r;

	for (int out = 0; out < 2; out++) {
		for (int k = 0; k < 2; k++) {
			if (!(r = new_rule(w, out ? CH_OUTPUT : CH_INPUT, names[out][k])))
				return -ENOMEM;
			x_meta(r, NFT_META_L4PROTO, oom);
			x_cmp(r, NFT_CMP_EQ, &protos[k], 1, oom);
			x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, out ? IP6_DADDR : IP6_SADDR, 16, oom);
			x_lookup(r, SET_IPSEC, oom);
			if (out)
				x_rt_ipsec_missing(r, oom);
			else
				x_secpath_missing(r, oom);
			x_counter(r, oom);
			x_verdict(r, NF_DROP, oom);
		}
		for (int k = 0; !out && memcmp(&spec->wan_addr6, &in6addr_any, 16) != 0 && k < 2; k++) {
			if (!(r = new_rule(w, CH_INPUT, k ? "esp-other6" : "ike-other6")))
				return -ENOMEM;
			x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, IP6_DADDR, 16, oom);
			x_cmp(r, NFT_CMP_EQ, &spec->wan_addr6, 16, oom);
			if (k) {
				x_meta(r, NFT_META_L4PROTO, oom);
				x_cmp(r, NFT_CMP_EQ, &esp, 1, oom);
			} else {
				x_udp_dport(r, 500, oom);
			}
			x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, IP6_SADDR, 16, oom);
			x_lookup_inv(r, SET_IPSEC, oom);
			x_counter(r, oom);
			x_verdict(r, NF_DROP, oom);
		}
	}
	return 0;
}

static int build_rules6(const struct nft_spec *spec, struct want *w)
{
	bool wan = memcmp(&spec->wan_addr6, &in6addr_any, 16) != 0;
	int oom = 0;

	if (w->nel[SET_MASQ] > 0 && rule_snat6(spec, w, &oom) < 0)
		return -ENOMEM;
	if (spec->mss_clamp && w->nel[SET_TUNNELS] > 0 && nft_rule_tunnels(w, CH_FORWARD, "mss-clamp6", &oom) < 0)
		return -ENOMEM;
	if (w->nel[SET_IPSEC] > 0 && rules_ipsec6(spec, w, &oom) < 0)
		return -ENOMEM;
	if (w->nel[SET_ENDPOINTS] > 0 &&
	    (rules_tun6(spec, w, IPPROTO_IPIP, false, &oom) < 0 || rules_tun6(spec, w, IPPROTO_IPV6, false, &oom) < 0 ||
	     (wan && (rules_tun6(spec, w, IPPROTO_IPIP, true, &oom) < 0 ||
		      rules_tun6(spec, w, IPPROTO_IPV6, true, &oom) < 0))))
		return -ENOMEM;
	if (w->nel[SET_TUNNELS] > 0 && nft_rule_tunnels(w, CH_PREROUTING, "src-check6", &oom) < 0)
		return -ENOMEM;
	return oom || nft_name_rules(w) < 0 ? -ENOMEM : 0;
}

int nft_want_build6(const struct nft_spec *spec, struct want *w)
{
	int ret;

	memset(w, 0, sizeof(*w));
	ret = nft_want_init(w, spec->site, NFPROTO_IPV6, false);
	if (ret < 0)
		return ret;
	if (masq6_elems(spec, w) < 0 || nft_tunnel_elems(w, spec) < 0 ||
	    nft_addr_elems(w, SET_ENDPOINTS, spec->endpoints6, spec->n_endpoints6, 16) < 0 ||
	    nft_addr_elems(w, SET_IPSEC, spec->ipsec6, spec->n_ipsec6, 16) < 0)
		ret = -ENOMEM;
	if (ret == 0)
		ret = build_rules6(spec, w);
	if (ret < 0)
		nft_want_free(w);
	return ret;
}

/* --- the nft commands ------------------------------------------------------ */

static void put_addr6(FILE *f, const struct in6_addr *a)
{
	char s[INET6_ADDRSTRLEN];

	fputs(inet_ntop(AF_INET6, a, s, sizeof(s)) ? s : "::", f);
}

struct print6 {
	const struct nft_spec *spec;
	const struct nft_net6 *nets;
	int set;
};

static void print_element6(FILE *f, size_t i, const void *ctx)
{
	const struct print6 *c = ctx;

	if (c->set == SET_MASQ) {
		put_addr6(f, &c->nets[i].addr);
		fprintf(f, "/%u", c->nets[i].len);
	} else if (c->set == SET_TUNNELS) {
		fprintf(f, "\"%.16s\"", c->spec->tunnels[i]);
	} else if (c->set == SET_IPSEC) {
		put_addr6(f, &c->spec->ipsec6[i]);
	} else {
		put_addr6(f, &c->spec->endpoints6[i]);
	}
}

static void print_ipsec6(struct printer *p, const struct nft_spec *spec)
{
	static const char *const tun[] = { "4", "4in6", "41", "6in6" };
	static const char *const what[] = { "udp dport 500", "meta l4proto esp" };
	FILE *f;

	for (int k = 0; k < 4; k += 2)
		if ((f = cmd_start(&p->c, p->table, "add rule"))) {
			fprintf(f, " input meta l4proto %s ip6 saddr @encrypted meta secpath missing counter drop"
				" comment \"ipsec-%s-in\"", tun[k], tun[k + 1]);
			cmd_end(&p->c, p->out);
		}
	for (int k = 0; memcmp(&spec->wan_addr6, &in6addr_any, 16) && k < 2; k++)
		if ((f = cmd_start(&p->c, p->table, "add rule"))) {
			fputs(" input ip6 daddr ", f);
			put_addr6(f, &spec->wan_addr6);
			fprintf(f, " %s ip6 saddr != @encrypted counter drop comment \"%s\"", what[k],
				k ? "esp-other6" : "ike-other6");
			cmd_end(&p->c, p->out);
		}
	for (int k = 0; k < 4; k += 2)
		if ((f = cmd_start(&p->c, p->table, "add rule"))) {
			fprintf(f, " output meta l4proto %s ip6 daddr @encrypted rt ipsec missing counter drop"
				" comment \"ipsec-%s-out\"", tun[k], tun[k + 1]);
			cmd_end(&p->c, p->out);
		}
}

static void print_rules6(struct printer *p, const struct nft_spec *spec, size_t n_masq)
{
	static const char *const tun[] = { "4", "4in6", "41", "6in6" };
	FILE *f;

	if (n_masq && (f = cmd_start(&p->c, p->table, "add rule"))) {
		fprintf(f, " postrouting oifname \"%.16s\" ip6 saddr @masq counter snat ip6 to ",
			spec->lan ? spec->lan : "");
		put_addr6(f, &spec->lan_addr6);
		fputs(" comment \"snat6\"", f);
		cmd_end(&p->c, p->out);
	}
	if (spec->mss_clamp && spec->n_tunnels > 0)
		nft_print_rule(p, " forward oifname @tunnels tcp flags syn counter"
			       " tcp option maxseg size set rt mtu comment \"mss-clamp6\"");
	if (spec->n_ipsec6 > 0)
		print_ipsec6(p, spec);
	for (int k = 0; spec->n_endpoints6 > 0 && k < 4; k += 2)
		if ((f = cmd_start(&p->c, p->table, "add rule"))) {
			fprintf(f, " input meta l4proto %s ip6 saddr @endpoints counter accept comment \"%s-peers\"",
				tun[k], tun[k + 1]);
			cmd_end(&p->c, p->out);
		}
	for (int k = 0; spec->n_endpoints6 > 0 && memcmp(&spec->wan_addr6, &in6addr_any, 16) && k < 4; k += 2)
		if ((f = cmd_start(&p->c, p->table, "add rule"))) {
			fprintf(f, " input meta l4proto %s ip6 daddr ", tun[k]);
			put_addr6(f, &spec->wan_addr6);
			fprintf(f, " counter drop comment \"%s-other\"", tun[k + 1]);
			cmd_end(&p->c, p->out);
		}
	if (spec->n_tunnels > 0)
		nft_print_rule(p, " prerouting iifname @tunnels fib saddr . iif oif missing counter drop"
			       " comment \"src-check6\"");
}

void nft6_print(const struct nft_spec *spec, FILE *out)
{
	struct printer p = { .c = { .family = "ip6" }, .out = out };
	struct nft_net6 *nets;
	struct print6 c = { .spec = spec };
	size_t nn = 0;

	if (!spec->v6 || nft_table_name(spec->site, p.table, sizeof(p.table)) < 0)
		return;
	nets = norm_nets6(spec, &nn);
	if (!nets)
		return;
	c.nets = nets;
	nft_print_skeleton(&p, spec->site);
	c.set = SET_MASQ;
	nft_print_elements(&p, "masq", nn, print_element6, &c);
	c.set = SET_TUNNELS;
	nft_print_elements(&p, "tunnels", spec->n_tunnels, print_element6, &c);
	c.set = SET_ENDPOINTS;
	nft_print_elements(&p, "endpoints", spec->n_endpoints6, print_element6, &c);
	c.set = SET_IPSEC;
	nft_print_elements(&p, "encrypted", spec->n_ipsec6, print_element6, &c);
	nft_print_chains(&p, false);
	print_rules6(&p, spec, nn);
	free(nets);
}
