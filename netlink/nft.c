/* nft.c - gatewayctl's nftables table, built with libnftnl: what a spec
 * makes (its sets' elements and its rules, struct want) and the equivalent
 * nft commands. The transaction that replaces or deletes the table:
 * nft_txn.c; the expressions the rules are made of: nft_expr.c; reading it
 * back and comparing: nftread.c.
 */
#include "nft.h"
#include "nft_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

/* ------------------------------------------------------------------------ */
/* What the spec builds                                                      */

bool nft_chain_used(const struct nft_spec *spec, int ch)
{
	return ch != CH_DSTNAT || spec->netmap_len;
}

static uint32_t prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

static int cmp_net(const void *a, const void *b)
{
	const struct nft_net *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->len - (int)y->len;
}

/* Masked, sorted, duplicates removed: the networks as they go to the set. */
static struct nft_net *norm_nets(const struct nft_spec *spec, size_t *n)
{
	struct nft_net *v;
	size_t i, k = 0;

	*n = 0;
	if (spec->n_masq == 0)
		return NULL;
	v = calloc(spec->n_masq, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < spec->n_masq; i++) {
		v[i].len = spec->masq[i].len > 32 ? 32 : spec->masq[i].len;
		v[i].addr = spec->masq[i].addr & prefix_mask(v[i].len);
	}
	qsort(v, spec->n_masq, sizeof(*v), cmp_net);
	for (i = 1; i < spec->n_masq; i++)
		if (cmp_net(&v[k], &v[i]) != 0)
			v[++k] = v[i];
	*n = k + 1;
	return v;
}

/* The elements of each set. Interval set: a start element at the network and
 * an end element (NFT_SET_ELEM_INTERVAL_END) at the first address after it;
 * a network that reaches 255.255.255.255 has no end (nft marks it open).
 * Networks are masked to their prefix, sorted, and exact duplicates dropped. */
static int build_elems(const struct nft_spec *spec, struct want *w)
{
	struct nft_net *nets;
	size_t nn, i, k;

	nets = norm_nets(spec, &nn);
	if (spec->n_masq && !nets)
		return -ENOMEM;
	w->el[SET_MASQ] = calloc(2 * nn + 2, sizeof(struct elem));
	if (!w->el[SET_MASQ] || nft_tunnel_elems(w, spec) < 0) {
		free(nets);
		return -ENOMEM;
	}
	k = 0;
	if (nn > 0 && nets[0].addr != 0) {
		/* nft closes the gap below the first interval with an end
		 * element at 0.0.0.0; do the same so both tables look alike. */
		w->el[SET_MASQ][k].klen = 4;
		w->el[SET_MASQ][k].end = 1;
		k++;
	}
	for (i = 0; i < nn; i++) {
		uint64_t next = (uint64_t)nets[i].addr + ((uint64_t)1 << (32 - nets[i].len));
		struct elem *e = &w->el[SET_MASQ][k++];

		e->klen = 4;
		put_be32(e->key, nets[i].addr);
		if (next > 0xffffffffull) {
			e->open = 1;
			continue;
		}
		e = &w->el[SET_MASQ][k++];
		e->klen = 4;
		e->end = 1;
		put_be32(e->key, (uint32_t)next);
	}
	w->nel[SET_MASQ] = nft_sort_elems(w->el[SET_MASQ], k);
	free(nets);

	if (nft_addr_elems(w, SET_ENDPOINTS, spec->endpoints, spec->n_endpoints, 4) < 0 ||
	    nft_addr_elems(w, SET_IPSEC, spec->ipsec, spec->n_ipsec, 4) < 0)
		return -ENOMEM;
	return 0;
}

/* --- rules ------------------------------------------------------------- */

/* ip daddr ADDR, then a transport port or an IP protocol */
static void x_daddr(struct nftnl_rule *r, uint32_t addr, int *oom)
{
	uint8_t a[4];

	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, oom);
	put_be32(a, addr);
	x_cmp(r, NFT_CMP_EQ, a, 4, oom);
}


/* oifname "NAME": meta oifname, then cmp over all 16 NUL-padded bytes. */
/* ip protocol PROTO */
static void x_ipproto(struct nftnl_rule *r, uint8_t p, int *oom)
{
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 9, 1, oom);
	x_cmp(r, NFT_CMP_EQ, &p, 1, oom);
}



/* SNAT of the masqueraded networks out of the LAN to the LAN address, sparing
 * the LAN's broadcast (the relay's rebroadcasts keep the remote sender's source) */
static int rule_snat(const struct nft_spec *spec, struct want *w, int *oom)
{
	struct nftnl_rule *r = new_rule(w, CH_POSTROUTING, "snat");
	uint8_t addr[4];

	if (!r)
		return -ENOMEM;
	x_oifname(r, spec->lan ? spec->lan : "", oom);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, oom);
	x_lookup(r, SET_MASQ, oom);
	if (spec->lan_broadcast) {
		x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, oom);
		put_be32(addr, spec->lan_broadcast);
		x_cmp(r, NFT_CMP_NEQ, addr, 4, oom);
	}
	x_counter(r, oom);
	put_be32(addr, spec->lan_addr);
	x_snat_to(r, NFPROTO_IPV4, addr, 4, oom);
	return 0;
}

/* IKE (a new IKE_SA, port 500) and ESP to us from others than the encrypted
 * peers. Port 4500 stays open: a peer that moved sends its MOBIKE update from
 * an address no file names, inside its authenticated IKE_SA. */
static int rules_ike_other(const struct nft_spec *spec, struct want *w, int *oom)
{
	static const char *const names[] = { "ike-other", "esp-other" };
	uint8_t esp = IPPROTO_ESP;

	for (int k = 0; k < 2; k++) {
		struct nftnl_rule *r = new_rule(w, CH_INPUT, names[k]);

		if (!r)
			return -ENOMEM;
		x_daddr(r, spec->wan_addr, oom);
		if (k == 0) {
			x_udp_dport(r, 500, oom);
		} else {
			x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 9, 1, oom);
			x_cmp(r, NFT_CMP_EQ, &esp, 1, oom);
		}
		x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, oom);
		x_lookup_inv(r, SET_IPSEC, oom);
		x_counter(r, oom);
		x_verdict(r, NF_DROP, oom);
	}
	return 0;
}

/* PROTO (4, or 41 of a sit) from an encrypted peer that ESP did not carry */
static int rule_ipsec_in(struct want *w, uint8_t proto, int *oom)
{
	struct nftnl_rule *r = new_rule(w, CH_INPUT, proto == IPPROTO_IPIP ? "ipsec-in" : "ipsec-6in4-in");

	if (!r)
		return -ENOMEM;
	x_ipproto(r, proto, oom);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, oom);
	x_lookup(r, SET_IPSEC, oom);
	x_secpath_missing(r, oom);
	x_counter(r, oom);
	x_verdict(r, NF_DROP, oom);
	return 0;
}

/* PROTO to an encrypted peer that no IPsec policy takes (charon gone) */
static int rule_ipsec_out(struct want *w, uint8_t proto, int *oom)
{
	struct nftnl_rule *r = new_rule(w, CH_OUTPUT, proto == IPPROTO_IPIP ? "ipsec-out" : "ipsec-6in4-out");

	if (!r)
		return -ENOMEM;
	x_ipproto(r, proto, oom);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, oom);
	x_lookup(r, SET_IPSEC, oom);
	x_rt_ipsec_missing(r, oom);
	x_counter(r, oom);
	x_verdict(r, NF_DROP, oom);
	return 0;
}

/* The encrypted peers: tunnel packets (IPIP, and 6in4 with sit) in without
 * ESP and out without a policy, and IKE/ESP from anyone else, dropped */
static int rules_ipsec(const struct nft_spec *spec, struct want *w, int *oom)
{
	if (rule_ipsec_in(w, IPPROTO_IPIP, oom) < 0 || (spec->sit && rule_ipsec_in(w, IPPROTO_IPV6, oom) < 0))
		return -ENOMEM;
	if (spec->wan_addr && rules_ike_other(spec, w, oom) < 0)
		return -ENOMEM;
	if (rule_ipsec_out(w, IPPROTO_IPIP, oom) < 0 || (spec->sit && rule_ipsec_out(w, IPPROTO_IPV6, oom) < 0))
		return -ENOMEM;
	return 0;
}

/* IPIP (PROTO 4, NAMES ipip-*), or IPv6 in IPv4 (41, 6in4-*, for sit),
 * from the peers' endpoints accepted, other to the WAN address dropped */
static int rules_ipip(const struct nft_spec *spec, struct want *w, uint8_t proto, int *oom)
{
	struct nftnl_rule *r = new_rule(w, CH_INPUT, proto == IPPROTO_IPIP ? "ipip-peers" : "6in4-peers");
	uint8_t addr[4];

	if (!r)
		return -ENOMEM;
	x_ipproto(r, proto, oom);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, oom);
	x_lookup(r, SET_ENDPOINTS, oom);
	x_counter(r, oom);
	x_verdict(r, NF_ACCEPT, oom);
	if (!spec->wan_addr)
		return 0;
	r = new_rule(w, CH_INPUT, proto == IPPROTO_IPIP ? "ipip-other" : "6in4-other");
	if (!r)
		return -ENOMEM;
	x_ipproto(r, proto, oom);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, oom);
	put_be32(addr, spec->wan_addr);
	x_cmp(r, NFT_CMP_EQ, addr, 4, oom);
	x_counter(r, oom);
	x_verdict(r, NF_DROP, oom);
	return 0;
}


static int build_rules(const struct nft_spec *spec, struct want *w)
{
	int oom = 0;

	if (w->nel[SET_MASQ] > 0 && rule_snat(spec, w, &oom) < 0)
		return -ENOMEM;
	if (spec->mss_clamp && w->nel[SET_TUNNELS] > 0 && nft_rule_tunnels(w, CH_FORWARD, "mss-clamp", &oom) < 0)
		return -ENOMEM;
	if (w->nel[SET_IPSEC] > 0 && rules_ipsec(spec, w, &oom) < 0)
		return -ENOMEM;
	if (w->nel[SET_ENDPOINTS] > 0 && rules_ipip(spec, w, IPPROTO_IPIP, &oom) < 0)
		return -ENOMEM;
	if (spec->sit && w->nel[SET_ENDPOINTS] > 0 && rules_ipip(spec, w, IPPROTO_IPV6, &oom) < 0)
		return -ENOMEM;
	if (w->nel[SET_TUNNELS] > 0 && nft_rule_tunnels(w, CH_PREROUTING, "src-check", &oom) < 0)
		return -ENOMEM;
	if (nft_netmap_rules(spec, w, &oom) < 0)
		return -ENOMEM;
	return oom || nft_name_rules(w) < 0 ? -ENOMEM : 0;
}

int nft_want_build(const struct nft_spec *spec, struct want *w)
{
	int ret;

	memset(w, 0, sizeof(*w));
	ret = nft_want_init(w, spec->site, NFPROTO_IPV4, spec->netmap_len != 0);
	if (ret < 0)
		return ret;
	ret = build_elems(spec, w);
	if (ret == 0)
		ret = build_rules(spec, w);
	if (ret < 0)
		nft_want_free(w);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Printing the equivalent nft commands                                      */




struct print_ctx {
	const struct nft_spec *spec;
	const struct nft_net *nets;
	int set;
};

/* One element of set SET, at index I. */
static void print_element(FILE *f, size_t i, const void *ctx)
{
	const struct nft_spec *spec = ((const struct print_ctx *)ctx)->spec;
	const struct nft_net *nets = ((const struct print_ctx *)ctx)->nets;
	int set = ((const struct print_ctx *)ctx)->set;

	switch (set) {
	case SET_MASQ:
		put_addr(f, nets[i].addr);
		fprintf(f, "/%u", nets[i].len);
		break;
	case SET_TUNNELS:
		fprintf(f, "\"%.16s\"", spec->tunnels[i]);
		break;
	case SET_ENDPOINTS:
		put_addr(f, spec->endpoints[i]);
		break;
	default:
		put_addr(f, spec->ipsec[i]);
		break;
	}
}

static void print_elements(struct printer *p, const struct nft_spec *spec, const struct nft_net *nets, int set,
			   const char *name, size_t n)
{
	struct print_ctx c = { spec, nets, set };

	nft_print_elements(p, name, n, print_element, &c);
}




static void print_snat(struct printer *p, const struct nft_spec *spec)
{
	FILE *f = cmd_start(&p->c, p->table, "add rule");

	if (!f)
		return;
	fprintf(f, " postrouting oifname \"%.16s\" ip saddr @masq ", spec->lan ? spec->lan : "");
	if (spec->lan_broadcast) {
		fputs("ip daddr != ", f);
		put_addr(f, spec->lan_broadcast);
		fputc(' ', f);
	}
	fputs("counter snat to ", f);
	put_addr(f, spec->lan_addr);
	fputs(" comment \"snat\"", f);
	cmd_end(&p->c, p->out);
}

/* The encrypted peers' set and rules (nothing when there are none). */
static void print_ipsec(struct printer *p, const struct nft_spec *spec)
{
	static const char *const what[] = { "udp dport 500", "ip protocol esp" };
	static const char *const names[] = { "ike-other", "esp-other" };

	print_elements(p, spec, NULL, SET_IPSEC, "encrypted", spec->n_ipsec);
	if (spec->n_ipsec == 0)
		return;
	nft_print_rule(p, " input ip protocol 4 ip saddr @encrypted meta secpath missing counter drop"
		   " comment \"ipsec-in\"");
	if (spec->sit)
		nft_print_rule(p, " input ip protocol 41 ip saddr @encrypted meta secpath missing counter drop"
			       " comment \"ipsec-6in4-in\"");
	for (int k = 0; spec->wan_addr && k < 2; k++) {
		FILE *f = cmd_start(&p->c, p->table, "add rule");

		if (!f)
			continue;
		fputs(" input ip daddr ", f);
		put_addr(f, spec->wan_addr);
		fprintf(f, " %s ip saddr != @encrypted counter drop comment \"%s\"", what[k], names[k]);
		cmd_end(&p->c, p->out);
	}
	nft_print_rule(p, " output ip protocol 4 ip daddr @encrypted rt ipsec missing counter drop"
		   " comment \"ipsec-out\"");
	if (spec->sit)
		nft_print_rule(p, " output ip protocol 41 ip daddr @encrypted rt ipsec missing counter drop"
			       " comment \"ipsec-6in4-out\"");
}

static void print_ipip_other(struct printer *p, const struct nft_spec *spec, const char *proto, const char *name)
{
	FILE *f = cmd_start(&p->c, p->table, "add rule");

	if (!f)
		return;
	fprintf(f, " input ip protocol %s ip daddr ", proto);
	put_addr(f, spec->wan_addr);
	fprintf(f, " counter drop comment \"%s\"", name);
	cmd_end(&p->c, p->out);
}

void nft_spec_print(const struct nft_spec *spec, FILE *out)
{
	struct printer p = { .out = out };
	struct nft_net *nets;
	size_t nn = 0;

	if (nft_table_name(spec->site, p.table, sizeof(p.table)) < 0)
		return;
	nets = norm_nets(spec, &nn);
	nft_print_skeleton(&p, spec->site);
	print_elements(&p, spec, nets, SET_MASQ, "masq", nn);
	print_elements(&p, spec, nets, SET_TUNNELS, "tunnels", spec->n_tunnels);
	print_elements(&p, spec, nets, SET_ENDPOINTS, "endpoints", spec->n_endpoints);
	nft_print_chains(&p, spec->netmap_len != 0);
	if (nn > 0)
		print_snat(&p, spec);
	if (spec->mss_clamp && spec->n_tunnels > 0)
		nft_print_rule(&p, " forward oifname @tunnels tcp flags syn counter"
			   " tcp option maxseg size set rt mtu comment \"mss-clamp\"");
	print_ipsec(&p, spec);
	if (spec->n_endpoints > 0)
		nft_print_rule(&p, " input ip protocol 4 ip saddr @endpoints counter accept comment \"ipip-peers\"");
	if (spec->n_endpoints > 0 && spec->wan_addr)
		print_ipip_other(&p, spec, "4", "ipip-other");
	if (spec->sit && spec->n_endpoints > 0)
		nft_print_rule(&p, " input ip protocol 41 ip saddr @endpoints counter accept comment \"6in4-peers\"");
	if (spec->sit && spec->n_endpoints > 0 && spec->wan_addr)
		print_ipip_other(&p, spec, "41", "6in4-other");
	if (spec->n_tunnels > 0)
		nft_print_rule(&p, " prerouting iifname @tunnels fib saddr . iif oif missing counter drop"
			   " comment \"src-check\"");
	nft_netmap_print(&p, spec);
	free(nets);
	nft6_print(spec, out);
}
