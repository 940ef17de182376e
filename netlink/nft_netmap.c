/* nft_netmap.c - the netmap's two rules in gatewayctl's table: a LAN mapped
 * host for host onto another prefix of the same length (nftables prefix NAT,
 * NF_NAT_RANGE_NETMAP: the address's host part is kept, its network part
 * replaced), so that two offices numbered alike can reach each other.
 *
 *   postrouting (nat, 100):  oifname @tunnels ip saddr LAN counter snat ip prefix to MAP  "netmap-out"
 *   dstnat (nat, prerouting, -100): iifname @tunnels ip daddr MAP counter dnat ip prefix to LAN  "netmap-in"
 *
 * Only a connection's first packet meets these rules; conntrack maps the rest
 * of it, replies included, both ways. DESIGN.md ("Two offices numbered alike")
 * says why they sit at these hooks.
 */
#include "nft.h"
#include "nft_priv.h"

#include <errno.h>
#include <stdbool.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

static uint32_t mask_of(uint8_t len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

/* ip saddr|daddr NET/LEN (OFF: 12 source, 16 destination) as nft encodes it: a
 * prefix of whole bytes is those bytes loaded and compared; any other is the
 * address loaded, masked, compared */
static void x_addr_prefix(struct nftnl_rule *r, uint32_t off, uint32_t net, uint8_t len, int *oom)
{
	uint8_t m[4], zero[4] = { 0 }, a[4];
	struct nftnl_expr *e;

	put_be32(a, net & mask_of(len));
	if (len % 8 == 0) {
		x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len / 8u, oom);
		x_cmp(r, NFT_CMP_EQ, a, len / 8u, oom);
		return;
	}
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, 4, oom);
	put_be32(m, mask_of(len));
	e = add_expr(r, "bitwise", oom);
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, m, 4);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, 4);
	}
	x_cmp(r, NFT_CMP_EQ, a, 4, oom);
}

static void x_imm(struct nftnl_rule *r, uint32_t reg, uint32_t addr, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "immediate", oom);
	uint8_t a[4];

	if (!e)
		return;
	put_be32(a, addr);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, a, 4);
}

/* snat|dnat ip prefix to NET/LEN: the range's first and last address in two
 * registers, the NETMAP flag (what nft makes of the same words) */
static void x_nat_prefix(struct nftnl_rule *r, uint32_t type, uint32_t net, uint8_t len, int *oom)
{
	struct nftnl_expr *e;

	x_imm(r, NFT_REG_1, net & mask_of(len), oom);
	x_imm(r, NFT_REG_2, net | ~mask_of(len), oom);
	e = add_expr(r, "nat", oom);
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_NETMAP);
}

/* [io]ifname @tunnels ip [sd]addr MATCH/LEN counter [sd]nat ip prefix to TO/LEN */
static int netmap_rule(struct want *w, int chain, const char *name, bool out, uint32_t match, uint32_t to,
		       uint8_t len, int *oom)
{
	struct nftnl_rule *r = new_rule(w, chain, name);

	if (!r)
		return -ENOMEM;
	x_meta(r, out ? NFT_META_OIFNAME : NFT_META_IIFNAME, oom);
	x_lookup(r, SET_TUNNELS, oom);
	x_addr_prefix(r, out ? 12 : 16, match, len, oom);
	x_counter(r, oom);
	x_nat_prefix(r, out ? NFT_NAT_SNAT : NFT_NAT_DNAT, to, len, oom);
	return 0;
}

int nft_netmap_rules(const struct nft_spec *spec, struct want *w, int *oom)
{
	if (!spec->netmap_len)
		return 0;
	/* our LAN's sources into a tunnel: their mapped addresses; out of a
	 * tunnel to the map: the LAN host behind it */
	if (netmap_rule(w, CH_POSTROUTING, "netmap-out", true, spec->netmap_lan, spec->netmap_to,
			spec->netmap_len, oom) < 0 ||
	    netmap_rule(w, CH_DSTNAT, "netmap-in", false, spec->netmap_to, spec->netmap_lan,
			spec->netmap_len, oom) < 0)
		return -ENOMEM;
	return 0;
}

static void print_one(struct printer *p, const char *chain, const char *dir, uint32_t match, const char *nat,
		      uint32_t to, uint8_t len, const char *name)
{
	FILE *f = cmd_start(&p->c, p->table, "add rule");

	if (!f)
		return;
	fprintf(f, " %s %s @tunnels ip %s ", chain, dir[0] == 'o' ? "oifname" : "iifname",
		dir[0] == 'o' ? "saddr" : "daddr");
	put_addr(f, match & mask_of(len));
	fprintf(f, "/%u counter %s ip prefix to ", len, nat);
	put_addr(f, to & mask_of(len));
	fprintf(f, "/%u comment \"%s\"", len, name);
	cmd_end(&p->c, p->out);
}

void nft_netmap_print(struct printer *p, const struct nft_spec *spec)
{
	if (!spec->netmap_len)
		return;
	print_one(p, "postrouting", "out", spec->netmap_lan, "snat", spec->netmap_to, spec->netmap_len, "netmap-out");
	print_one(p, "dstnat", "in", spec->netmap_to, "dnat", spec->netmap_lan, spec->netmap_len, "netmap-in");
}
